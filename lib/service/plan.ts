import { durationSeconds, MAX_SECONDS } from './durations';
import { DEFAULT_MAX_BACKENDS, MAX_DISCOVERED_BACKENDS } from './schema';
import { Bandwidth } from '../frp/bandwidth';
import { FrpHealthCheck, FrpProxyType } from '../frp/proxy';
import {
  AuthenticationType, AuthorizationRule, BackendEndpoint, BandwidthMode, DiscoveryMode, DistributedServiceSpec, ExposeServiceType, ExposeType,
  ExternalTrafficPolicy, GatewayReference, HealthCheckType, IssuerKind, LabelSelector, LoadBalancingAlgorithm, MtlsMode, RetryBackoff,
  ServiceProtocol,
} from '../spec';

const DNS_1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
/** Longest name suffix the library appends to a service's name (`-group-key`, the default group key Secret). */
const LONGEST_SUFFIX = '-group-key'.length;
/** Group members one frpc pod may open (endpoints times weights). */
const MAX_MEMBERS = 100;
/** The health check path of the seed's defaulting rule (its schema's `default: /health`). */
export const DEFAULT_HEALTH_PATH = '/health';

/** A proxy every frpc pod of the service opens (one group member per pod). @internal */
export interface PlannedMember {
  readonly proxyName: string;
  readonly localIP?: string;
  readonly localPort: number;
  readonly metadatas?: { [k: string]: string };
}

/** Where frpc (or the balancer) finds the backends. @internal */
export type PlannedBackends =
  | { readonly kind: 'endpoints'; readonly endpoints: BackendEndpoint[] }
  | { readonly kind: 'selector'; readonly selector: LabelSelector; readonly namespace?: string; readonly port: number; readonly headless: boolean; readonly maxBackends: number }
  | { readonly kind: 'dns'; readonly serviceName: string; readonly namespace?: string; readonly port: number; readonly maxBackends: number }
  | { readonly kind: 'workload'; readonly port: number; readonly maxBackends: number };

/** How the balancer tier checks its backends. @internal */
export interface PlannedBalancerHealthCheck {
  readonly type: HealthCheckType;
  readonly path: string;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly rise: number;
  readonly fall: number;
}

/** What the balancer tier must do. @internal */
export interface PlannedBalancer {
  /** Why the tier exists (for docs and errors). */
  readonly reasons: string[];
  readonly mode: 'http' | 'tcp' | 'udp';
  readonly algorithm: LoadBalancingAlgorithm;
  readonly affinity?: { readonly timeoutSeconds: number; readonly cookieName: string };
  readonly healthCheck?: PlannedBalancerHealthCheck;
  readonly authentication?: { readonly type: AuthenticationType; readonly secretName: string };
  readonly rules: AuthorizationRule[];
  readonly retry?: { readonly attempts: number; readonly backoff: RetryBackoff };
  readonly idleTimeoutSeconds: number;
  readonly connectTimeoutSeconds: number;
}

/** mTLS between frpc and frps. @internal */
export interface PlannedMtls {
  readonly mode: MtlsMode;
  readonly caSecret?: string;
  readonly certSecret?: string;
  readonly serverCertSecret?: string;
  readonly renewBefore: string;
  readonly rotation: boolean;
  readonly issuerName?: string;
  readonly issuerKind: IssuerKind;
}

/** Everything the constructs render, decided once. @internal */
export interface ServicePlan {
  readonly name: string;
  readonly serviceType: ServiceProtocol;
  readonly proxyType: FrpProxyType;
  readonly group?: string;
  readonly members: PlannedMember[];
  readonly backends: PlannedBackends;
  readonly sidecar: boolean;
  readonly clientReplicas: number;
  readonly expose: {
    readonly type: ExposeType;
    readonly domain?: string;
    readonly subdomain?: string;
    readonly path?: string;
    readonly port?: number;
    readonly remotePort?: number;
    readonly serviceType: ExposeServiceType;
    readonly externalTrafficPolicy?: ExternalTrafficPolicy;
    readonly ingressClassName?: string;
    readonly ingressTlsSecret?: string;
    readonly gateway?: GatewayReference;
  };
  /** frp's check on every in-cluster member (where it lands: see planHealthCheck). */
  readonly healthCheck?: FrpHealthCheck;
  /** The check as the spec asks it, for a member that forwards to exactly one backend (an external machine). */
  readonly backendHealthCheck?: FrpHealthCheck;
  /** The warnings of backendHealthCheck, for whoever adds such a member. */
  readonly backendHealthCheckWarnings: string[];
  /** Synth-time warnings (field path, then message): rendered as asked, but maybe not what the user expects. */
  readonly warnings: string[];
  readonly balancer?: PlannedBalancer;
  readonly mtls?: PlannedMtls;
  readonly poolCount?: number;
  readonly dialTimeoutSeconds: number;
  readonly keepAliveSeconds: number;
  /**
   * How long an answer may take (to its headers, through frps' vhost, the
   * Ingress and the balancer): the longer of `connectionPool.idleTimeout` and
   * `timeout.keepAlive`, the same figure the balancer's server timeout uses.
   */
  readonly responseTimeoutSeconds: number;
  readonly bandwidth?: Bandwidth;
  readonly bandwidthMode?: BandwidthMode;
}

