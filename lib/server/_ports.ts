import * as kplus from 'cdk8s-plus-28';
import type { FrpServerProps } from './frp-server';
import { checkPort, invalid } from '../frp/errors';
import { FrpProxy, FrpProxyType } from '../frp/proxy';
import { FrpPortRange } from '../frp/server-config';
import { PolicyPort } from '../network/network-peer';

/**
 * frps' own ports and what attached proxies claim on it (remote ports, vhost
 * routes): the accounting behind its listeners, its Services, `allowPorts` and
 * the ports its NetworkPolicy opens. @internal
 */

/** frps' own container ports, validated. @internal */
export interface FrpsPorts {
  /** Control port frpc connects to. */
  readonly bind: number;
  /** vhost HTTP listener (opened when an http proxy attaches). */
  readonly vhostHttp: number;
  /** vhost HTTPS listener (opened when an https proxy attaches). */
  readonly vhostHttps: number;
  /** tcpmux HTTP CONNECT listener (opened when a tcpmux proxy attaches). */
  readonly tcpmux: number;
  /** Web server (`/healthz`, `/metrics`). */
  readonly webServer: number;
}

/** The props that set frps' own ports. @internal */
export type FrpsPortProps = Pick<FrpServerProps, 'bindPort' | 'vhostHttpPort' | 'vhostHttpsPort' | 'tcpmuxHttpConnectPort' | 'webServerPort'>;

/** frps' own ports with their defaults: valid, unprivileged and distinct. @internal */
export function frpsPorts(where: string, props: FrpsPortProps): FrpsPorts {
  const ports: FrpsPorts = {
    bind: props.bindPort ?? 7000,
    vhostHttp: props.vhostHttpPort ?? 8080,
    vhostHttps: props.vhostHttpsPort ?? 8443,
    tcpmux: props.tcpmuxHttpConnectPort ?? 5002,
    webServer: props.webServerPort ?? 7500,
  };
  const seen = new Map<number, string>();
  for (const [field, port] of ownPorts(ports)) {
    checkPort(where, field, port);
    if (port < 1024) invalid(where, field, `must be 1024 or higher: frps runs as a non-root user and cannot bind port ${port} (Services map low ports)`);
    if (seen.has(port)) invalid(where, field, `port ${port} is already used by ${seen.get(port)}`);
    seen.set(port, field);
  }
  return ports;
}

/** frps' own ports by the prop that sets each. */
function ownPorts(p: FrpsPorts): [string, number][] {
  return [['bindPort', p.bind], ['vhostHttpPort', p.vhostHttp], ['vhostHttpsPort', p.vhostHttps],
    ['tcpmuxHttpConnectPort', p.tcpmux], ['webServerPort', p.webServer]];
}

/** A vhost listener of frps, opened by the first proxy of its kind. @internal */
export interface VhostListener {
  /** The proxy type that needs it. */
  readonly kind: FrpProxyType;
  /** Name of its port on the vhost Service. */
  readonly name: string;
  /** frps' container port. */
  readonly containerPort: number;
  /** Port of the vhost Service. */
  readonly servicePort: number;
}

/** Service port of the vhost HTTP listener. @internal */
export const VHOST_HTTP_SERVICE_PORT = 80;
/** Service port of the vhost HTTPS listener. @internal */
export const VHOST_HTTPS_SERVICE_PORT = 443;

/** frps' vhost listeners, in the order of its config and Services. @internal */
export function vhostListeners(p: FrpsPorts): VhostListener[] {
  return [
    { kind: FrpProxyType.HTTP, name: 'http', containerPort: p.vhostHttp, servicePort: VHOST_HTTP_SERVICE_PORT },
    { kind: FrpProxyType.HTTPS, name: 'https', containerPort: p.vhostHttps, servicePort: VHOST_HTTPS_SERVICE_PORT },
    { kind: FrpProxyType.TCPMUX, name: 'tcpmux', containerPort: p.tcpmux, servicePort: p.tcpmux },
  ];
}

interface Use {
  readonly owner: string;
  readonly proxy: string;
  readonly group?: string;
}

interface RemotePortUse extends Use {
  readonly port: number;
  readonly protocol: kplus.Protocol;
}

/** What registering a proxy opened on frps. @internal */
export interface RegisteredProxy {
  /** A tcp/udp remote port no proxy used before. */
  readonly remotePort?: { readonly port: number; readonly protocol: kplus.Protocol };
  /** A vhost listener no proxy needed before. */
  readonly listener?: VhostListener;
}

/**
 * The remote ports and vhost routes of the proxies attached to one frps.
 * Two proxies may share one only as members of one load-balancing group.
 * @internal
 */
export class ProxyRegistry {
  private readonly remotePorts = new Map<string, RemotePortUse>();
  private readonly routes = new Map<string, Use>();
  private readonly routeKinds = new Set<FrpProxyType>();

  /**
   * @param server the frps' construct path (named in errors)
   * @param ports frps' own ports
   * @param subDomainHost frps' subDomainHost
   */
  constructor(private readonly server: string, private readonly ports: FrpsPorts, private readonly subDomainHost?: string) {}

