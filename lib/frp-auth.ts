import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { FrpClientAuthConfig } from './frp/client-config';
import { FrpAuthMethod, FrpAuthScope } from './frp/common';
import { FrpServerAuthConfig } from './frp/server-config';

/** Options for OIDC authentication between frpc and frps. */
export interface FrpOidcAuthOptions {
  /** Issuer URL frps verifies tokens against. */
  readonly issuer: string;
  /**
   * Audience frps expects (and frpc requests).
   * @default - none
   */
  readonly audience?: string;
  /** OIDC client ID of frpc. */
  readonly clientId: string;
  /**
   * Secret holding frpc's client secret. frp sends it exactly as the Secret
   * holds it, byte for byte (not trimmed: a trailing newline from
   * `kubectl create secret --from-file` is sent too). A value that is not valid
   * UTF-8 cannot be written into frp's TOML config: frpc then refuses to start.
   */
  readonly clientSecret: kplus.ISecret;
  /**
   * Key of the client secret in `clientSecret`.
   * @default "client-secret"
   */
  readonly clientSecretKey?: string;
  /** Token endpoint frpc gets tokens from (absolute http/https URL). */
  readonly tokenEndpointUrl: string;
  /**
   * Scope frpc requests.
   * @default - none
   */
  readonly scope?: string;
}

/** Options for token authentication. */
export interface FrpTokenAuthOptions {
  /**
   * Key of the token in the Secret.
   * @default "token"
   */
  readonly key?: string;
  /**
   * Also authenticate heartbeats and new work connections, not only login.
   * @default true
   */
  readonly authenticateAllMessages?: boolean;
}

/** An environment variable a container needs, read from a Secret. @internal */
export interface SecretEnv {
  readonly name: string;
  readonly secret: kplus.ISecret;
  readonly key: string;
}

/** A Secret key a container reads as a file (frp's `tokenSource` type file). @internal */
export interface SecretFile {
  /** Volume name (before a sidecar suffix). */
  readonly volume: string;
  /** Directory the Secret is mounted at. */
  readonly dir: string;
  /** File name inside dir. */
  readonly file: string;
  readonly secret: kplus.ISecret;
  readonly key: string;
}

/** Where the token Secret is mounted (only the token key, as file `token`). @internal */
export const TOKEN_DIR = '/etc/frp/auth';
/** The token file frp reads (`auth.tokenSource.file.path`). @internal */
export const TOKEN_FILE = `${TOKEN_DIR}/token`;

/** Env var names used in the rendered configs. @internal */
export const ENV = {
  AUTH_TOKEN: 'FRP_AUTH_TOKEN',
  OIDC_CLIENT_SECRET: 'FRP_OIDC_CLIENT_SECRET',
  GROUP_KEY: 'FRP_GROUP_KEY',
  POD_NAME: 'POD_NAME',
  POD_NAMESPACE: 'POD_NAMESPACE',
  /** frp `user` of a pod: `<namespace>.<pod name>`, unique across the cluster. */
  USER: 'FRP_USER',
  WEB_USER: 'FRP_WEB_USER',
  WEB_PASSWORD: 'FRP_WEB_PASSWORD',
} as const;

/**
 * How frpc authenticates to frps. frps never runs without it. Secret values are
 * referenced, never copied: the token is mounted as a file that frp reads
 * itself (`auth.tokenSource`, type file; frp trims whitespace, so a Secret
 * written by `kubectl create secret --from-file` with a trailing newline
 * works); the OIDC client secret, for which frp has no file source, is an
 * environment variable that frp's template step writes byte for byte into the
 * config (``{{ template `cdk8s-frp.string` .Envs.NAME }}``).
 */
export class FrpAuth {
  /**
   * A shared token read from a Secret (both sides use the same Secret).
   * @param secret the Secret holding the token
   */
  public static token(secret: kplus.ISecret, options: FrpTokenAuthOptions = {}): FrpAuth {
    if (!secret) throw new Error('FrpAuth.token: secret is required (a Secret holding the frp token; frps never runs without client auth)');
    const key = options.key ?? 'token';
    if (!/^[-._a-zA-Z0-9]+$/.test(key)) throw new Error(`FrpAuth.token: key must be a valid Secret key ([-._a-zA-Z0-9]+), got ${JSON.stringify(key)}`);
    const scopes = options.authenticateAllMessages === false ? [] : [FrpAuthScope.HEART_BEATS, FrpAuthScope.NEW_WORK_CONNS];
    const file: SecretFile = { volume: 'frp-token', dir: TOKEN_DIR, file: 'token', secret, key };
    return new FrpAuth(FrpAuthMethod.TOKEN, scopes, [], [], [file]);
  }