/** Inputs that are not part of the spec. @internal */
export interface PlanContext {
  /** Construct path, for messages. */
  readonly where: string;
  /** The service's name (metadata.name). */
  readonly name: string;
  /** Group name prefix making groups unique per frps (e.g. the namespace). */
  readonly groupPrefix?: string;
  /** Whether a backend workload was handed over (discovery auto). */
  readonly hasWorkload: boolean;
  /** The workload's first container port, if any. */
  readonly workloadPort?: number;
  /** The workload's `spec.replicas`, when it says. */
  readonly workloadReplicas?: number;
}

/**
 * What is wrong with a service name (metadata.name), or undefined: it names
 * Services and prefixes derived names, so it is a DNS-1035 label short enough
 * for the longest suffix. @internal
 */
export function serviceNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || !DNS_1035_LABEL.test(name) || name.length > 63 - LONGEST_SUFFIX) {
    return `must be a DNS label (lower-case letters, digits and "-", starting with a letter) of at most ${63 - LONGEST_SUFFIX} characters, so that derived names stay within 63; got ${JSON.stringify(name)}`;
  }
  return undefined;
}

/**
 * Turns a spec (already checked against the schema) into a plan: applies the
 * seed's defaults, enforces its webhook rules and frp's rules, and decides
 * members, group, exposure, tiers and certificates. Pure. Each step records
 * the problems it finds; the spec is refused with all of them. @internal
 */
export function planService(spec: DistributedServiceSpec, ctx: PlanContext): ServicePlan {
  const problems = new SpecProblems(ctx.where);
  const nameProblem = serviceNameProblem(ctx.name);
  if (nameProblem) problems.bad('metadata.name', nameProblem);
  const expose = planExposure(spec, problems);
  const { proxyType, group } = planProxy(spec, ctx, expose.type, problems);
  const udp = proxyType === FrpProxyType.UDP;
  const check = planHealthCheckAsAsked(spec, proxyType, ctx.where, problems);
  const access = planEndUserAccess(spec, problems);
  const mtls = planMtls(spec, problems);
  checkEndpointsListed(spec, problems);
  const balancer = planBalancer(spec, check, access, ctx.where, problems);
  const { backends, members, sidecar, warnings: backendWarnings } = planMembers(spec, ctx, balancer, udp, problems);
  const checks = planHealthCheckLanding(spec, check.frpCheck, balancer, backends, sidecar);
  const dialTimeoutSeconds = durationSeconds(ctx.where, 'spec.advanced.timeout.dial', spec.advanced?.timeout?.dial ?? '10s', 'sm', MAX_SECONDS.frpTimer);
  checkBandwidth(spec, problems);
  problems.throwIfAny();
  const connection = planConnection(spec, ctx.where);
  return {
    name: ctx.name,
    serviceType: spec.serviceType,
    proxyType,
    group,
    members,
    backends,
    sidecar,
    clientReplicas: udp ? 1 : spec.backends.replicas ?? 2,
    expose,
    healthCheck: checks.healthCheck,
    backendHealthCheck: checks.backendHealthCheck,
    backendHealthCheckWarnings: checks.backendHealthCheckWarnings,
    warnings: [...(backendWarnings ?? []), ...checks.warnings],
    balancer,
    mtls,
    poolCount: connection.poolCount,
    dialTimeoutSeconds,
    keepAliveSeconds: connection.keepAliveSeconds,
    responseTimeoutSeconds: connection.responseTimeoutSeconds,
    bandwidth: connection.bandwidth,
    bandwidthMode: connection.bandwidthMode,
  };
}

/** Every problem of a spec, not only the first, each prefixed with the construct path and the field. */
class SpecProblems {
  private readonly messages: string[] = [];

  constructor(private readonly where: string) {}

  /** Records a problem; planning goes on. */
  public bad(field: string, message: string): void {
    this.messages.push(`${this.where ? `${this.where}: ` : ''}${field}: ${message}`);
  }

  /** Records a problem and stops, with every problem so far: going on makes no sense. */
  public fail(field: string, message: string): never {
    this.bad(field, message);
    throw new Error(this.messages.join('\n'));
  }

  /** Stops with every problem so far, if there is any. */
  public throwIfAny(): void {
    if (this.messages.length > 0) throw new Error(this.messages.join('\n'));
  }
}

