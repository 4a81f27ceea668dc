import { authBaseTree, FrpAuthBaseConfig, FrpAuthMethod, FrpLogLevel, FrpWebServerConfig, validateAuthBase, validateWebServer, webServerTree } from './common';
import { checkEnum, checkInt, checkNonEmpty, checkPort, invalid } from './errors';
import { renderFrpTree } from './template';

/** frps' authentication of clients (`auth.*`). */
export interface FrpServerAuthConfig extends FrpAuthBaseConfig {
  /**
   * OIDC issuer (method oidc; required for it).
   * @default - none
   */
  readonly oidcIssuer?: string;
  /**
   * OIDC audience.
   * @default - none
   */
  readonly oidcAudience?: string;
  /**
   * Skip the token expiry check.
   * @default false
   */
  readonly oidcSkipExpiryCheck?: boolean;
  /**
   * Skip the issuer check.
   * @default false
   */
  readonly oidcSkipIssuerCheck?: boolean;
}

/** frps TLS (`transport.tls.*`). */
export interface FrpServerTlsConfig {
  /** Server certificate file. */
  readonly certFile: string;
  /** Server key file. */
  readonly keyFile: string;
  /**
   * CA for client certificates: setting it turns on mTLS (and forces TLS).
   * @default - no client certificates required
   */
  readonly trustedCaFile?: string;
  /**
   * Refuse non-TLS control connections.
   * @default true
   */
  readonly force?: boolean;
}

/** A port or port range in `allowPorts`. */
export interface FrpPortRange {
  /** First port. */
  readonly start: number;
  /**
   * Last port (inclusive).
   * @default - same as start (a single port)
   */
  readonly end?: number;
}

/** A complete frps.toml. */
export interface FrpsConfig {
  /**
   * Control port frpc connects to.
   * @default 7000
   */
  readonly bindPort?: number;
  /**
   * Vhost HTTP port (needed by http proxies).
   * @default - off
   */
  readonly vhostHttpPort?: number;
  /**
   * Vhost HTTPS port (needed by https proxies).
   * @default - off
   */
  readonly vhostHttpsPort?: number;
  /**
   * HTTP CONNECT port for tcpmux proxies.
   * @default - off
   */
  readonly tcpmuxHttpConnectPort?: number;
  /**
   * Response-header timeout of the vhost HTTP port, in seconds.
   * @default 60
   */
  readonly vhostHttpTimeout?: number;
  /**
   * Base domain for proxies that use `subdomain`.
   * @default - none
   */
  readonly subDomainHost?: string;
  /** Client authentication. Required: frps never runs open. */
  readonly auth: FrpServerAuthConfig;
  /**
   * TLS and mTLS.
   * @default - frps generates a self-signed certificate at every start
   */
  readonly tls?: FrpServerTlsConfig;
  /**
   * Upper bound of each client's `poolCount`.
   * @default 5
   */
  readonly maxPoolCount?: number;
  /**
   * Dashboard/metrics web server.
   * @default - off
   */
  readonly webServer?: FrpWebServerConfig;
  /**
   * Export Prometheus metrics on the web server at `/metrics`.
   * @default false
   */
  readonly enablePrometheus?: boolean;
  /**
   * Remote ports clients may use.
   * @default - all ports (frp's default); FrpServer always derives a list
   */
  readonly allowPorts?: FrpPortRange[];
  /**
   * Log level (logs go to the console).
   * @default FrpLogLevel.INFO
   */
  readonly logLevel?: FrpLogLevel;
}