  /** OIDC client credentials: frpc gets tokens from the endpoint, frps verifies them. */
  public static oidc(options: FrpOidcAuthOptions): FrpAuth {
    if (!options) throw new Error('FrpAuth.oidc: options are required');
    for (const f of ['issuer', 'clientId', 'tokenEndpointUrl'] as const) {
      if (typeof options[f] !== 'string' || !options[f]) throw new Error(`FrpAuth.oidc: ${f} is required`);
    }
    for (const f of ['issuer', 'tokenEndpointUrl'] as const) {
      if (!/^https?:\/\/[^\s/]+/.test(options[f])) throw new Error(`FrpAuth.oidc: ${f} must be an absolute http or https URL, got ${JSON.stringify(options[f])}`);
    }
    if (!options.clientSecret) throw new Error('FrpAuth.oidc: clientSecret is required (a Secret holding the OIDC client secret)');
    const key = options.clientSecretKey ?? 'client-secret';
    return new FrpAuth(FrpAuthMethod.OIDC, [], [], [{ name: ENV.OIDC_CLIENT_SECRET, secret: options.clientSecret, key }], [], options);
  }

  private constructor(
    /** The frp auth method. */
    public readonly method: FrpAuthMethod,
    private readonly scopes: FrpAuthScope[],
    private readonly serverEnv: SecretEnv[],
    private readonly clientEnv: SecretEnv[],
    private readonly files: SecretFile[],
    private readonly oidcOptions?: FrpOidcAuthOptions,
  ) {}

  /** The frps `auth` config. @internal */
  public _serverConfig(): FrpServerAuthConfig {
    if (this.method === FrpAuthMethod.TOKEN) return { method: this.method, tokenFile: TOKEN_FILE, additionalScopes: this.scopes };
    return { method: this.method, oidcIssuer: this.oidcOptions!.issuer, oidcAudience: this.oidcOptions!.audience };
  }

  /** The frpc `auth` config. @internal */
  public _clientConfig(): FrpClientAuthConfig {
    if (this.method === FrpAuthMethod.TOKEN) return { method: this.method, tokenFile: TOKEN_FILE, additionalScopes: this.scopes };
    const o = this.oidcOptions!;
    return {
      method: this.method,
      oidcClientId: o.clientId,
      oidcClientSecretEnv: ENV.OIDC_CLIENT_SECRET,
      oidcAudience: o.audience,
      oidcScope: o.scope,
      oidcTokenEndpointUrl: o.tokenEndpointUrl,
    };
  }

  /** Secret-backed env vars frps needs. @internal */
  public _serverEnv(): SecretEnv[] { return this.serverEnv; }

  /** Secret-backed env vars frpc needs. @internal */
  public _clientEnv(): SecretEnv[] { return this.clientEnv; }

  /** Secret keys both sides read as files. @internal */
  public _files(): SecretFile[] { return this.files; }

  /** The OIDC token endpoint, for method oidc. @internal */
  public get _tokenEndpointUrl(): string | undefined { return this.oidcOptions?.tokenEndpointUrl; }
}

/**
 * Mounts Secret keys as files: one volume per Secret key (named
 * `<volume><suffix>`), holding only that key. @internal
 */
export function mountSecretFiles(scope: Construct, containers: kplus.Container | kplus.Container[], files: SecretFile[], suffix: string): void {
  for (const f of files) {
    const volume = kplus.Volume.fromSecret(scope, `${f.volume}-volume`, f.secret, { name: `${f.volume}${suffix}`, items: { [f.key]: { path: f.file } } });
    // one volume, mounted into every container that reads the file (HA: one frpc per frps replica)
    for (const c of Array.isArray(containers) ? containers : [containers]) c.mount(f.dir, volume, { readOnly: true });
  }
}

/** Adds Secret-backed env vars to a container. @internal */
export function addSecretEnv(container: kplus.Container, envs: SecretEnv[]): void {
  for (const e of envs) container.env.addVariable(e.name, kplus.EnvValue.fromSecretValue({ secret: e.secret, key: e.key }));
}
