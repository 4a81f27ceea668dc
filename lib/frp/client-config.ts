import { parse } from 'smol-toml';
import { FrpAuthBaseConfig, authBaseTree, FrpLogLevel, FrpWebServerConfig, validateAuthBase, validateWebServer, webServerTree, FrpAuthMethod } from './common';
import { checkEnum, checkInt, checkNonEmpty, checkPort, invalid } from './errors';
import { FrpProxy, proxyTree, validateProxy } from './proxy';
import { envRef, renderFrpTree, secretEnvRef } from './template';

/** frpc's authentication (`auth.*`). */
export interface FrpClientAuthConfig extends FrpAuthBaseConfig {
  /**
   * OIDC client ID (method oidc).
   * @default - none
   */
  readonly oidcClientId?: string;
  /**
   * Environment variable holding the OIDC client secret (read byte-safe, not trimmed).
   * @default - none
   */
  readonly oidcClientSecretEnv?: string;
  /**
   * OIDC audience.
   * @default - none
   */
  readonly oidcAudience?: string;
  /**
   * OIDC scope.
   * @default - none
   */
  readonly oidcScope?: string;
  /**
   * OIDC token endpoint (absolute http or https URL; required for method oidc).
   * @default - none
   */
  readonly oidcTokenEndpointUrl?: string;
  /**
   * CA file used to verify the token endpoint.
   * @default - system roots
   */
  readonly oidcTrustedCaFile?: string;
}

/** frpc's TLS towards frps (`transport.tls.*`). */
export interface FrpClientTlsConfig {
  /**
   * Use TLS to frps.
   * @default true
   */
  readonly enable?: boolean;
  /**
   * Client certificate (mTLS).
   * @default - none
   */
  readonly certFile?: string;
  /**
   * Client key (mTLS).
   * @default - none
   */
  readonly keyFile?: string;
  /**
   * CA that signed the frps certificate; without it frpc does not verify frps.
   * @default - frps is not verified
   */
  readonly trustedCaFile?: string;
  /**
   * Name verified in the frps certificate.
   * @default - serverAddr
   */
  readonly serverName?: string;
  /**
   * Send a plain TLS ClientHello (true) or frp's 0x17 first byte (false; needed when
   * frps multiplexes vhostHTTPSPort on bindPort).
   * @default true
   */
  readonly disableCustomTlsFirstByte?: boolean;
}

/** frpc's connection to frps (`transport.*`). */
export interface FrpClientTransportConfig {
  /**
   * Work connections frpc opens ahead of time (capped by frps `maxPoolCount`).
   * @default 1
   */
  readonly poolCount?: number;
  /**
   * Seconds to wait when dialling frps.
   * @default 10
   */
  readonly dialServerTimeout?: number;
  /**
   * TCP keepalive towards frps, in seconds (negative disables).
   * @default 7200
   */
  readonly dialServerKeepalive?: number;
  /**
   * TLS settings.
   * @default - TLS on, frps not verified
   */
  readonly tls?: FrpClientTlsConfig;
}

/** A complete frpc.toml. */
export interface FrpcConfig {
  /** frps address (DNS name or IP). */
  readonly serverAddr: string;
  /**
   * frps bindPort.
   * @default 7000
   */
  readonly serverPort?: number;
  /**
   * Environment variable whose value becomes `user`, which prefixes every proxy
   * name on frps. Set it to the pod name so that replicas are distinct members.
   * @default - no user
   */
  readonly userEnv?: string;
  /**
   * A fixed `user` (exclusive with userEnv), e.g. an external machine's name.
   * @default - no user
   */
  readonly user?: string;
  /** Authentication to frps. */
  readonly auth: FrpClientAuthConfig;
  /**
   * Transport settings.
   * @default - frp defaults
   */
  readonly transport?: FrpClientTransportConfig;
  /**
   * Admin web server (used for probes and `/api/reload`).
   * @default - off
   */
  readonly webServer?: FrpWebServerConfig;
  /**
   * Log level (logs go to the console).
   * @default FrpLogLevel.INFO
   */
  readonly logLevel?: FrpLogLevel;
  /**
   * Metadata sent at login.
   * @default - none
   */
  readonly metadatas?: { [key: string]: string };
  /** The proxies. */
  readonly proxies: FrpProxy[];
}

const URL_RE = /^https?:\/\/[^\s/]+/;