/** How the service is reached (seed webhook: http needs domain or path). */
function planExposure(spec: DistributedServiceSpec, problems: SpecProblems): ServicePlan['expose'] {
  const bad = problems.bad.bind(problems);
  const type = spec.serviceType;
  const ex = spec.expose ?? {};
  // the seed defaults to domain, which only http can use: other protocols default to port
  const exposeType = ex.type ?? (type === ServiceProtocol.HTTP ? ExposeType.DOMAIN : ExposeType.PORT);
  const isHttp = type === ServiceProtocol.HTTP;
  // (the schema checked the formats of domain, subdomain and path)
  if (exposeType !== ExposeType.PORT && !isHttp) {
    bad('spec.expose.type', `a ${type} service is exposed on a port: set expose.type to port and expose.port (domain, subdomain and path routing is for http)`);
  } else {
    switch (exposeType) {
      case ExposeType.DOMAIN:
        if (!ex.domain) bad('spec.expose.domain', 'is required when expose.type is domain');
        break;
      case ExposeType.SUBDOMAIN:
        if (!ex.subdomain) bad('spec.expose.subdomain', 'is required when expose.type is subdomain');
        break;
      case ExposeType.PATH:
        if (!ex.path) bad('spec.expose.path', 'is required when expose.type is path');
        if (!ex.domain && !ex.subdomain) bad('spec.expose.domain', 'frp routes http by host: a path exposure also needs expose.domain or expose.subdomain');
        break;
      case ExposeType.PORT:
        if (ex.port === undefined) bad('spec.expose.port', 'is required when expose.type is port');
        break;
    }
  }
  if (exposeType === ExposeType.PORT) {
    for (const f of ['domain', 'subdomain', 'path'] as const) {
      if (ex[f] !== undefined) bad(`spec.expose.${f}`, 'is for host routing: expose.type port takes expose.port only');
    }
  }
  if (exposeType !== ExposeType.PORT && ex.port !== undefined) bad('spec.expose.port', `is only used when expose.type is port, not ${exposeType}`);
  if (exposeType === ExposeType.SUBDOMAIN && ex.domain) bad('spec.expose.domain', 'expose.type subdomain routes <subdomain>.<subDomainHost>: give either domain or subdomain');
  if (exposeType === ExposeType.DOMAIN && ex.subdomain) bad('spec.expose.subdomain', 'expose.type domain routes expose.domain: give either domain or subdomain');
  if (ex.gateway) {
    if (ex.ingressClassName !== undefined || ex.ingressTlsSecret !== undefined) {
      bad(ex.ingressClassName !== undefined ? 'spec.expose.ingressClassName' : 'spec.expose.ingressTlsSecret', 'is for an Ingress; with expose.gateway the Gateway\'s listener decides the class and TLS');
    }
    if (ex.serviceType !== undefined && ex.serviceType !== ExposeServiceType.CLUSTER_IP) {
      bad('spec.expose.serviceType', `is ${ex.serviceType}, but with expose.gateway the Gateway is the entry point: the route's backend Service stays ClusterIP`);
    }
  }
  const outsideFacing = exposeType === ExposeType.PORT && !ex.gateway
    && (ex.serviceType ?? ExposeServiceType.CLUSTER_IP) !== ExposeServiceType.CLUSTER_IP;
  if (ex.externalTrafficPolicy !== undefined && !outsideFacing) {
    bad('spec.expose.externalTrafficPolicy', 'applies to a port exposure whose serviceType is NodePort or LoadBalancer (Kubernetes refuses it on a ClusterIP Service; an Ingress or Gateway has its own Service)');
  }
  return {
    type: exposeType,
    domain: ex.domain,
    subdomain: ex.subdomain,
    path: ex.path,
    port: ex.port,
    // frps runs as non-root: low external ports map to 10000+port on frps.
    remotePort: ex.port === undefined ? undefined : ex.port < 1024 ? 10000 + ex.port : ex.port,
    serviceType: ex.serviceType ?? ExposeServiceType.CLUSTER_IP,
    externalTrafficPolicy: ex.externalTrafficPolicy,
    ingressClassName: ex.ingressClassName,
    ingressTlsSecret: ex.ingressTlsSecret,
    gateway: ex.gateway,
  };
}

/** The frp proxy type and the load-balancing group every member joins. */
function planProxy(
  spec: DistributedServiceSpec, ctx: PlanContext, exposeType: ExposeType, problems: SpecProblems,
): { proxyType: FrpProxyType; group?: string } {
  const type = spec.serviceType;
  const proxyType = type === ServiceProtocol.HTTP && exposeType !== ExposeType.PORT ? FrpProxyType.HTTP
    : type === ServiceProtocol.UDP ? FrpProxyType.UDP : FrpProxyType.TCP;
  const group = proxyType === FrpProxyType.UDP ? undefined : `${ctx.groupPrefix ? `${ctx.groupPrefix}-` : ''}${ctx.name}`;
  // frp has no udp groups: a second frpc opening the same remote port is refused
  // for ever, so a udp service runs exactly one frpc (Kubernetes restarts it)
  if (proxyType === FrpProxyType.UDP && (spec.backends.replicas ?? 1) > 1) {
    problems.bad('spec.backends.replicas', `frp has no udp load-balancing groups, so only one frpc can open the remote port; a udp service runs one frpc (Kubernetes restarts it), got ${spec.backends.replicas}. Spread over backends with backends.endpoints (the nginx balancer) or a Service`);
  }
  return { proxyType, group };
}