/** Checks an frps config against frp's rules. @internal */
export function validateFrpsConfig(where: string | undefined, c: FrpsConfig): void {
  checkPort(where, 'bindPort', c.bindPort);
  checkPort(where, 'vhostHttpPort', c.vhostHttpPort);
  checkPort(where, 'vhostHttpsPort', c.vhostHttpsPort);
  checkPort(where, 'tcpmuxHttpConnectPort', c.tcpmuxHttpConnectPort);
  checkInt(where, 'vhostHttpTimeout', c.vhostHttpTimeout, 1, 86400);
  checkInt(where, 'maxPoolCount', c.maxPoolCount, 0, 1000);
  if (c.subDomainHost !== undefined) checkNonEmpty(where, 'subDomainHost', c.subDomainHost);
  const a = c.auth;
  const oidcSet = !!a && [a.oidcIssuer, a.oidcAudience, a.oidcSkipExpiryCheck, a.oidcSkipIssuerCheck].some(v => v !== undefined);
  validateAuthBase(where, a, oidcSet);
  if (a.method === FrpAuthMethod.OIDC && !/^https?:\/\//.test(a.oidcIssuer ?? '')) {
    invalid(where, 'auth.oidcIssuer', `OIDC auth needs the issuer URL (http or https), got ${JSON.stringify(a.oidcIssuer)}`);
  }
  if (c.tls) {
    checkNonEmpty(where, 'tls.certFile', c.tls.certFile);
    checkNonEmpty(where, 'tls.keyFile', c.tls.keyFile);
    if (c.tls.trustedCaFile !== undefined && c.tls.force === false) invalid(where, 'tls.force', 'cannot be false when trustedCaFile is set (mTLS forces TLS)');
  }
  validateWebServer(where, 'webServer', c.webServer);
  if (c.enablePrometheus && !c.webServer) invalid(where, 'enablePrometheus', 'needs webServer (metrics are served on it at /metrics)');
  checkEnum(where, 'logLevel', c.logLevel, FrpLogLevel);
  const used = new Map<number, string>();
  const claim = (port: number | undefined, field: string) => {
    if (port === undefined) return;
    if (used.has(port)) invalid(where, field, `port ${port} is already used by ${used.get(port)}`);
    used.set(port, field);
  };
  claim(c.bindPort ?? 7000, 'bindPort');
  claim(c.vhostHttpPort, 'vhostHttpPort');
  claim(c.vhostHttpsPort, 'vhostHttpsPort');
  claim(c.tcpmuxHttpConnectPort, 'tcpmuxHttpConnectPort');
  claim(c.webServer?.port, 'webServer.port');
  (c.allowPorts ?? []).forEach((r, i) => {
    checkPort(where, `allowPorts[${i}].start`, r.start);
    checkPort(where, `allowPorts[${i}].end`, r.end);
    if (r.end !== undefined && r.end < r.start) invalid(where, `allowPorts[${i}].end`, `must be >= start (${r.start}), got ${r.end}`);
    for (const [port, field] of used) {
      if (port >= r.start && port <= (r.end ?? r.start)) invalid(where, `allowPorts[${i}]`, `includes port ${port}, which frps itself uses for ${field}`);
    }
  });
}

/** Renders frps.toml. @internal */
export function renderFrpsToml(where: string | undefined, c: FrpsConfig): string {
  validateFrpsConfig(where, c);
  const a = c.auth;
  const tree = {
    bindAddr: '0.0.0.0',
    bindPort: c.bindPort ?? 7000,
    vhostHTTPPort: c.vhostHttpPort,
    vhostHTTPSPort: c.vhostHttpsPort,
    vhostHTTPTimeout: c.vhostHttpTimeout,
    tcpmuxHTTPConnectPort: c.tcpmuxHttpConnectPort,
    subDomainHost: c.subDomainHost,
    enablePrometheus: c.enablePrometheus,
    log: { to: 'console', level: c.logLevel ?? FrpLogLevel.INFO, disablePrintColor: true },
    auth: {
      ...authBaseTree(where, a),
      oidc: a.method !== FrpAuthMethod.OIDC ? undefined : {
        issuer: a.oidcIssuer,
        audience: a.oidcAudience,
        skipExpiryCheck: a.oidcSkipExpiryCheck,
        skipIssuerCheck: a.oidcSkipIssuerCheck,
      },
    },
    transport: {
      maxPoolCount: c.maxPoolCount,
      tls: c.tls === undefined ? undefined : {
        force: c.tls.force ?? true,
        certFile: c.tls.certFile,
        keyFile: c.tls.keyFile,
        trustedCaFile: c.tls.trustedCaFile,
      },
    },
    webServer: webServerTree(where, 'webServer', c.webServer),
    allowPorts: c.allowPorts?.map(r => (r.end === undefined || r.end === r.start ? { single: r.start } : { start: r.start, end: r.end })),
  };
  return renderFrpTree(where, tree);
}
