import { FrpLogLevel } from '../frp/common';
import { FrpProxyType } from '../frp/proxy';
import { FrpPortRange, FrpsConfig, FrpServerTlsConfig } from '../frp/server-config';
import { FrpAuth } from '../frp-auth';
import { FrpsPorts, ProxyRegistry } from './_ports';

/** Environment variables holding the web server's basic-auth user and password. @internal */
export const WEB_USER_ENV = 'FRP_WEB_USER';
/** @internal */
export const WEB_PASSWORD_ENV = 'FRP_WEB_PASSWORD';

/** What frps.toml is made of. @internal */
export interface FrpsConfigInputs {
  readonly ports: FrpsPorts;
  /** The attached proxies: which vhost listeners are open, which remote ports are allowed. */
  readonly proxies: ProxyRegistry;
  readonly auth: FrpAuth;
  readonly tls?: FrpServerTlsConfig;
  readonly subDomainHost?: string;
  readonly maxPoolCount: number;
  /** vhostHTTPTimeout in seconds (with an http listener only). */
  readonly httpResponseTimeout?: number;
  /** Whether the web server takes basic auth (from WEB_USER_ENV, WEB_PASSWORD_ENV). */
  readonly webServerCredentials: boolean;
  readonly enablePrometheus: boolean;
  readonly extraAllowPorts?: FrpPortRange[];
  readonly logLevel?: FrpLogLevel;
}

/** frps' config model: frp's own ports, a listener per kind of attached proxy, their remote ports allowed. @internal */
export function frpsConfig(i: FrpsConfigInputs): FrpsConfig {
  const listening = (kind: FrpProxyType, port: number) => (i.proxies.listens(kind) ? port : undefined);
  return {
    bindPort: i.ports.bind,
    vhostHttpPort: listening(FrpProxyType.HTTP, i.ports.vhostHttp),
    vhostHttpsPort: listening(FrpProxyType.HTTPS, i.ports.vhostHttps),
    tcpmuxHttpConnectPort: listening(FrpProxyType.TCPMUX, i.ports.tcpmux),
    vhostHttpTimeout: i.proxies.listens(FrpProxyType.HTTP) ? i.httpResponseTimeout : undefined,
    subDomainHost: i.subDomainHost,
    auth: i.auth._serverConfig(),
    tls: i.tls,
    maxPoolCount: i.maxPoolCount,
    webServer: {
      port: i.ports.webServer,
      userEnv: i.webServerCredentials ? WEB_USER_ENV : undefined,
      passwordEnv: i.webServerCredentials ? WEB_PASSWORD_ENV : undefined,
    },
    enablePrometheus: i.enablePrometheus,
    allowPorts: i.proxies.allowPorts(i.extraAllowPorts),
    logLevel: i.logLevel,
  };
}