/** The health check as the spec asks it, with the seed's defaults. */
interface HealthCheckAsAsked extends PlannedBalancerHealthCheck {
  readonly enabled: boolean;
  /** frp's form of it, aimed at one backend (where it lands is decided with the backends). */
  readonly frpCheck?: FrpHealthCheck;
}

/** The health check (seed defaulting webhook: http for http services, tcp otherwise). */
function planHealthCheckAsAsked(spec: DistributedServiceSpec, proxyType: FrpProxyType, where: string, problems: SpecProblems): HealthCheckAsAsked {
  const type = spec.serviceType;
  const hc = spec.loadBalancing?.healthCheck ?? {};
  const enabled = hc.enabled ?? true;
  const hcType = hc.type ?? (type === ServiceProtocol.HTTP ? HealthCheckType.HTTP : HealthCheckType.TCP);
  if (type === ServiceProtocol.UDP && hc.type !== undefined && hcType !== HealthCheckType.TCP) {
    problems.bad('spec.loadBalancing.healthCheck.type', `a udp service cannot be checked with ${hcType}`);
  }
  const interval = durationSeconds(where, 'spec.loadBalancing.healthCheck.interval', hc.interval ?? '10s', 'sm', MAX_SECONDS.frpTimer);
  const timeout = durationSeconds(where, 'spec.loadBalancing.healthCheck.timeout', hc.timeout ?? '3s', 'sm', MAX_SECONDS.frpTimer);
  if (timeout > interval) problems.bad('spec.loadBalancing.healthCheck.timeout', `must not be longer than the interval (${hc.interval ?? '10s'}), got ${hc.timeout}`);
  const path = hc.path ?? DEFAULT_HEALTH_PATH;
  const fall = hc.failureThreshold ?? 3;
  const rise = hc.successThreshold ?? 1;
  // The check as the spec asks it, aimed at one backend. frp checks only tcp or
  // http: https and grpc backends get a tcp check in frp (the balancer tier checks
  // them properly). UDP backends cannot be checked by frp. Where frp's check lands
  // is decided with the backends (planHealthCheckLanding).
  const frpCheck: FrpHealthCheck | undefined = !enabled || proxyType === FrpProxyType.UDP ? undefined : {
    type: hcType === HealthCheckType.HTTP ? HealthCheckType.HTTP : HealthCheckType.TCP,
    path: hcType === HealthCheckType.HTTP ? path : undefined,
    intervalSeconds: interval,
    timeoutSeconds: timeout,
    maxFailed: fall,
  };
  return { enabled, type: hcType, path, intervalSeconds: interval, timeoutSeconds: timeout, rise, fall, frpCheck };
}

/** End-user authentication and authorization, as the spec asks them. */
interface EndUserAccess {
  readonly authType: AuthenticationType;
  readonly tokenSecret?: string;
  /** The rules in force (none unless authorization is enabled). */
  readonly rules: AuthorizationRule[];
}

/** End-user authentication and authorization (the balancer tier enforces them; http only). */
function planEndUserAccess(spec: DistributedServiceSpec, problems: SpecProblems): EndUserAccess {
  const bad = problems.bad.bind(problems);
  const type = spec.serviceType;
  const isHttp = type === ServiceProtocol.HTTP;
  const sec = spec.security ?? {};
  const authn = sec.authentication ?? {};
  const authType = authn.type ?? AuthenticationType.NONE;
  if (authType !== AuthenticationType.NONE && !authn.tokenSecret) bad('spec.security.authentication.tokenSecret', `is required for authentication type ${authType} (the Secret with the ${authType === AuthenticationType.OAUTH2 ? 'JWT public key' : 'accepted keys'})`);
  if (authType === AuthenticationType.NONE && authn.tokenSecret) bad('spec.security.authentication.type', 'tokenSecret is set but type is none: choose token, oauth2 or apikey');
  const authz = sec.authorization ?? {};
  const rules = authz.enabled ? (authz.rules ?? []) : [];
  if (authz.enabled && rules.length === 0) bad('spec.security.authorization.rules', 'authorization is enabled but has no rules (every request would be refused)');
  if (authz.enabled && !isHttp) bad('spec.security.authorization.enabled', `rules on paths and methods need an http service, not ${type}`);
  if (authType !== AuthenticationType.NONE && !isHttp) bad('spec.security.authentication.type', `end-user ${authType} authentication needs an http service, not ${type}`);
  if (rules.some(r => (r.roles ?? []).length > 0) && authType !== AuthenticationType.OAUTH2) {
    bad('spec.security.authorization.rules', 'rules with roles need authentication type oauth2 (roles come from the JWT)');
  }
  return { authType, tokenSecret: authn.tokenSecret, rules };
}

