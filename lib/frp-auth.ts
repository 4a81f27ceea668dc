import * as kplus from 'cdk8s-plus-28';
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
  /** Secret holding frpc's client secret. */
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

/** Env var names used in the rendered configs. @internal */
export const ENV = {
  AUTH_TOKEN: 'FRP_AUTH_TOKEN',
  OIDC_CLIENT_SECRET: 'FRP_OIDC_CLIENT_SECRET',
  GROUP_KEY: 'FRP_GROUP_KEY',
  POD_NAME: 'POD_NAME',
  WEB_USER: 'FRP_WEB_USER',
  WEB_PASSWORD: 'FRP_WEB_PASSWORD',
} as const;

/**
 * How frpc authenticates to frps. frps never runs without it. Secret values are
 * referenced, never copied: the containers read them as environment variables
 * and frp substitutes `{{ .Envs.NAME }}` in its config.
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
    return new FrpAuth(FrpAuthMethod.TOKEN, scopes, [{ name: ENV.AUTH_TOKEN, secret, key }], [{ name: ENV.AUTH_TOKEN, secret, key }]);
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
    return new FrpAuth(FrpAuthMethod.OIDC, [], [], [{ name: ENV.OIDC_CLIENT_SECRET, secret: options.clientSecret, key }], options);
  }

  private constructor(
    /** The frp auth method. */
    public readonly method: FrpAuthMethod,
    private readonly scopes: FrpAuthScope[],
    private readonly serverEnv: SecretEnv[],
    private readonly clientEnv: SecretEnv[],
    private readonly oidcOptions?: FrpOidcAuthOptions,
  ) {}

  /** The frps `auth` config. @internal */
  public _serverConfig(): FrpServerAuthConfig {
    if (this.method === FrpAuthMethod.TOKEN) return { method: this.method, tokenEnv: ENV.AUTH_TOKEN, additionalScopes: this.scopes };
    return { method: this.method, oidcIssuer: this.oidcOptions!.issuer, oidcAudience: this.oidcOptions!.audience };
  }

  /** The frpc `auth` config. @internal */
  public _clientConfig(): FrpClientAuthConfig {
    if (this.method === FrpAuthMethod.TOKEN) return { method: this.method, tokenEnv: ENV.AUTH_TOKEN, additionalScopes: this.scopes };
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
}

/** Adds Secret-backed env vars to a container. @internal */
export function addSecretEnv(container: kplus.Container, envs: SecretEnv[]): void {
  for (const e of envs) container.env.addVariable(e.name, kplus.EnvValue.fromSecretValue({ secret: e.secret, key: e.key }));
}
