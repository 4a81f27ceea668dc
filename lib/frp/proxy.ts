import { Bandwidth } from './bandwidth';
import { checkEnum, checkInt, checkNonEmpty, checkPort, invalid } from './errors';
import { envRef, hexEnvRef, RawTemplate } from './template';
import { BandwidthMode, HealthCheckType } from '../spec';

/** frp proxy types this library renders (FACTS.md §3, §7). */
export enum FrpProxyType {
  /** Raw TCP on a remote port of frps. Supports load-balancing groups. */
  TCP = 'tcp',
  /** Raw UDP on a remote port of frps. frp has no UDP groups. */
  UDP = 'udp',
  /** HTTP, routed by frps on its vhost HTTP port by domain and location. Supports groups. */
  HTTP = 'http',
  /** TLS passthrough, routed by SNI on the vhost HTTPS port. Supports groups. */
  HTTPS = 'https',
  /** HTTP CONNECT multiplexing on frps' tcpmux port. Supports groups. */
  TCPMUX = 'tcpmux',
}

/** The proxy types on which frps honours `loadBalancer.group` (FACTS.md §3). */
export const GROUP_CAPABLE_TYPES: readonly FrpProxyType[] = [FrpProxyType.TCP, FrpProxyType.HTTP, FrpProxyType.HTTPS, FrpProxyType.TCPMUX];

/** PROXY protocol header frpc writes to the local service. */
export enum ProxyProtocolVersion {
  /** PROXY protocol v1 (text). */
  V1 = 'v1',
  /** PROXY protocol v2 (binary). */
  V2 = 'v2',
}

/** The health check kinds frpc runs against the local backend. */
const FRP_HEALTH_CHECK_TYPES = { TCP: HealthCheckType.TCP, HTTP: HealthCheckType.HTTP };

/**
 * An frp proxy health check (`healthCheck.*`). frpc checks the proxy's
 * `localIP:localPort`; a failing proxy leaves its group. Aim it at one
 * backend: at a Service address (a ClusterIP or DNS name in front of several
 * pods) each check reaches whichever pod the Service picks, and since frp
 * v0.70.1 never resets the failure count, one bad pod can drop every member.
 * There a tcp check ("a ready endpoint is reachable") is what means something;
 * health per pod is the pods' readiness probe.
 */
export interface FrpHealthCheck {
  /**
   * The kind of check: `TCP` (a successful dial is healthy) or `HTTP`
   * (`GET http://localIP:localPort/path`, any 2xx is healthy). frp has no
   * other kind: check https and grpc backends with `TCP`.
   */
  readonly type: HealthCheckType;
  /**
   * Path for http checks (required when type is http).
   * @default - none; required for http checks
   */
  readonly path?: string;
  /**
   * Seconds before one check attempt times out.
   * @default 3
   */
  readonly timeoutSeconds?: number;
  /**
   * Failures before the proxy leaves its group. frp v0.70.1 never resets this
   * counter on success (FACTS.md §4), so it counts failures over the proxy's life.
   * @default 1
   */
  readonly maxFailed?: number;
  /**
   * Seconds between checks.
   * @default 10
   */
  readonly intervalSeconds?: number;
  /**
   * Extra request headers for http checks (a `Host` header sets the request host).
   * @default - none
   */
  readonly httpHeaders?: { [name: string]: string };
}

/**
 * One `[[proxies]]` entry of frpc.toml. Field names are frp's. The group key
 * (a secret; frp has no file source for it) is given as an environment
 * variable name; frp gets the hex of its bytes (``{{ printf `%x` .Envs.NAME }}``),
 * which is valid TOML whatever the value holds and equal on every member.
 */
