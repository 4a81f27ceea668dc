import { checkEnum, checkNonEmpty, checkPort, invalid } from './errors';
import { secretEnvRef } from './template';

/** How frpc authenticates to frps (`auth.method`). */
export enum FrpAuthMethod {
  /** A shared token. */
  TOKEN = 'token',
  /** OIDC client-credentials tokens, verified by frps. */
  OIDC = 'oidc',
}

/** Messages that carry authentication besides login (`auth.additionalScopes`). */
export enum FrpAuthScope {
  /** Authenticate heartbeats too. */
  HEART_BEATS = 'HeartBeats',
  /** Authenticate new work connections too. */
  NEW_WORK_CONNS = 'NewWorkConns',
}

/** frp log levels. */
export enum FrpLogLevel {
  /** trace */
  TRACE = 'trace',
  /** debug */
  DEBUG = 'debug',
  /** info */
  INFO = 'info',
  /** warn */
  WARN = 'warn',
  /** error */
  ERROR = 'error',
}

/** The built-in web server (frps dashboard and metrics, frpc admin API). */
export interface FrpWebServerConfig {
  /**
   * Listen address. Kubernetes probes and Prometheus need `0.0.0.0`.
   * @default "0.0.0.0"
   */
  readonly addr?: string;
  /** Listen port. */
  readonly port: number;
  /**
   * Environment variable holding the basic-auth user (`/healthz` stays open).
   * frp gets its bytes exactly, not trimmed; a value that is not valid UTF-8
   * cannot be written into the TOML config (frp then refuses to start).
   * @default - no basic auth
   */
  readonly userEnv?: string;
  /**
   * Environment variable holding the basic-auth password. frp gets its bytes
   * exactly, not trimmed; a value that is not valid UTF-8 cannot be written
   * into the TOML config (frp then refuses to start).
   * @default - no basic auth
   */
  readonly passwordEnv?: string;
}

/** Auth settings shared by frps and frpc. */
export interface FrpAuthBaseConfig {
  /** Authentication method. */
  readonly method: FrpAuthMethod;
  /**
   * Environment variable holding the token (method token). frp gets its bytes
   * exactly, not trimmed (a value that is not valid UTF-8 cannot be carried:
   * frp then refuses to start). Exclusive with tokenFile, which is preferred
   * (frp reads the file itself and trims its whitespace).
   * @default - none
   */
  readonly tokenEnv?: string;
  /**
   * File holding the token (`auth.tokenSource`, type file), e.g. a mounted Secret key.
   * @default - none
   */
  readonly tokenFile?: string;
  /**
   * Also authenticate heartbeats and/or new work connections.
   * @default - login only
   */
  readonly additionalScopes?: FrpAuthScope[];
}

/** @internal */
export function validateWebServer(where: string | undefined, field: string, w: FrpWebServerConfig | undefined): void {
  if (!w) return;
  checkPort(where, `${field}.port`, w.port);
  if (w.port === undefined) invalid(where, `${field}.port`, 'is required');
  if ((w.userEnv === undefined) !== (w.passwordEnv === undefined)) {
    invalid(where, `${field}.passwordEnv`, 'userEnv and passwordEnv must be set together');
  }
}

/** @internal */
export function webServerTree(where: string | undefined, field: string, w: FrpWebServerConfig | undefined) {
  if (!w) return undefined;
  return {
    addr: w.addr ?? '0.0.0.0',
    port: w.port,
    user: w.userEnv === undefined ? undefined : secretEnvRef(where, `${field}.userEnv`, w.userEnv),
    password: w.passwordEnv === undefined ? undefined : secretEnvRef(where, `${field}.passwordEnv`, w.passwordEnv),
  };
}

/** Token/tokenFile rules common to both sides. @internal */
export function validateAuthBase(where: string | undefined, a: FrpAuthBaseConfig | undefined, oidcSet: boolean): void {
  if (!a) invalid(where, 'auth', 'is required: frp without client authentication accepts anyone (set a token or OIDC)');
  checkEnum(where, 'auth.method', a.method, FrpAuthMethod);
  if (a.method === undefined) invalid(where, 'auth.method', 'is required (token or oidc)');
  for (const [i, s] of (a.additionalScopes ?? []).entries()) checkEnum(where, `auth.additionalScopes[${i}]`, s, FrpAuthScope);
  if (a.method === FrpAuthMethod.TOKEN) {
    if (a.tokenEnv !== undefined && a.tokenFile !== undefined) invalid(where, 'auth.tokenFile', 'auth.tokenEnv and auth.tokenFile are mutually exclusive');
    if (a.tokenEnv === undefined && a.tokenFile === undefined) invalid(where, 'auth.tokenEnv', 'token auth needs tokenEnv or tokenFile (an empty token means no authentication)');
    if (a.tokenFile !== undefined) checkNonEmpty(where, 'auth.tokenFile', a.tokenFile);
    if (oidcSet) invalid(where, 'auth.method', 'OIDC settings are given but auth.method is token');
  } else if (a.tokenEnv !== undefined || a.tokenFile !== undefined) {
    invalid(where, 'auth.tokenEnv', 'a token is only used with auth.method token');
  }
}

/** @internal */
export function authBaseTree(where: string | undefined, a: FrpAuthBaseConfig) {
  return {
    method: a.method,
    additionalScopes: a.additionalScopes && a.additionalScopes.length > 0 ? a.additionalScopes : undefined,
    token: a.tokenEnv === undefined ? undefined : secretEnvRef(where, 'auth.tokenEnv', a.tokenEnv),
    tokenSource: a.tokenFile === undefined ? undefined : { type: 'file', file: { path: a.tokenFile } },
  };
}