/** mTLS between frpc and frps (seed defaulting webhook: mode auto). */
function planMtls(spec: DistributedServiceSpec, problems: SpecProblems): PlannedMtls | undefined {
  const bad = problems.bad.bind(problems);
  const m = spec.security?.mtls ?? {};
  if (!m.enabled) {
    if (m.mode !== undefined || m.caSecret || m.certSecret || m.serverCertSecret || m.issuerName) {
      bad('spec.security.mtls.enabled', 'mTLS settings are given but mtls.enabled is not true');
    }
    return undefined;
  }
  const mode = m.mode ?? MtlsMode.AUTO; // seed defaulting webhook
  if (mode === MtlsMode.MANUAL && !m.caSecret) bad('spec.security.mtls.caSecret', 'manual mTLS requires caSecret (the Secret with ca.crt)');
  if (mode === MtlsMode.MANUAL && !m.certSecret) bad('spec.security.mtls.certSecret', 'manual mTLS requires certSecret (the Secret with the client tls.crt and tls.key)');
  const external = mode === MtlsMode.EXTERNAL;
  if (external && !m.caSecret && !m.issuerName) bad('spec.security.mtls.caSecret', 'external mTLS requires caSecret (the Secret with the external CA\'s tls.crt and tls.key, from which cert-manager issues the certificates)');
  if (external && m.caSecret && m.issuerName) bad('spec.security.mtls.issuerName', 'external mTLS takes the CA as caSecret or an issuer as issuerName, not both');
  if (external && m.issuerName && m.certSecret) bad('spec.security.mtls.certSecret', 'is used with caSecret; issuerName issues frpc\'s certificate itself');
  if (mode === MtlsMode.AUTO && (m.caSecret || m.certSecret)) bad(m.caSecret ? 'spec.security.mtls.caSecret' : 'spec.security.mtls.certSecret', 'is for mode manual or external, not auto');
  if (mode !== MtlsMode.MANUAL && m.serverCertSecret) bad('spec.security.mtls.serverCertSecret', `is for mode manual, not ${mode}`);
  if (!external && m.issuerName) bad('spec.security.mtls.issuerName', `is for mode external, not ${mode}`);
  const rot = m.certRotation ?? {};
  return {
    mode,
    caSecret: m.caSecret,
    certSecret: m.certSecret,
    serverCertSecret: m.serverCertSecret,
    rotation: rot.enabled ?? true,
    renewBefore: rot.beforeExpiry ?? '7d',
    issuerName: m.issuerName,
    issuerKind: m.issuerKind ?? IssuerKind.CLUSTER_ISSUER,
  };
}

/** The seed webhook: discovery and endpoints are exclusive (the schema's oneOf checked it); endpoints are not empty. */
function checkEndpointsListed(spec: DistributedServiceSpec, problems: SpecProblems): void {
  const eps = spec.backends.endpoints;
  if (eps !== undefined && eps.length === 0) problems.bad('spec.backends.endpoints', 'must list at least one endpoint');
}