export interface FrpProxy {
  /** Proxy name, unique within one frpc config. */
  readonly name: string;
  /** Proxy type. */
  readonly type: FrpProxyType;
  /**
   * Address of the local service (may be a DNS name, e.g. a Kubernetes Service).
   * @default "127.0.0.1"
   */
  readonly localIP?: string;
  /** Port of the local service. */
  readonly localPort: number;
  /**
   * Port frps listens on for this proxy (tcp and udp only; required for them).
   * @default - none (http, https and tcpmux are routed by name instead)
   */
  readonly remotePort?: number;
  /**
   * Domains frps routes to this proxy (http, https, tcpmux).
   * @default - none
   */
  readonly customDomains?: string[];
  /**
   * Subdomain of the server's `subDomainHost` (http, https, tcpmux).
   * @default - none
   */
  readonly subdomain?: string;
  /**
   * URL path prefixes routed to this proxy (http only).
   * @default - all paths
   */
  readonly locations?: string[];
  /**
   * Rewrites the Host header sent to the local service (http only).
   * @default - unchanged
   */
  readonly hostHeaderRewrite?: string;
  /**
   * Request headers to set (http only).
   * @default - none
   */
  readonly requestHeaders?: { [name: string]: string };
  /**
   * Response headers to set (http only).
   * @default - none
   */
  readonly responseHeaders?: { [name: string]: string };
  /**
   * Load-balancing group. Every proxy with the same group (and key) is a member
   * that frps spreads connections over. Only tcp, http, https and tcpmux.
   * @default - not in a group
   */
  readonly group?: string;
  /**
   * Environment variable holding the group key (members with another key are
   * refused). frp's groupKey is the lower-case hex of the variable's bytes
   * (``{{ printf `%x` .Envs.NAME }}``): any bytes the environment carries,
   * trailing newline included, are kept exactly, and every member must use the
   * same form. Exclusive with groupKeyHexEnv.
   * @default - no group key
   */
  readonly groupKeyEnv?: string;
  /**
   * Environment variable that already holds the group key in that hex form
   * (lower-case hex of the key's bytes, as groupKeyEnv renders it). It is used
   * as it is, e.g. on a machine outside the cluster whose environment file
   * cannot carry arbitrary bytes. Exclusive with groupKeyEnv.
   * @default - no group key
   */
  readonly groupKeyHexEnv?: string;
  /**
   * Health check of the local service; an unhealthy member leaves its group.
   * @default - no health check
   */
  readonly healthCheck?: FrpHealthCheck;
  /**
   * Encrypt traffic between frpc and frps with the auth token.
   * @default false
   */
  readonly useEncryption?: boolean;
  /**
   * Compress traffic between frpc and frps.
   * @default false
   */
  readonly useCompression?: boolean;
  /**
   * Bandwidth limit for this proxy.
   * @default - unlimited
   */
  readonly bandwidthLimit?: Bandwidth;
  /**
   * Which side enforces the bandwidth limit.
   * @default BandwidthMode.CLIENT
   */
  readonly bandwidthLimitMode?: BandwidthMode;
  /**
   * Send a PROXY protocol header to the local service, carrying the client address.
   * @default - none
   */
  readonly proxyProtocolVersion?: ProxyProtocolVersion;
  /**
   * Free-form metadata sent to frps (visible in its API and server plugins).
   * @default - none
   */
  readonly metadatas?: { [key: string]: string };
}