  /**
   * Claims a (validated) proxy's remote port or routes; a clash with another
   * proxy or with frps' own ports is an error naming `where`.
   */
  public register(where: string, proxy: FrpProxy): RegisteredProxy {
    const use = { owner: where, proxy: proxy.name, group: proxy.group };
    if (proxy.type === FrpProxyType.TCP || proxy.type === FrpProxyType.UDP) {
      const port = proxy.remotePort!;
      const field = `proxy ${JSON.stringify(proxy.name)}.remotePort`;
      if (port < 1024) invalid(where, field, `must be 1024 or higher: frps runs as a non-root user and cannot listen on ${port}`);
      if (this.isOwnPort(port)) {
        const p = this.ports;
        invalid(where, field, `port ${port} is one of frps' own ports on ${this.server} (control ${p.bind}, web ${p.webServer}, vhost ${p.vhostHttp}/${p.vhostHttps}, tcpmux ${p.tcpmux})`);
      }
      const protocol = proxy.type === FrpProxyType.UDP ? kplus.Protocol.UDP : kplus.Protocol.TCP;
      const key = `${protocol}/${port}`;
      const prev = this.remotePorts.get(key);
      if (prev) {
        if (!(prev.group && prev.group === proxy.group)) {
          invalid(where, field, `${key.toLowerCase()} is already used on ${this.server} by ${prev.owner} (proxy ${JSON.stringify(prev.proxy)}); only members of one load-balancing group may share a remote port`);
        }
        return {};
      }
      this.remotePorts.set(key, { ...use, port, protocol });
      return { remotePort: { port, protocol } };
    }
    for (const domain of this.domainsOf(where, proxy)) {
      const locations = proxy.type === FrpProxyType.HTTP ? (proxy.locations ?? ['/']) : [''];
      for (const location of locations) {
        const key = `${proxy.type} ${domain}${location}`;
        const prev = this.routes.get(key);
        if (prev && !(prev.group && prev.group === proxy.group)) {
          invalid(where, `proxy ${JSON.stringify(proxy.name)}.customDomains`, `route ${proxy.type}://${domain}${location} is already served on ${this.server} by ${prev.owner} (proxy ${JSON.stringify(prev.proxy)}); only members of one load-balancing group may share a route`);
        }
        if (!prev) this.routes.set(key, use);
      }
    }
    if (this.routeKinds.has(proxy.type)) return {};
    this.routeKinds.add(proxy.type);
    return { listener: vhostListeners(this.ports).find(l => l.kind === proxy.type) };
  }

  /** Whether some proxy needs the listener of `kind` (http, https, tcpmux). */
  public listens(kind: FrpProxyType): boolean {
    return this.routeKinds.has(kind);
  }

  /**
   * Whether a proxy of `protocol` cannot have `port` as its remote port: one
   * of frps' own ports, or the remote port of a registered proxy of that protocol.
   */
  public isPortTaken(protocol: kplus.Protocol, port: number): boolean {
    return this.isOwnPort(port) || this.remotePorts.has(`${protocol}/${port}`);
  }

  /** Remote ports of attached proxies plus `extra`, merged into ranges (frps' `allowPorts`). */
  public allowPorts(extra: FrpPortRange[] = []): FrpPortRange[] {
    const ports = [...new Set([...this.remotePorts.values()].map(u => u.port))].sort((a, b) => a - b);
    const ranges: FrpPortRange[] = [];
    for (const port of ports) {
      const last = ranges[ranges.length - 1];
      if (last && (last.end ?? last.start) + 1 === port) ranges[ranges.length - 1] = { start: last.start, end: port };
      else ranges.push({ start: port });
    }
    const all = [...ranges, ...extra];
    // frp treats an empty list as "every port": allow nothing usable instead.
    return all.length > 0 ? all : [{ start: 1 }];
  }

  /** The ports attached proxies expose: open vhost listeners, then remote ports (by protocol/port key). */
  public exposedPorts(): PolicyPort[] {
    const exposed: PolicyPort[] = vhostListeners(this.ports).filter(l => this.listens(l.kind)).map(l => ({ port: l.containerPort, protocol: 'TCP' }));
    for (const [, use] of [...this.remotePorts.entries()].sort()) exposed.push({ port: use.port, protocol: use.protocol === kplus.Protocol.UDP ? 'UDP' : 'TCP' });
    return exposed;
  }

  private isOwnPort(port: number): boolean {
    return ownPorts(this.ports).some(([, own]) => own === port);
  }

  private domainsOf(where: string, proxy: FrpProxy): string[] {
    const domains = [...(proxy.customDomains ?? [])];
    const field = `proxy ${JSON.stringify(proxy.name)}`;
    if (proxy.subdomain !== undefined) {
      if (!this.subDomainHost) invalid(where, `${field}.subdomain`, `needs subDomainHost on the FrpServer ${this.server}`);
      domains.push(`${proxy.subdomain}.${this.subDomainHost}`);
    }
    if (this.subDomainHost) {
      for (const d of proxy.customDomains ?? []) {
        if (d.endsWith(`.${this.subDomainHost}`)) invalid(where, `${field}.customDomains`, `${d} is under the server's subDomainHost ${this.subDomainHost}: use subdomain instead (frps refuses it)`);
      }
    }
    return domains;
  }
}