/** Checks an frpc config against frp's rules. @internal */
export function validateFrpcConfig(where: string | undefined, c: FrpcConfig): void {
  checkNonEmpty(where, 'serverAddr', c.serverAddr);
  if (c.serverAddr === '0.0.0.0') invalid(where, 'serverAddr', 'must name the frps host (frp defaults it to 0.0.0.0)');
  checkPort(where, 'serverPort', c.serverPort);
  if (c.user !== undefined && c.userEnv !== undefined) invalid(where, 'user', 'user and userEnv are exclusive');
  if (c.user !== undefined && !/^[-._a-zA-Z0-9]+$/.test(c.user)) invalid(where, 'user', `must be letters, digits, ".", "_" or "-", got ${JSON.stringify(c.user)}`);
  const a = c.auth;
  const oidcSet = !!a && [a.oidcClientId, a.oidcClientSecretEnv, a.oidcAudience, a.oidcScope, a.oidcTokenEndpointUrl, a.oidcTrustedCaFile]
    .some(v => v !== undefined);
  validateAuthBase(where, a, oidcSet);
  if (a.method === FrpAuthMethod.OIDC) {
    checkNonEmpty(where, 'auth.oidcClientId', a.oidcClientId);
    if (!URL_RE.test(a.oidcTokenEndpointUrl ?? '')) invalid(where, 'auth.oidcTokenEndpointUrl', `must be an absolute http or https URL, got ${JSON.stringify(a.oidcTokenEndpointUrl)}`);
  }
  checkInt(where, 'transport.poolCount', c.transport?.poolCount, 0, 1000);
  checkInt(where, 'transport.dialServerTimeout', c.transport?.dialServerTimeout, 1, 3600);
  checkInt(where, 'transport.dialServerKeepalive', c.transport?.dialServerKeepalive, -1, 86400);
  const tls = c.transport?.tls;
  if (tls) {
    if (tls.enable === false && (tls.certFile || tls.keyFile || tls.trustedCaFile)) {
      invalid(where, 'transport.tls.enable', 'is false but certificate files are set (frp would ignore them)');
    }
    if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) invalid(where, 'transport.tls.keyFile', 'certFile and keyFile must be set together');
  }
  validateWebServer(where, 'webServer', c.webServer);
  checkEnum(where, 'logLevel', c.logLevel, FrpLogLevel);
  if (!Array.isArray(c.proxies)) invalid(where, 'proxies', 'must be a list of proxies');
  const names = new Map<string, number>();
  c.proxies.forEach((p, i) => {
    validateProxy(where, `proxies[${i}]`, p);
    if (names.has(p.name)) invalid(where, `proxies[${i}].name`, `duplicate proxy name ${JSON.stringify(p.name)} (also proxies[${names.get(p.name)}])`);
    names.set(p.name, i);
  });
}

/**
 * Renders frpc.toml. Always sets `loginFailExit = false` (keep retrying while
 * frps starts) and logs to the console.
 * @internal
 */
export function renderFrpcToml(where: string | undefined, c: FrpcConfig): string {
  validateFrpcConfig(where, c);
  const a = c.auth;
  const tls = c.transport?.tls;
  const tree = {
    serverAddr: c.serverAddr,
    serverPort: c.serverPort ?? 7000,
    user: c.user ?? (c.userEnv === undefined ? undefined : envRef(where, 'userEnv', c.userEnv)),
    loginFailExit: false,
    metadatas: c.metadatas,
    log: { to: 'console', level: c.logLevel ?? FrpLogLevel.INFO, disablePrintColor: true },
    auth: {
      ...authBaseTree(where, a),
      oidc: a.method !== FrpAuthMethod.OIDC ? undefined : {
        clientID: a.oidcClientId,
        clientSecret: a.oidcClientSecretEnv === undefined ? undefined : secretEnvRef(where, 'auth.oidcClientSecretEnv', a.oidcClientSecretEnv),
        audience: a.oidcAudience,
        scope: a.oidcScope,
        tokenEndpointURL: a.oidcTokenEndpointUrl,
        trustedCaFile: a.oidcTrustedCaFile,
      },
    },
    transport: {
      poolCount: c.transport?.poolCount,
      dialServerTimeout: c.transport?.dialServerTimeout,
      dialServerKeepalive: c.transport?.dialServerKeepalive,
      tls: tls === undefined ? undefined : {
        enable: tls.enable ?? true,
        disableCustomTLSFirstByte: tls.disableCustomTlsFirstByte,
        certFile: tls.certFile,
        keyFile: tls.keyFile,
        trustedCaFile: tls.trustedCaFile,
        serverName: tls.serverName,
      },
    },
    webServer: webServerTree(where, 'webServer', c.webServer),
    proxies: c.proxies.map((p, i) => proxyTree(where, `proxies[${i}]`, p)),
  };
  return renderFrpTree(where, tree);
}

/** Parses rendered TOML back (used by tests and the CLI's self-check). @internal */
export function parseToml(text: string): Record<string, unknown> {
  return parse(text) as Record<string, unknown>;
}