/** The balancer tier: only when the spec asks for what frp cannot do. */
function planBalancer(
  spec: DistributedServiceSpec, check: HealthCheckAsAsked, access: EndUserAccess, where: string, problems: SpecProblems,
): PlannedBalancer | undefined {
  const type = spec.serviceType;
  const lb = spec.loadBalancing ?? {};
  const adv = spec.advanced ?? {};
  const eps = spec.backends.endpoints;
  const algorithm = lb.algorithm ?? LoadBalancingAlgorithm.RANDOM;
  const affinity = lb.sessionAffinity?.enabled ? {
    timeoutSeconds: durationSeconds(where, 'spec.loadBalancing.sessionAffinity.timeout', lb.sessionAffinity.timeout ?? '1h', 'smh', MAX_SECONDS.day),
    cookieName: lb.sessionAffinity.cookieName ?? 'frp-session',
  } : undefined;
  const reasons: string[] = [];
  if (algorithm === LoadBalancingAlgorithm.LEAST_CONN || algorithm === LoadBalancingAlgorithm.IP_HASH) reasons.push(`algorithm ${algorithm}`);
  if (affinity) reasons.push('session affinity');
  if (access.authType !== AuthenticationType.NONE) reasons.push(`${access.authType} authentication`);
  if (access.rules.length > 0) reasons.push('authorization rules');
  const explicitRetry = adv.retry !== undefined && adv.retry.enabled !== false;
  if (explicitRetry && reasons.length === 0 && type !== ServiceProtocol.UDP) reasons.push('retries');
  const udpSpread = type === ServiceProtocol.UDP && eps !== undefined && eps.reduce((n, e) => n + (e.weight ?? 1), 0) > 1;
  if (udpSpread) reasons.push('udp over several endpoints (frp has no udp groups)');
  if (type === ServiceProtocol.UDP && reasons.length > 0 && eps === undefined) {
    problems.bad('spec.loadBalancing', `a udp service with discovered backends is spread by its Kubernetes Service (kube-proxy) only; ${reasons.join(', ')} needs backends.endpoints`);
  }
  if (reasons.length === 0) return undefined;
  const retry = adv.retry ?? {};
  const { enabled: _enabled, frpCheck: _frpCheck, ...balancerCheck } = check;
  return {
    reasons,
    mode: type === ServiceProtocol.UDP ? 'udp' : type === ServiceProtocol.HTTP ? 'http' : 'tcp',
    algorithm,
    affinity,
    healthCheck: check.enabled && type !== ServiceProtocol.UDP ? balancerCheck : undefined,
    authentication: access.authType === AuthenticationType.NONE ? undefined : { type: access.authType, secretName: access.tokenSecret! },
    rules: access.rules,
    retry: retry.enabled === false ? undefined : { attempts: retry.maxAttempts ?? 3, backoff: retry.backoff ?? RetryBackoff.EXPONENTIAL },
    idleTimeoutSeconds: durationSeconds(where, 'spec.advanced.connectionPool.idleTimeout', adv.connectionPool?.idleTimeout ?? '90s', 'sm', MAX_SECONDS.day),
    connectTimeoutSeconds: durationSeconds(where, 'spec.advanced.timeout.dial', adv.timeout?.dial ?? '10s', 'sm', MAX_SECONDS.frpTimer),
  };
}

/** Where frpc (or the balancer) finds the backends, and the group members every frpc pod opens. */
interface PlannedTargets {
  readonly backends: PlannedBackends;
  readonly members: PlannedMember[];
  /** Whether frpc runs as a sidecar of the handed-over workload (one member per backend pod). */
  readonly sidecar: boolean;
  /** Synth-time warnings about the backends. */
  readonly warnings?: string[];
}

/** The members and their backend targets. */
function planMembers(
  spec: DistributedServiceSpec, ctx: PlanContext, balancer: PlannedBalancer | undefined, udp: boolean, problems: SpecProblems,
): PlannedTargets {
  const eps = spec.backends.endpoints;
  return eps ? planEndpointMembers(eps, ctx, balancer, problems) : planDiscoveredMembers(spec, ctx, balancer, udp, problems);
}

/** Backends listed by hand: one member per endpoint and weight unit, or one member in front of the balancer. */
function planEndpointMembers(
  eps: BackendEndpoint[], ctx: PlanContext, balancer: PlannedBalancer | undefined, problems: SpecProblems,
): PlannedTargets {
  const backends: PlannedBackends = { kind: 'endpoints', endpoints: eps };
  if (balancer) {
    return { backends, members: [{ proxyName: ctx.name, localPort: 0 /* set to the balancer's port by the construct */ }], sidecar: false };
  }
  const members: PlannedMember[] = [];
  eps.forEach((e, i) => {
    if (!e.host || /\s/.test(e.host)) problems.bad(`spec.backends.endpoints[${i}].host`, `must be a host name or IP, got ${JSON.stringify(e.host)}`);
    // weight n = n members: exact under http round robin, proportional for tcp
    const weight = e.weight ?? 1;
    for (let k = 0; k < weight; k++) {
      members.push({
        proxyName: weight === 1 ? `${ctx.name}-${i}` : `${ctx.name}-${i}-${k}`,
        localIP: e.host,
        localPort: e.port,
        metadatas: e.metadata,
      });
    }
  });
  if (members.length > MAX_MEMBERS) problems.bad('spec.backends.endpoints', `endpoints times weights give ${members.length} group members per frpc pod; at most ${MAX_MEMBERS} (lower the weights)`);
  return { backends, members, sidecar: false };
}