const HTTP_ONLY_FIELDS: (keyof FrpProxy)[] = ['locations', 'hostHeaderRewrite', 'requestHeaders', 'responseHeaders'];
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DOMAIN = /^(\*\.)?([a-z0-9]([-a-z0-9]*[a-z0-9])?)(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/**
 * Checks one proxy against frp's rules; `field` is its path, e.g. `proxies[2]`.
 * @internal
 */
export function validateProxy(where: string | undefined, field: string, p: FrpProxy): void {
  checkNonEmpty(where, `${field}.name`, p.name);
  if (/[\s"{}]/.test(p.name)) invalid(where, `${field}.name`, `must not contain whitespace, quotes or braces, got ${JSON.stringify(p.name)}`);
  checkEnum(where, `${field}.type`, p.type, FrpProxyType);
  if (p.type === undefined) invalid(where, `${field}.type`, `is required (one of ${Object.values(FrpProxyType).join(', ')})`);
  checkPort(where, `${field}.localPort`, p.localPort);
  if (p.localPort === undefined) invalid(where, `${field}.localPort`, 'is required');
  if (p.localIP !== undefined) checkNonEmpty(where, `${field}.localIP`, p.localIP);

  const remote = p.type === FrpProxyType.TCP || p.type === FrpProxyType.UDP;
  if (remote) {
    if (p.remotePort === undefined) invalid(where, `${field}.remotePort`, `is required for ${p.type} proxies (frp would pick a random port the Service cannot expose)`);
    checkPort(where, `${field}.remotePort`, p.remotePort);
    for (const f of ['customDomains', 'subdomain'] as const) {
      if (p[f] !== undefined) invalid(where, `${field}.${f}`, `is only valid on http, https and tcpmux proxies, not ${p.type}`);
    }
  } else {
    if (p.remotePort !== undefined) invalid(where, `${field}.remotePort`, `is only valid on tcp and udp proxies, not ${p.type}`);
    const domains = p.customDomains ?? [];
    if (domains.length === 0 && !p.subdomain) {
      invalid(where, `${field}.customDomains`, `a ${p.type} proxy needs customDomains or subdomain`);
    }
    domains.forEach((d, i) => {
      if (typeof d !== 'string' || d.length > 253 || !DOMAIN.test(d)) invalid(where, `${field}.customDomains[${i}]`, `must be a lower-case DNS name, got ${JSON.stringify(d)}`);
    });
    if (new Set(domains).size !== domains.length) invalid(where, `${field}.customDomains`, 'must not repeat a domain');
    if (p.subdomain !== undefined && !DNS_LABEL.test(p.subdomain)) {
      invalid(where, `${field}.subdomain`, `must be one DNS label (no dots or wildcards), got ${JSON.stringify(p.subdomain)}`);
    }
  }
  if (p.type !== FrpProxyType.HTTP) {
    for (const f of HTTP_ONLY_FIELDS) {
      if (p[f] !== undefined) invalid(where, `${field}.${f}`, `is only valid on http proxies, not ${p.type}`);
    }
  }
  (p.locations ?? []).forEach((l, i) => {
    if (typeof l !== 'string' || !l.startsWith('/')) invalid(where, `${field}.locations[${i}]`, `must start with "/", got ${JSON.stringify(l)}`);
  });

  if (p.group !== undefined) {
    checkNonEmpty(where, `${field}.group`, p.group);
    if (!GROUP_CAPABLE_TYPES.includes(p.type)) {
      invalid(where, `${field}.group`, `frp ignores load-balancing groups on ${p.type} proxies; groups work only on ${GROUP_CAPABLE_TYPES.join(', ')}`);
    }
    if (p.type === FrpProxyType.HTTP || p.type === FrpProxyType.HTTPS || p.type === FrpProxyType.TCPMUX) {
      const n = (p.customDomains ?? []).length + (p.subdomain ? 1 : 0);
      if (n !== 1) invalid(where, `${field}.customDomains`, `a ${p.type} proxy in a group must resolve to exactly one domain (customDomains plus subdomain), got ${n}`);
      if ((p.locations ?? []).length > 1) invalid(where, `${field}.locations`, `an http proxy in a group may have at most one location, got ${p.locations!.length}`);
    }
    if (p.groupKeyEnv !== undefined && p.groupKeyHexEnv !== undefined) invalid(where, `${field}.groupKeyHexEnv`, 'groupKeyEnv and groupKeyHexEnv are exclusive');
  } else if (p.groupKeyEnv !== undefined || p.groupKeyHexEnv !== undefined) {
    invalid(where, `${field}.${p.groupKeyEnv !== undefined ? 'groupKeyEnv' : 'groupKeyHexEnv'}`, 'needs group to be set');
  }

  if (p.healthCheck) {
    const h = p.healthCheck;
    checkEnum(where, `${field}.healthCheck.type`, h.type, FRP_HEALTH_CHECK_TYPES);
    if (h.type === HealthCheckType.HTTP && !(h.path ?? '').startsWith('/')) {
      invalid(where, `${field}.healthCheck.path`, `http health checks need a path starting with "/", got ${JSON.stringify(h.path)}`);
    }
    if (h.type === HealthCheckType.TCP && h.path !== undefined) invalid(where, `${field}.healthCheck.path`, 'is only valid for http health checks');
    checkInt(where, `${field}.healthCheck.timeoutSeconds`, h.timeoutSeconds, 1, 3600);
    checkInt(where, `${field}.healthCheck.maxFailed`, h.maxFailed, 1, 1000);
    checkInt(where, `${field}.healthCheck.intervalSeconds`, h.intervalSeconds, 1, 3600);
  }
  checkEnum(where, `${field}.bandwidthLimitMode`, p.bandwidthLimitMode, BandwidthMode);
  checkEnum(where, `${field}.proxyProtocolVersion`, p.proxyProtocolVersion, ProxyProtocolVersion);
  if (p.bandwidthLimitMode !== undefined && p.bandwidthLimit === undefined) invalid(where, `${field}.bandwidthLimitMode`, 'needs bandwidthLimit to be set');
}

/** The proxy as a TOML tree (before escaping). @internal */
export function proxyTree(where: string | undefined, field: string, p: FrpProxy): Record<string, unknown> {
  const header = (m?: { [k: string]: string }) => (m ? { set: sortedRecord(m) } : undefined);
  return {
    name: p.name,
    type: p.type,
    localIP: p.localIP,
    localPort: p.localPort,
    remotePort: p.remotePort,
    customDomains: p.customDomains,
    subdomain: p.subdomain,
    locations: p.locations,
    hostHeaderRewrite: p.hostHeaderRewrite,
    multiplexer: p.type === FrpProxyType.TCPMUX ? 'httpconnect' : undefined,
    metadatas: p.metadatas ? sortedRecord(p.metadatas) : undefined,
    requestHeaders: header(p.requestHeaders),
    responseHeaders: header(p.responseHeaders),
    transport: {
      useEncryption: p.useEncryption,
      useCompression: p.useCompression,
      bandwidthLimit: p.bandwidthLimit?.toString(),
      bandwidthLimitMode: p.bandwidthLimitMode,
      proxyProtocolVersion: p.proxyProtocolVersion,
    },
    loadBalancer: p.group === undefined ? undefined : {
      group: p.group,
      groupKey: p.groupKeyEnv !== undefined ? hexEnvRef(where, `${field}.groupKeyEnv`, p.groupKeyEnv)
        : p.groupKeyHexEnv !== undefined ? envRef(where, `${field}.groupKeyHexEnv`, p.groupKeyHexEnv) : undefined,
    },
    healthCheck: p.healthCheck === undefined ? undefined : {
      type: p.healthCheck.type,
      path: p.healthCheck.path,
      timeoutSeconds: p.healthCheck.timeoutSeconds,
      maxFailed: p.healthCheck.maxFailed,
      intervalSeconds: p.healthCheck.intervalSeconds,
      httpHeaders: p.healthCheck.httpHeaders
        ? Object.keys(p.healthCheck.httpHeaders).sort().map(name => ({ name, value: p.healthCheck!.httpHeaders![name] }))
        : undefined,
    },
  };
}

/** A copy of a string map with its keys sorted, for deterministic output. @internal */
export function sortedRecord(m: { [k: string]: string }): { [k: string]: string } {
  const out: { [k: string]: string } = {};
  for (const k of Object.keys(m).sort()) out[k] = m[k];
  return out;
}

export { RawTemplate };
