import { ApiObject, ApiObjectMetadata, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { BALANCER_PORT, BalancerBackends, haproxyServiceFor, haproxyTimeoutsFor, nginxUdpServiceFor } from './balancer-config';
import { planService, ServicePlan } from './plan';
import { SPEC_SCHEMA } from './schema';
import { BandwidthMode, DistributedServiceSpec, ExposeType, MtlsMode } from './spec';
import { validateAgainstSchema } from './validate-schema';
import * as gateway from '../../imports/gateway.networking.k8s.io';
import { HaproxyBalancer } from '../balancer/haproxy-balancer';
import { UdpBalancer } from '../balancer/udp-balancer';
import { FrpClientPool, FrpClientTlsOptions, FrpClientWorkload } from '../client/frp-client-pool';
import { invalid } from '../frp/errors';
import { BandwidthLimitMode, FrpProxy, FrpProxyType, ProxyProtocolVersion } from '../frp/proxy';
import { FrpAuth } from '../frp-auth';
import { FrpMonitoringOptions } from '../monitoring/frp-monitoring';
import { NetworkPeer } from '../network/network-peer';
import { FrpServer, FrpServerTlsOptions } from '../server/frp-server';
import { CertificateAuthority, ICertificateAuthority } from '../tls/certificate-authority';
import { CertificateDuration } from '../tls/duration';
import { CertificateRotation } from '../tls/rotation';

/** Properties of a DistributedService: the seed spec plus where it runs. */
export interface DistributedServiceProps extends DistributedServiceSpec {
  /**
   * The service's name (metadata.name): names the group, the exposed Service and the Ingress.
   * @default - the construct id
   */
  readonly name?: string;
  /**
   * A shared FrpServer (several services on one frps). Ports, domains and
   * paths that collide with other services are errors.
   * @default - a new FrpServer owned by this service (then `auth` is required)
   */
  readonly server?: FrpServer;
  /**
   * frpc↔frps authentication for the server this service creates.
   * @default - the shared server's auth
   */
  readonly auth?: FrpAuth;
  /**
   * Base domain for subdomain exposures, on the server this service creates.
   * @default - none
   */
  readonly subDomainHost?: string;
  /**
   * Cluster DNS domain, for the balancer tier's per-pod DNS discovery.
   * @default "cluster.local"
   */
  readonly clusterDomain?: string;
  /**
   * Monitoring for the server this service creates (ServiceMonitor, alerts,
   * dashboard). The alert for missing group members expects this service's
   * members. For a shared server, set `monitoring` on the FrpServer instead.
   * @default - no monitoring objects
   */
  readonly monitoring?: FrpMonitoringOptions;
  /**
   * Secret with the load-balancing group key (`group-key`).
   * @default - no group key (frp auth still keeps unknown clients out)
   */
  readonly groupKeySecret?: kplus.ISecret;
}

/** Settings for a DistributedService made from a manifest (which carries only the spec). */
export interface DistributedServiceManifestOptions {
  /**
   * A shared FrpServer.
   * @default - the service creates its own (then `auth` is required)
   */
  readonly server?: FrpServer;
  /**
   * frpc↔frps authentication for a server the service creates.
   * @default - the shared server's
   */
  readonly auth?: FrpAuth;
  /**
   * Base domain for subdomain exposures on a server the service creates.
   * @default - none
   */
  readonly subDomainHost?: string;
  /**
   * Secret with the load-balancing group key.
   * @default - none
   */
  readonly groupKeySecret?: kplus.ISecret;
}

/** The API version and kind of DistributedService manifests. */
export const DISTRIBUTED_SERVICE_API_VERSION = 'frp.io/v1beta1';

/**
 * The user's DistributedService in, a complete bundle out: frps (or a shared
 * one), frpc members joining one load-balancing group, the Service or Ingress
 * that exposes it, and — only when the spec asks for what frp cannot do — a
 * balancer tier. The spec is checked against the seed schema, the seed's
 * webhook rules and frp's rules before anything is created.
 */
export class DistributedService extends Construct {
  /**
   * A DistributedService from a `frp.io/v1beta1` DistributedService object (for
   * example parsed from YAML). `status` is ignored; `metadata.namespace`, when
   * set, must be the chart's namespace.
   * @param scope parent construct
   * @param id construct id
   * @param manifest the object
   * @param options what the manifest does not say
   */
  public static fromManifest(scope: Construct, id: string, manifest: any, options: DistributedServiceManifestOptions = {}): DistributedService {
    const where = `${scope.node.path ? `${scope.node.path}/` : ''}${id}`;
    if (manifest === null || typeof manifest !== 'object' || Array.isArray(manifest)) invalid(where, 'manifest', 'must be an object');
    if (manifest.apiVersion !== DISTRIBUTED_SERVICE_API_VERSION || manifest.kind !== 'DistributedService') {
      invalid(where, 'apiVersion/kind', `must be ${DISTRIBUTED_SERVICE_API_VERSION} DistributedService, got ${JSON.stringify(manifest.apiVersion)} ${JSON.stringify(manifest.kind)}`);
    }
    for (const k of Object.keys(manifest)) {
      if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k)) invalid(where, k, 'is not a field of a DistributedService (apiVersion, kind, metadata, spec, status)');
    }
    const md = manifest.metadata;
    if (md === null || typeof md !== 'object' || typeof md.name !== 'string') invalid(where, 'metadata.name', 'is required');
    const chartNs = Chart.of(scope).namespace;
    if (md.namespace !== undefined && md.namespace !== chartNs) {
      invalid(where, 'metadata.namespace', `is ${JSON.stringify(md.namespace)} but the chart's namespace is ${JSON.stringify(chartNs)}`);
    }
    if (manifest.spec === null || typeof manifest.spec !== 'object' || Array.isArray(manifest.spec)) invalid(where, 'spec', 'is required (an object)');
    // before spreading: only schema fields may reach the props
    validateAgainstSchema(where, 'spec', manifest.spec, SPEC_SCHEMA);
    return new DistributedService(scope, id, { ...options, ...manifest.spec, name: md.name });
  }

  /** The service's name. */
  public readonly name: string;
  /** What was decided for this spec. @internal */
  public readonly _plan: ServicePlan;
  /** The frps this service is attached to. */
  public readonly server: FrpServer;
  /** The frpc pool (its own Deployment, or a sidecar in the backend workload). */
  public readonly clientPool: FrpClientPool;
  /** The Service exposing a port exposure. */
  public readonly exposedService?: kplus.Service;
  /** The Ingress of a domain/subdomain/path exposure (without expose.gateway). */
  public readonly ingress?: kplus.Ingress;
  /**
   * The Gateway API route attaching the service to expose.gateway: an
   * HTTPRoute (domain, subdomain, path), a TCPRoute (tcp, grpc port) or a
   * UDPRoute (udp port).
   */
  public readonly route?: ApiObject;
  /** The Service in front of selected backend pods (discovery selector, or the workload behind a balancer). */
  public readonly backendService?: kplus.Service;
  /** The HAProxy balancer tier, when the spec needs one. */
  public readonly balancer?: HaproxyBalancer;
  /** The nginx UDP balancer, for a udp service over several endpoints. */
  public readonly udpBalancer?: UdpBalancer;

  constructor(scope: Construct, id: string, props: DistributedServiceProps) {
    super(scope, id);
    const where = this.node.path;
    if (!props || typeof props !== 'object') invalid(where, 'props', 'are required');
    const { name, server, auth, subDomainHost, groupKeySecret, monitoring, clusterDomain, ...specProps } = props;
    const workload = specProps.backends?.discovery?.workload;
    const spec = stripWorkload(specProps);
    validateAgainstSchema(where, 'spec', spec, SPEC_SCHEMA);
    if (server && (auth || subDomainHost || monitoring)) invalid(where, auth ? 'auth' : subDomainHost ? 'subDomainHost' : 'monitoring', 'is set on the shared server, not on a service that uses it');
    if (!server && !auth) invalid(where, 'auth', 'is required when the service creates its own FrpServer (FrpAuth.token(secret)); or pass a shared server');

    this.name = name ?? id;
    // Objects near the backends (frpc, balancer, backend Service) live in this
    // chart's namespace; objects in front of frps in the server's.
    const ns = Chart.of(this).namespace;
    this._plan = planService(spec, {
      where,
      name: this.name,
      groupPrefix: ns,
      hasWorkload: !!workload,
      workloadPort: workload?.containers[0]?.portNumber,
    });
    const plan = this._plan;
    const meta = (extra: ApiObjectMetadata = {}): ApiObjectMetadata => ({ namespace: ns, ...extra, labels: { ...this.labels(), ...extra.labels } });

    // ---- where frpc (or the balancer) finds the backends
    let localIP: string | undefined;
    let localPort: number | undefined;
    let proxyProtocol: ProxyProtocolVersion | undefined;
    const b = plan.backends;
    const fqdn = (svc: string, n?: string) => `${svc}.${n ?? ns ?? 'default'}.svc.${clusterDomain ?? 'cluster.local'}`;
    let dnsTarget: BalancerBackends = { kind: 'endpoints' };
    if (b.kind === 'selector' || (b.kind === 'workload' && plan.balancer)) {
      const backendNs = b.kind === 'selector' ? b.namespace ?? ns : ns;
      this.backendService = new kplus.Service(this, 'Backends', {
        metadata: meta({ namespace: backendNs }),
        // headless when the balancer resolves every pod itself
        clusterIP: plan.balancer ? 'None' : undefined,
        selector: b.kind === 'workload' ? workload : undefined,
        ports: [{ name: 'backend', port: b.port, targetPort: b.port }],
      });
      if (b.kind === 'selector') {
        if ((b.selector.matchExpressions ?? []).length > 0) {
          invalid(where, 'spec.backends.discovery.selector.matchExpressions', 'Kubernetes Services select pods by matchLabels only');
        }
        for (const [k, v] of Object.entries(b.selector.matchLabels ?? {})) this.backendService.selectLabel(k, v);
      }
      localIP = hostOf(this.backendService.name, backendNs);
      dnsTarget = { kind: 'dns', hostname: fqdn(this.backendService.name, backendNs), port: b.port };
    } else if (b.kind === 'dns') {
      if (b.serviceName === this.name && plan.expose.type === ExposeType.PORT && (b.namespace ?? ns) === Chart.of(server ?? this).namespace) {
        invalid(where, 'spec.backends.discovery.serviceName', `${b.serviceName} is this service's own exposed Service (it points at frps): name the backends' Service`);
      }
      localIP = hostOf(b.serviceName, b.namespace ?? ns);
      dnsTarget = { kind: 'dns', hostname: fqdn(b.serviceName, b.namespace), port: b.port };
    }

    // ---- the balancer tier, only when the spec asks for what frp cannot do
    if (plan.balancer?.mode === 'udp') {
      this.udpBalancer = new UdpBalancer(this, 'Balancer', {
        config: { services: [nginxUdpServiceFor(plan)] },
        labels: this.labels(),
      });
      localIP = this.udpBalancer.host;
      localPort = BALANCER_PORT;
    } else if (plan.balancer) {
      const endUserAuth = plan.balancer.authentication;
      this.balancer = new HaproxyBalancer(this, 'Balancer', {
        config: { services: [haproxyServiceFor(this, plan, dnsTarget)], timeouts: haproxyTimeoutsFor(plan) },
        authSecret: endUserAuth ? kplus.Secret.fromSecretName(this, 'AuthSecret', endUserAuth.secretName) : undefined,
        labels: this.labels(),
      });
      localIP = this.balancer.host;
      localPort = BALANCER_PORT;
      proxyProtocol = plan.balancer.mode === 'tcp' ? ProxyProtocolVersion.V2 : undefined;
    }

    // ---- mTLS: certificates for frps (when this service creates it) and frpc
    const mtls = plan.mtls;
    let ca: ICertificateAuthority | undefined;
    let clientTls: FrpClientTlsOptions | undefined;
    let serverTls: FrpServerTlsOptions | undefined;
    if (mtls) {
      const f = 'spec.security.mtls';
      const leaf = {
        renewBefore: CertificateDuration.parseSpec(mtls.renewBefore, `${f}.certRotation.beforeExpiry`),
        rotation: mtls.rotation ? CertificateRotation.RELOADER : CertificateRotation.NONE,
      };
      if (mtls.mode === MtlsMode.AUTO) {
        ca = server ? server.certificateAuthority : new CertificateAuthority(this, 'Ca', leaf);
        if (!ca) invalid(where, `${f}.mode`, `auto mTLS on the shared server ${server!.node.path} needs that server to have a certificateAuthority (or use mode manual with its Secrets)`);
      } else if (mtls.mode === MtlsMode.EXTERNAL) {
        ca = CertificateAuthority.fromIssuer(this, 'Ca', { name: mtls.issuerName!, kind: mtls.issuerKind, ...leaf });
      } else {
        const caSecret = kplus.Secret.fromSecretName(this, 'CaSecret', mtls.caSecret!);
        clientTls = { secret: kplus.Secret.fromSecretName(this, 'CertSecret', mtls.certSecret!), caSecret };
        if (!server && mtls.serverCertSecret) {
          serverTls = { secret: kplus.Secret.fromSecretName(this, 'ServerCertSecret', mtls.serverCertSecret), caSecret };
        } else if (!server) {
          // no frps certificate given: issue one from the user's CA (cert-manager CA issuer over caSecret)
          ca = CertificateAuthority.fromCaSecret(this, 'Ca', { caSecretName: mtls.caSecret!, ...leaf });
        }
      }
      if (server && !server.requiresClientCertificates) {
        invalid(where, `${f}.enabled`, `the shared server ${server.node.path} does not require client certificates: configure mTLS on the server (certificateAuthority or tls)`);
      }
    }

    this.server = server ?? new FrpServer(this, 'Server', {
      auth: auth!,
      subDomainHost,
      certificateAuthority: ca,
      tls: serverTls,
      monitoring: monitoring && this.withExpectedMembers({ balancer: this.balancer?.metricsTarget, ...monitoring }),
    });
    if (plan.expose.subdomain && !this.server.subDomainHost) {
      invalid(where, 'spec.expose.subdomain', `needs a server with subDomainHost (set subDomainHost${server ? ` on ${server.node.path}` : ''})`);
    }

    // ---- frpc
    const proxies: FrpProxy[] = plan.members.map(m => ({
      name: m.proxyName,
      type: plan.proxyType,
      localIP: localPort !== undefined ? localIP : m.localIP ?? localIP,
      localPort: localPort ?? m.localPort,
      proxyProtocolVersion: proxyProtocol,
      remotePort: plan.proxyType === FrpProxyType.HTTP ? undefined : plan.expose.remotePort,
      customDomains: plan.proxyType === FrpProxyType.HTTP && plan.expose.domain ? [plan.expose.domain] : undefined,
      subdomain: plan.proxyType === FrpProxyType.HTTP ? plan.expose.subdomain : undefined,
      locations: plan.proxyType === FrpProxyType.HTTP && plan.expose.path ? [plan.expose.path] : undefined,
      group: plan.group,
      healthCheck: plan.healthCheck,
      bandwidthLimit: plan.bandwidth,
      bandwidthLimitMode: plan.bandwidthMode === undefined ? undefined
        : plan.bandwidthMode === BandwidthMode.SERVER ? BandwidthLimitMode.SERVER : BandwidthLimitMode.CLIENT,
      metadatas: m.metadatas,
    }));
    this.clientPool = new FrpClientPool(this, 'Client', {
      server: this.server,
      workload: plan.sidecar ? FrpClientWorkload.sidecar(workload!) : FrpClientWorkload.deployment({ replicas: plan.clientReplicas }),
      poolCount: plan.poolCount,
      dialServerTimeoutSeconds: plan.dialTimeoutSeconds,
      dialServerKeepaliveSeconds: plan.keepAliveSeconds,
      groupKeySecret,
      certificateAuthority: server && ca !== server.certificateAuthority ? ca : undefined,
      tls: clientTls ? { ...clientTls, serverName: this.server.host } : undefined,
      exposeRemotePorts: false,
      labels: this.labels(),
      proxies,
    });

    const frpcPods = NetworkPeer.pods(this.clientPool.workload.toPodSelectorConfig().labelSelector._toKube().matchLabels ?? {}, ns);
    this.balancer?.allowClients(frpcPods);
    this.udpBalancer?.allowClients(frpcPods);

    // ---- exposure, in front of frps
    const serverNs = Chart.of(this.server).namespace;
    const front = (extra: ApiObjectMetadata = {}): ApiObjectMetadata => ({ ...extra, namespace: serverNs, labels: this.labels() });
    const gw = plan.expose.gateway;
    const parentRefs = gw ? [{
      group: 'gateway.networking.k8s.io',
      kind: 'Gateway',
      name: gw.name,
      namespace: gw.namespace,
      sectionName: gw.sectionName,
    }] : [];
    if (plan.expose.type === ExposeType.PORT) {
      const udp = plan.proxyType === FrpProxyType.UDP;
      this.exposedService = new kplus.Service(this, 'Exposed', {
        metadata: front({ name: this.name }),
        // behind a Gateway the Service is the route's backend, cluster-internal
        type: plan.expose.serviceType as string as kplus.ServiceType,
        selector: this.server.deployment,
        ports: [{
          name: udp ? 'udp' : 'tcp',
          port: plan.expose.port!,
          targetPort: plan.expose.remotePort!,
          protocol: udp ? kplus.Protocol.UDP : kplus.Protocol.TCP,
        }],
      });
      if (gw) {
        const routeProps = {
          metadata: front({ name: this.name }),
          spec: { parentRefs, rules: [{ backendRefs: [{ name: this.exposedService.name, port: plan.expose.port! }] }] },
        };
        this.route = udp ? new gateway.UdpRoute(this, 'Route', routeProps) : new gateway.TcpRoute(this, 'Route', routeProps);
      }
    } else {
      const host = plan.expose.domain ?? `${plan.expose.subdomain}.${this.server.subDomainHost}`;
      const backend = { service: this.server.vhostService!, port: this.server.vhostHttpServicePort };
      if (gw) {
        this.route = new gateway.HttpRoute(this, 'Route', {
          metadata: front({ name: this.name }),
          spec: {
            parentRefs,
            hostnames: [host],
            rules: [{
              matches: [{ path: { type: gateway.HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: plan.expose.path ?? '/' } }],
              backendRefs: [{ name: backend.service.name, port: backend.port }],
            }],
          },
        });
      } else {
        this.ingress = new kplus.Ingress(this, 'Ingress', {
          metadata: front({ name: this.name }),
          className: plan.expose.ingressClassName,
        });
        this.ingress.addHostRule(host, plan.expose.path ?? '/', kplus.IngressBackend.fromService(backend.service, { port: backend.port }), kplus.HttpIngressPathType.PREFIX);
        if (plan.expose.ingressTlsSecret) {
          this.ingress.addTls([{ hosts: [host], secret: kplus.Secret.fromSecretName(this, 'IngressTls', plan.expose.ingressTlsSecret) }]);
        }
      }
    }
  }

  /**
   * Monitoring options plus an expectation for this service's group members
   * (every member proxy on every frpc pod; at least one for sidecars, whose pod
   * count the workload decides).
   */
  private withExpectedMembers(monitoring: FrpMonitoringOptions): FrpMonitoringOptions {
    const plan = this._plan;
    const minimum = plan.sidecar ? 1 : plan.members.length * plan.clientReplicas;
    const expectation = {
      proxyType: plan.proxyType,
      // frps names members {user}.{proxy}; proxies of this service are <name> or <name>-<i>[-<k>]
      nameRegex: `(?:[^.]+[.])?${plan.name}(?:-[0-9]+)*`,
      minimum,
    };
    return { ...monitoring, alerts: { ...monitoring.alerts, expectedProxies: [...monitoring.alerts?.expectedProxies ?? [], expectation] } };
  }

  /** Labels on every object of this service. */
  public labels(): { [key: string]: string } {
    return { 'frp.io/distributed-service': this.name };
  }
}

/** The spec without the construct-only `workload` (which is not data). */
function stripWorkload(spec: DistributedServiceSpec): DistributedServiceSpec {
  const d = spec.backends?.discovery;
  if (!d || d.workload === undefined) return spec;
  const { workload: _w, ...discovery } = d;
  return { ...spec, backends: { ...spec.backends, discovery } };
}

function hostOf(service: string, namespace: string | undefined): string {
  return namespace ? `${service}.${namespace}.svc` : service;
}