/** Discovered backends (a handed-over workload, a selector or a DNS name): one member per frpc pod. */
function planDiscoveredMembers(
  spec: DistributedServiceSpec, ctx: PlanContext, balancer: PlannedBalancer | undefined, udp: boolean, problems: SpecProblems,
): PlannedTargets {
  const d = spec.backends.discovery!;
  const mode = d.mode ?? DiscoveryMode.AUTO;
  const port = d.port ?? (mode === DiscoveryMode.AUTO ? ctx.workloadPort : undefined);
  if (mode === DiscoveryMode.SELECTOR && !hasSelector(d.selector)) problems.bad('spec.backends.discovery.selector', 'mode selector needs matchLabels or matchExpressions');
  if (mode !== DiscoveryMode.SELECTOR && d.selector) problems.bad('spec.backends.discovery.selector', `is only used with mode selector, not ${mode}`);
  if (mode !== DiscoveryMode.DNS && d.serviceName) problems.bad('spec.backends.discovery.serviceName', `is only used with mode dns, not ${mode}`);
  if (port === undefined) {
    return problems.fail('spec.backends.discovery.port', mode === DiscoveryMode.AUTO && ctx.hasWorkload
      ? 'is required: the workload has no container port to take it from'
      : 'is required (the backend port, 1-65535)');
  }
  const members = [{ proxyName: ctx.name, localPort: port }];
  const maxBackends = d.maxBackends ?? DEFAULT_MAX_BACKENDS;
  if (mode === DiscoveryMode.AUTO && ctx.hasWorkload) {
    // without a balancer frpc joins the workload's pods (one member per pod);
    // with one, frpc forwards to the balancer, which resolves the pods
    // (never for udp: every backend pod's frpc would claim the one remote port)
    const sidecar = !balancer && !udp;
    if (sidecar && spec.backends.replicas !== undefined) {
      problems.bad('spec.backends.replicas', 'frpc runs as a sidecar of the workload (one member per backend pod): scale the workload instead');
    }
    const warnings = balancer && ctx.workloadReplicas !== undefined && ctx.workloadReplicas > maxBackends
      ? [`spec.backends.discovery.maxBackends: the workload has ${ctx.workloadReplicas} replicas, but the balancer spreads over at most ${maxBackends} pods `
        + `(its HAProxy server slots); the other ${ctx.workloadReplicas - maxBackends} get no traffic from it: raise maxBackends to at least ${ctx.workloadReplicas} (at most ${MAX_DISCOVERED_BACKENDS})`]
      : [];
    return { backends: { kind: 'workload', port, maxBackends }, members, sidecar, warnings };
  }
  if (mode === DiscoveryMode.DNS) {
    // not <name>: a port exposure creates a Service of that name (pointing at frps)
    return { backends: { kind: 'dns', serviceName: d.serviceName ?? `${ctx.name}-backends`, namespace: d.namespace, port, maxBackends }, members, sidecar: false };
  }
  // selector, or auto without a handed-over workload (from a manifest):
  // pods labelled app.kubernetes.io/name=<name>, as documented.
  const selector = mode === DiscoveryMode.SELECTOR ? d.selector! : { matchLabels: { 'app.kubernetes.io/name': ctx.name } };
  return { backends: { kind: 'selector', selector, namespace: d.namespace, port, headless: !!balancer, maxBackends }, members, sidecar: false };
}

/** frp's health checks and their warnings, once it is known where frpc's localIP points. */
interface PlannedHealthChecks {
  readonly healthCheck?: FrpHealthCheck;
  readonly backendHealthCheck?: FrpHealthCheck;
  readonly backendHealthCheckWarnings: string[];
  readonly warnings: string[];
}

/** Where frp's health check lands (issue 9 defect 7): see planHealthCheck. */
function planHealthCheckLanding(
  spec: DistributedServiceSpec, frpCheck: FrpHealthCheck | undefined, balancer: PlannedBalancer | undefined,
  backends: PlannedBackends, sidecar: boolean,
): PlannedHealthChecks {
  const hc = spec.loadBalancing?.healthCheck ?? {};
  const target: Omit<HealthCheckTarget, 'target'> = {
    backends: backends.kind,
    explicit: hc.type !== undefined || hc.path !== undefined,
    defaultPath: hc.path === undefined,
    balancerHttpCheck: balancer?.healthCheck?.type === HealthCheckType.HTTP || balancer?.healthCheck?.type === HealthCheckType.HTTPS,
  };
  const { healthCheck, warnings } = planHealthCheck(frpCheck, {
    ...target,
    target: balancer ? 'balancer' : backends.kind === 'endpoints' || sidecar ? 'backend' : 'service',
  });
  return {
    healthCheck,
    backendHealthCheck: frpCheck,
    backendHealthCheckWarnings: planHealthCheck(frpCheck, { ...target, target: 'backend' }).warnings,
    warnings,
  };
}

/** A bandwidth mode needs a limit. */
function checkBandwidth(spec: DistributedServiceSpec, problems: SpecProblems): void {
  const bw = spec.advanced?.bandwidth ?? {};
  if (bw.mode !== undefined && bw.limit === undefined) problems.bad('spec.advanced.bandwidth.limit', 'is required when bandwidth.mode is set');
}

/** The frpc↔frps connection: work connection pool, keepalive, the response timeout, bandwidth. */
function planConnection(spec: DistributedServiceSpec, where: string) {
  const adv = spec.advanced ?? {};
  const conn = adv.connectionPool ?? {};
  const bw = adv.bandwidth ?? {};
  const keepAliveSeconds = durationSeconds(where, 'spec.advanced.timeout.keepAlive', adv.timeout?.keepAlive ?? '30s', 'sm', MAX_SECONDS.day);
  const poolEnabled = conn.enabled ?? true;
  return {
    poolCount: poolEnabled ? conn.size ?? 5 : undefined,
    keepAliveSeconds,
    responseTimeoutSeconds: Math.max(keepAliveSeconds, durationSeconds(where, 'spec.advanced.connectionPool.idleTimeout', conn.idleTimeout ?? '90s', 'sm', MAX_SECONDS.day)),
    bandwidth: bw.limit ? Bandwidth.parse(bw.limit, 'spec.advanced.bandwidth.limit') : undefined,
    bandwidthMode: bw.limit ? bw.mode ?? BandwidthMode.CLIENT : undefined,
  };
}

/** What decides where frp's health check lands. @internal */
export interface HealthCheckTarget {
  /**
   * What frpc's localIP is: one `backend` (an endpoint, or the pod's own
   * backend for a sidecar), the `balancer` tier, or a `service` address (a
   * Service VIP or DNS name in front of several pods).
   */
  readonly target: 'backend' | 'balancer' | 'service';
  /** How the backends are found (named in messages). */
  readonly backends: PlannedBackends['kind'];
  /** Whether the spec itself names the check's type or path (the check is then not only the seed's default). */
  readonly explicit: boolean;
  /** Whether the check's path is the default one (no healthCheck.path). */
  readonly defaultPath: boolean;
  /** Whether the balancer tier checks its backends over http (on the path). */
  readonly balancerHttpCheck: boolean;
}

/**
 * frp's health check for the in-cluster members, and the warnings it needs
 * (issue 9 defect 7). frp checks `localIP:localPort` from each member and a
 * failing member leaves the group; frp v0.70.1 never resets its failure count
 * (client/health/health.go: `failedTimes` only counts up), so after
 * `maxFailed` failures in a member's life every further failure drops it.
 *
 * - one backend: the spec's check (http on its path, else tcp): it means
 *   "this backend is healthy".
 * - the balancer: tcp (is a balancer replica up); the balancer checks the
 *   backends itself, and an http check would meet its end-user auth.
 * - a Service address (selector or dns discovery without the balancer):
 *   every member would probe whichever pod the Service picks, so one bad pod
 *   makes random members fail, and with the never-reset count they leave the
 *   group together. There frp checks tcp only, which means "this member
 *   reaches a ready endpoint of the Service"; per-pod health is the pods'
 *   readiness probes' job (Kubernetes takes an unready pod out of the Service).
 *
 * The seed's defaulting (http on `/health` for http services) is kept; where
 * an http check really runs on that default path, a warning says that a
 * backend without it never joins (frp) or is marked down (balancer).
 * @internal
 */
export function planHealthCheck(check: FrpHealthCheck | undefined, t: HealthCheckTarget): { healthCheck?: FrpHealthCheck; warnings: string[] } {
  const warnings: string[] = [];
  const fix = 'set healthCheck.path to the backend\'s health path, or healthCheck.type tcp, or healthCheck.enabled false';
  if (!check) return { warnings };
  const tcp: FrpHealthCheck = { ...check, type: HealthCheckType.TCP, path: undefined };
  switch (t.target) {
    case 'backend':
      if (check.type === HealthCheckType.HTTP && t.defaultPath) {
        warnings.push(`spec.loadBalancing.healthCheck.path: not set, so frpc checks every backend with GET ${DEFAULT_HEALTH_PATH} (the specification's default); a backend without that path never passes, and its group member never joins, with no error anywhere but the frpc log: ${fix}`);
      }
      return { healthCheck: check, warnings };
    case 'balancer':
      if (t.balancerHttpCheck && t.defaultPath) {
        warnings.push(`spec.loadBalancing.healthCheck.path: not set, so the balancer checks every backend with GET ${DEFAULT_HEALTH_PATH} (the specification's default); HAProxy marks a backend without that path down, and with none up the service answers 503: ${fix}`);
      }
      return { healthCheck: tcp, warnings };
    case 'service':
      if (check.type === HealthCheckType.HTTP && t.explicit) {
        warnings.push(`spec.loadBalancing.healthCheck: with ${t.backends} discovery frpc reaches the backends through a Service address, where an http check would probe whichever pod the Service picks (and frp never resets its failure count, so members would leave the group together); frp checks tcp there (this member reaches a ready endpoint), and per-pod health is the pods' readiness probe's job. An http check per pod needs the balancer tier or discovery auto with a workload (frpc as a sidecar)`);
      }
      return { healthCheck: tcp, warnings };
  }
}

function hasSelector(s: LabelSelector | undefined): boolean {
  return !!s && (Object.keys(s.matchLabels ?? {}).length > 0 || (s.matchExpressions ?? []).length > 0);
}
