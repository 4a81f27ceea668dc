import { ApiObject, ApiObjectMetadata, Chart, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { BALANCER_PORT, BalancerBackends, haproxyServiceFor, haproxyTimeoutsFor, nginxUdpServiceFor } from './balancer-config';
import { isDnsLabel, labelKeyProblem, labelValueProblem } from './field-checks';
import { planService, serviceNameProblem, ServicePlan } from './plan';
import { SPEC_SCHEMA } from './schema';
import { Claim, qualifiedName, ServerClaims } from './server-claims';
import { DistributedServiceSpec, ExposeType, ExternalTrafficPolicy, GatewayReference, LoadBalancingAlgorithm, MtlsMode } from '../spec';
import { fieldPath, schemaProblems, validateAgainstSchema } from './validate-schema';
import * as gateway from '../../imports/gateway.networking.k8s.io';
import { HaproxyBalancer } from '../balancer/haproxy-balancer';
import { UdpBalancer } from '../balancer/udp-balancer';
import { FrpClientPool, FrpClientTlsOptions, FrpClientWorkload } from '../client/frp-client-pool';
import { invalid } from '../frp/errors';
import { FrpProxy, FrpProxyType, ProxyProtocolVersion } from '../frp/proxy';
import { FrpAuth } from '../frp-auth';
import { foreignContainerPort, foreignPodLabels, foreignReplicas, ForeignWorkload, foreignWorkload } from '../k8s/foreign-workload';
import { claimName, derivedName, recommendedLabels, selectPods, serviceHost, setNameOrigin } from '../k8s/names';
import { omitUnstoredDefaults } from '../k8s/pod-defaults';
import { regexEscape } from '../monitoring/_promql';
import { FrpMonitoringOptions } from '../monitoring/frp-monitoring';
import { NetworkPeer } from '../network/network-peer';
import { isExternal, setExternalTrafficPolicy } from '../network/traffic-policy';
import { FrpServer, FrpServerTlsOptions } from '../server/frp-server';
import { SynthWarnings } from '../synth-warnings';
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
   * frps replicas of the server this service creates (HA: every frpc pod runs
   * one frpc per replica; see FrpServerProps.replicas).
   * @default 1
   */
  readonly serverReplicas?: number;
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
   * Secret (in this service's namespace) whose key `group-key` is the
   * load-balancing group key. Without a group key any frpc holding the shared
   * frp token could join this service's group and take a share of its
   * traffic. The bundle only references the Secret; create it yourself, e.g.
   * `kubectl create secret generic <name>-group-key --from-literal=group-key=$(openssl rand -hex 32)`.
   * Any bytes work (frp gets the hex of the value, equal on every member, a
   * trailing newline from `--from-file` included).
   * @default - the Secret `<name>-group-key`
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
   * Secret with the load-balancing group key (key `group-key`).
   * @default - the Secret `<name>-group-key` in the service's namespace
   */
  readonly groupKeySecret?: kplus.ISecret;
  /**
   * Where the manifest comes from (for example `apps.yaml: document 2`), named
   * in messages about clashes with other services on the same server.
   * @default - the construct path only
   */
  readonly source?: string;
}

/** The largest object the API server stores (etcd's request limit leaves 1 MiB for an object). */
const MAX_OBJECT_BYTES = 1024 * 1024;

/** The source of the manifest fromManifest is turning into a construct (constructors take props only). */
let manifestSource: string | undefined;

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
    // everything is checked before the manifest becomes props or a construct id
    const problems = manifestProblems(manifest, Chart.of(scope).namespace);
    if (problems.length > 0) throw new Error(problems.map(p => `${where}: ${p}`).join('\n'));
    const { source, ...rest } = options;
    manifestSource = source;
    try {
      return new DistributedService(scope, id, { ...rest, ...manifest.spec, name: manifest.metadata.name });
    } finally {
      manifestSource = undefined;
    }
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

  /** Where the manifest came from, for messages. */
  private readonly source?: string;

  constructor(scope: Construct, id: string, props: DistributedServiceProps) {
    super(scope, id);
    const where = this.node.path;
    this.source = manifestSource;
    if (!props || typeof props !== 'object') invalid(where, 'props', 'are required');
    const { name, server, auth, subDomainHost, groupKeySecret, monitoring, clusterDomain, serverReplicas, ...specProps } = props;
    const workload = specProps.backends?.discovery?.workload;
    const foreign = workload ? foreignWorkload(where, workload) : undefined;
    const spec = stripWorkload(specProps);
    validateAgainstSchema(where, 'spec', spec, SPEC_SCHEMA);
    if (server && (auth || subDomainHost || monitoring || serverReplicas !== undefined)) {
      invalid(where, auth ? 'auth' : subDomainHost ? 'subDomainHost' : monitoring ? 'monitoring' : 'serverReplicas', 'is set on the shared server, not on a service that uses it');
    }
    if (!server && !auth) invalid(where, 'auth', 'is required when the service creates its own FrpServer (FrpAuth.token(secret)); or pass a shared server');

    this.name = name ?? id;
    // the names of its objects derive from this one: a clash names the user's field of both services
    const namespace = Chart.of(this).namespace;
    setNameOrigin(this, this.source && namespace
      ? { label: `${namespace}/${this.name}`, source: this.source, field: 'metadata.name' }
      : { label: where, field: 'name' });
    // Objects near the backends (frpc, balancer, backend Service) live in this
    // chart's namespace; objects in front of frps in the server's.
    const ns = Chart.of(this).namespace;
    this._plan = planService(spec, {
      where,
      name: this.name,
      groupPrefix: ns,
      hasWorkload: !!workload,
      workloadPort: foreign ? foreignContainerPort(foreign) : undefined,
      workloadReplicas: foreign ? foreignReplicas(foreign) : undefined,
    });
    const plan = this._plan;
    for (const warning of plan.warnings) SynthWarnings.add(this, warning);

    const backends = this.addBackendsService(plan, foreign, server, clusterDomain);
    this.backendService = backends.service;
    const tier = this.addBalancer(plan, backends.dnsTarget);
    this.balancer = tier.haproxy;
    this.udpBalancer = tier.udp;
    const certificates = this.addMtls(plan, server);
    this.server = server ?? new FrpServer(this, 'Server', {
      name: derivedName(this.name, '-frps'),
      labels: this.labels(),
      auth: auth!,
      subDomainHost,
      certificateAuthority: certificates.ca,
      tls: certificates.serverTls,
      replicas: serverReplicas,
      monitoring: monitoring && this.withExpectedMembers({ balancer: this.balancer?.metricsTarget, ...monitoring }),
    });
    if (plan.expose.subdomain && !this.server.subDomainHost) {
      invalid(where, 'spec.expose.subdomain', `needs a server with subDomainHost (set subDomainHost on the ${server ? 'shared FrpServer' : 'service'}; cdk8s-frp render --subdomain-host)`);
    }
    // what this service takes on frps: routes, names next to frps, a port
    const serverNs = Chart.of(this.server).namespace;
    const front = this.claimFront(plan, serverNs, ns);
    this.clientPool = this.addClientPool(plan, front, tier.target ?? { localIP: backends.localIP }, certificates, server, workload, groupKeySecret);
    const frpcPods = NetworkPeer.pods(this.clientPool.podLabels, ns);
    this.balancer?.allowClients(frpcPods);
    this.udpBalancer?.allowClients(frpcPods);
    if (plan.expose.type === ExposeType.PORT) {
      const exposed = this.exposePort(plan, front, serverNs);
      this.exposedService = exposed.service;
      this.route = exposed.route;
    } else {
      const exposed = this.exposeHttp(plan, front, serverNs);
      this.ingress = exposed.ingress;
      this.route = exposed.route;
    }
    this.node.addValidation({ validate: () => this.sizeProblems() });
  }

  /**
   * Where frpc (or the balancer) finds the backends: a Service in front of
   * selected pods (or of the workload behind a balancer), a DNS name, or the
   * endpoints themselves (then the members carry them).
   */
  private addBackendsService(
    plan: ServicePlan, foreign: ForeignWorkload | undefined, server: FrpServer | undefined, clusterDomain: string | undefined,
  ): { service?: kplus.Service; localIP?: string; dnsTarget: BalancerBackends } {
    const where = this.node.path;
    const ns = Chart.of(this).namespace;
    const b = plan.backends;
    const fqdn = (svc: string, n?: string) => `${svc}.${n ?? ns ?? 'default'}.svc.${clusterDomain ?? 'cluster.local'}`;
    if (b.kind === 'selector' || (b.kind === 'workload' && !plan.sidecar)) {
      const backendNs = b.kind === 'selector' ? b.namespace ?? ns : ns;
      const service = new kplus.Service(this, 'Backends', {
        metadata: {
          namespace: backendNs,
          name: claimBackendsName(this, derivedName(this.name, '-backends'), backendNs, backendNs !== ns),
          labels: { ...this.labels(), ...recommendedLabels({ app: this.name, instance: this.name, component: 'backends' }, this.labels()) },
        },
        // headless when the balancer resolves every pod itself
        clusterIP: plan.balancer ? 'None' : undefined,
        ports: [{ name: 'backend', port: b.port, targetPort: b.port, protocol: plan.proxyType === FrpProxyType.UDP ? kplus.Protocol.UDP : undefined }],
      });
      omitUnstoredDefaults(service);
      if (b.kind === 'workload') selectPods(service, foreignPodLabels(foreign!));
      if (b.kind === 'selector') {
        if ((b.selector.matchExpressions ?? []).length > 0) {
          invalid(where, 'spec.backends.discovery.selector.matchExpressions', 'Kubernetes Services select pods by matchLabels only');
        }
        const matchLabels = b.selector.matchLabels ?? {};
        if (own(matchLabels, 'constructor')) {
          // cdk8s cannot render a map with a key named "constructor": set the selector after rendering
          ApiObject.of(service).addJsonPatch(JsonPatch.add('/spec/selector', { ...matchLabels }));
        } else {
          for (const [k, v] of Object.entries(matchLabels)) service.selectLabel(k, v);
        }
      }
      const dnsTarget: BalancerBackends = { kind: 'dns', hostname: fqdn(service.name, backendNs), port: b.port, maxBackends: b.maxBackends };
      return { service, localIP: serviceHost(service.name, backendNs), dnsTarget };
    }
    if (b.kind === 'dns') {
      if (b.serviceName === this.name && plan.expose.type === ExposeType.PORT && (b.namespace ?? ns) === Chart.of(server ?? this).namespace) {
        invalid(where, 'spec.backends.discovery.serviceName', `${b.serviceName} is this service's own exposed Service (it points at frps): name the backends' Service`);
      }
      const dnsTarget: BalancerBackends = { kind: 'dns', hostname: fqdn(b.serviceName, b.namespace), port: b.port, maxBackends: b.maxBackends };
      return { service: undefined, localIP: serviceHost(b.serviceName, b.namespace ?? ns), dnsTarget };
    }
    const endpoints: BalancerBackends = { kind: 'endpoints' };
    return { service: undefined, localIP: undefined, dnsTarget: endpoints };
  }

  /** The balancer tier, only when the spec asks for what frp cannot do; frpc then forwards to it. */
  private addBalancer(plan: ServicePlan, dnsTarget: BalancerBackends): { haproxy?: HaproxyBalancer; udp?: UdpBalancer; target?: FrpcTarget } {
    if (plan.balancer?.mode === 'udp') {
      const udp = new UdpBalancer(this, 'Balancer', {
        name: derivedName(this.name, '-balancer'),
        config: { services: [nginxUdpServiceFor(plan)] },
        labels: this.labels(),
      });
      return { udp, target: { localIP: udp.host, localPort: BALANCER_PORT } };
    }
    if (!plan.balancer) return {};
    const endUserAuth = plan.balancer.authentication;
    const haproxy = new HaproxyBalancer(this, 'Balancer', {
      name: derivedName(this.name, '-balancer'),
      config: { services: [haproxyServiceFor(this, plan, dnsTarget)], timeouts: haproxyTimeoutsFor(plan) },
      authSecret: endUserAuth ? kplus.Secret.fromSecretName(this, 'AuthSecret', endUserAuth.secretName) : undefined,
      labels: this.labels(),
    });
    const proxyProtocol = plan.balancer.mode === 'tcp' ? ProxyProtocolVersion.V2 : undefined;
    return { haproxy, target: { localIP: haproxy.host, localPort: BALANCER_PORT, proxyProtocol } };
  }

  /** mTLS: the authority or Secrets of frps' certificate (when this service creates frps) and of frpc's. */
  private addMtls(plan: ServicePlan, server: FrpServer | undefined): Certificates {
    const where = this.node.path;
    const mtls = plan.mtls;
    if (!mtls) return {};
    let ca: ICertificateAuthority | undefined;
    let clientTls: FrpClientTlsOptions | undefined;
    let serverTls: FrpServerTlsOptions | undefined;
    const f = 'spec.security.mtls';
    const leaf = {
      renewBefore: CertificateDuration.parseSpec(mtls.renewBefore, `${f}.certRotation.beforeExpiry`),
      rotation: mtls.rotation ? CertificateRotation.RELOADER : CertificateRotation.NONE,
    };
    if (mtls.mode === MtlsMode.AUTO) {
      ca = server ? server.certificateAuthority : new CertificateAuthority(this, 'Ca', { name: derivedName(this.name, '-ca'), ...leaf });
      if (!ca) invalid(where, `${f}.mode`, `auto mTLS on the shared server ${server!.node.path} needs that server to have a certificateAuthority (or use mode manual with its Secrets)`);
    } else if (mtls.mode === MtlsMode.EXTERNAL && mtls.issuerName) {
      ca = CertificateAuthority.fromIssuer(this, 'Ca', { name: mtls.issuerName, kind: mtls.issuerKind, ...leaf });
    } else if (mtls.mode === MtlsMode.EXTERNAL) {
      // a CA managed outside the bundle, handed over as its key pair: cert-manager
      // issues frps' and frpc's certificates from it (certSecret replaces frpc's)
      const caSecret = kplus.Secret.fromSecretName(this, 'CaSecret', mtls.caSecret!);
      if (!server || !mtls.certSecret) {
        ca = CertificateAuthority.fromCaSecret(this, 'Ca', { caSecret, issuerName: derivedName(this.name, '-ca'), ...leaf });
      }
      if (mtls.certSecret) {
        clientTls = {
          secret: kplus.Secret.fromSecretName(this, 'CertSecret', mtls.certSecret),
          // on a shared server frpc verifies frps against the server's CA
          ...(server ? {} : { caSecret, caKey: 'tls.crt' }),
        };
      }
    } else {
      const caSecret = kplus.Secret.fromSecretName(this, 'CaSecret', mtls.caSecret!);
      // Without serverCertSecret the CA Secret feeds cert-manager's CA issuer,
      // so it is a TLS Secret whose tls.crt is the CA certificate (it may lack
      // ca.crt, as `kubectl create secret tls` writes it); only that key is mounted.
      const caKey = mtls.serverCertSecret ? 'ca.crt' : 'tls.crt';
      // on a shared server with a CA of its own, frpc verifies frps against that CA
      // (frps trusts caSecret for client certificates: additionalClientCas)
      const trustServerCa = server?.certificateAuthority !== undefined;
      clientTls = { secret: kplus.Secret.fromSecretName(this, 'CertSecret', mtls.certSecret!), ...(trustServerCa ? {} : { caSecret, caKey }) };
      if (!server && mtls.serverCertSecret) {
        serverTls = { secret: kplus.Secret.fromSecretName(this, 'ServerCertSecret', mtls.serverCertSecret), caSecret, caKey };
      } else if (server && mtls.serverCertSecret) {
        // the shared frps has one certificate of its own: say so instead of dropping the field silently
        SynthWarnings.add(this, `${f}.serverCertSecret: not used: frps is shared (${Chart.of(server).namespace ?? 'default'}/${server.name}) and serves its own certificate; `
          + `frps trusts ${caKey} of caSecret ${mtls.caSecret} for frpc's certificate (drop the field; without a shared server this service runs its own frps with that certificate)`);
      } else if (!server) {
        // no frps certificate given: issue one from the user's CA (cert-manager CA issuer over caSecret)
        ca = CertificateAuthority.fromCaSecret(this, 'Ca', { caSecret, issuerName: derivedName(this.name, '-ca'), ...leaf });
      }
    }
    if (server && !server.requiresClientCertificates) {
      invalid(where, `${f}.enabled`, `the shared server ${server.node.path} does not require client certificates: configure mTLS on the server (requireClientCertificates, or tls)`);
    }
    return { ca, clientTls, serverTls };
  }

  /** The frpc pool: one member per planned proxy, in the group, forwarding to `target` (or each member's own backend). */
  private addClientPool(
    plan: ServicePlan, front: Front, target: FrpcTarget, certificates: Certificates, server: FrpServer | undefined,
    workload: IConstruct | undefined, groupKeySecret: kplus.ISecret | undefined,
  ): FrpClientPool {
    // frps' vhost waits as long for an answer as the spec allows (frp's default: 60 s)
    if (plan.proxyType === FrpProxyType.HTTP) this.server.requireHttpResponseTimeout(plan.responseTimeoutSeconds);
    const { localIP, localPort, proxyProtocol } = target;
    const proxies: FrpProxy[] = plan.members.map(m => ({
      name: m.proxyName,
      type: plan.proxyType,
      localIP: localPort !== undefined ? localIP : m.localIP ?? localIP,
      localPort: localPort ?? m.localPort,
      proxyProtocolVersion: proxyProtocol,
      remotePort: plan.proxyType === FrpProxyType.HTTP ? undefined : front.remotePort,
      customDomains: front.customDomain ? [front.customDomain] : undefined,
      subdomain: front.subdomain,
      locations: plan.proxyType === FrpProxyType.HTTP && plan.expose.path ? [plan.expose.path] : undefined,
      // frps rewrites X-Forwarded-Proto to http (Go's SetXForwarded, before the
      // route's headers): behind an Ingress that terminates TLS the backends must see https
      requestHeaders: plan.proxyType === FrpProxyType.HTTP && plan.expose.ingressTlsSecret ? { 'X-Forwarded-Proto': 'https' } : undefined,
      group: plan.group,
      healthCheck: plan.healthCheck,
      bandwidthLimit: plan.bandwidth,
      bandwidthLimitMode: plan.bandwidthMode,
      metadatas: m.metadatas,
    }));
    const { ca, clientTls } = certificates;
    return new FrpClientPool(this, 'Client', {
      name: derivedName(this.name, '-frpc'),
      server: this.server,
      workload: plan.sidecar ? FrpClientWorkload.sidecar(workload!) : FrpClientWorkload.deployment({ replicas: plan.clientReplicas }),
      poolCount: plan.poolCount,
      dialServerTimeoutSeconds: plan.dialTimeoutSeconds,
      dialServerKeepaliveSeconds: plan.keepAliveSeconds,
      groupKeySecret: plan.group === undefined ? undefined
        : groupKeySecret ?? kplus.Secret.fromSecretName(this, 'GroupKey', groupKeySecretName(this.name)),
      certificateAuthority: server && !clientTls && ca !== server.certificateAuthority ? ca : undefined,
      tls: clientTls ? { ...clientTls, serverName: this.server.host } : undefined,
      exposeRemotePorts: false,
      labels: this.labels(),
      proxies,
    });
  }

  /** Metadata of an object in front of frps (in the server's namespace). */
  private frontMeta(kind: string, front: Front, serverNs: string | undefined): ApiObjectMetadata {
    return {
      name: claimName(this, kind, front.name, serverNs),
      namespace: serverNs,
      labels: recommendedLabels({ app: this.name, instance: front.name, component: 'exposure' }, this.labels()),
    };
  }

  /** A port exposure: a Service on frps' remote port (and a TCPRoute or UDPRoute to it with expose.gateway). */
  private exposePort(plan: ServicePlan, front: Front, serverNs: string | undefined): { service: kplus.Service; route?: ApiObject } {
    const udp = plan.proxyType === FrpProxyType.UDP;
    const service = selectPods(new kplus.Service(this, 'Exposed', {
      metadata: this.frontMeta('Service', front, serverNs),
      // behind a Gateway the Service is the route's backend, cluster-internal
      type: plan.expose.serviceType as string as kplus.ServiceType,
      ports: [{
        name: udp ? 'udp' : 'tcp',
        port: plan.expose.port!,
        targetPort: front.remotePort!,
        protocol: udp ? kplus.Protocol.UDP : kplus.Protocol.TCP,
      }],
    }), this.server.podLabels);
    omitUnstoredDefaults(service);
    const keepAddress = isExternal(plan.expose.serviceType) && this.readsClientAddress(plan);
    const policy = plan.expose.externalTrafficPolicy ?? (keepAddress ? ExternalTrafficPolicy.LOCAL : undefined);
    if (policy) setExternalTrafficPolicy(this.node.path, 'spec.expose.externalTrafficPolicy', service, policy);
    if (udp && this.server.replicas > 1) {
      // udp over HA frps: every replica serves the port; keep each client on one
      // replica, which holds its udp session (client address -> work connection)
      ApiObject.of(service).addJsonPatch(JsonPatch.add('/spec/sessionAffinity', 'ClientIP'));
    }
    const gw = plan.expose.gateway;
    if (!gw) return { service };
    const routeProps = {
      metadata: this.frontMeta(udp ? 'UDPRoute' : 'TCPRoute', front, serverNs),
      spec: { parentRefs: gatewayParentRefs(gw), rules: [{ backendRefs: [{ name: service.name, port: plan.expose.port! }] }] },
    };
    return { service, route: udp ? new gateway.UdpRoute(this, 'Route', routeProps) : new gateway.TcpRoute(this, 'Route', routeProps) };
  }

  /** A domain, subdomain or path exposure: an Ingress to frps' vhost Service, or an HTTPRoute with expose.gateway. */
  private exposeHttp(plan: ServicePlan, front: Front, serverNs: string | undefined): { ingress?: kplus.Ingress; route?: ApiObject } {
    const host = front.host!;
    const backend = { service: this.server.vhostService!, port: this.server.vhostHttpServicePort };
    const gw = plan.expose.gateway;
    if (gw) {
      return {
        route: new gateway.HttpRoute(this, 'Route', {
          metadata: this.frontMeta('HTTPRoute', front, serverNs),
          spec: {
            parentRefs: gatewayParentRefs(gw),
            hostnames: [host],
            rules: [{
              matches: [{ path: { type: gateway.HttpRouteSpecRulesMatchesPathType.PATH_PREFIX, value: plan.expose.path ?? '/' } }],
              backendRefs: [{ name: backend.service.name, port: backend.port }],
            }],
          },
        }),
      };
    }
    // the spec's response timeout, not ingress-nginx's 60 s (slow LLM answers)
    const timeout = String(plan.responseTimeoutSeconds);
    const ingress = new kplus.Ingress(this, 'Ingress', {
      metadata: {
        ...this.frontMeta('Ingress', front, serverNs),
        annotations: { 'nginx.ingress.kubernetes.io/proxy-read-timeout': timeout, 'nginx.ingress.kubernetes.io/proxy-send-timeout': timeout },
      },
      className: plan.expose.ingressClassName,
    });
    ingress.addHostRule(host, plan.expose.path ?? '/', kplus.IngressBackend.fromService(backend.service, { port: backend.port }), kplus.HttpIngressPathType.PREFIX);
    if (plan.expose.ingressTlsSecret) {
      ingress.addTls([{ hosts: [host], secret: kplus.Secret.fromSecretName(this, 'IngressTls', plan.expose.ingressTlsSecret) }]);
    }
    return { ingress };
  }

  /**
   * Whether anything behind the exposed Service reads the client address:
   * the balancer hashing or pinning on it (tcp: frpc's PROXY v2 header
   * carries what frps saw), kube-proxy's ClientIP affinity keeping a udp
   * client on one frps replica, or frps' NetworkPolicy admitting the port by
   * address range. A NodePort or LoadBalancer Service must then keep it
   * (externalTrafficPolicy Local); otherwise every client arrives with its
   * node's address.
   */
  private readsClientAddress(plan: ServicePlan): boolean {
    const b = plan.balancer;
    const byBalancer = b?.mode === 'tcp' && (b.algorithm === LoadBalancingAlgorithm.IP_HASH || b.affinity !== undefined);
    const udpAffinity = plan.proxyType === FrpProxyType.UDP && this.server.replicas > 1;
    return byBalancer || udpAffinity || this.server._admitsExposureByAddress();
  }

  /**
   * ConfigMaps of this service that the API server would refuse (an object is
   * at most 1 MiB): long endpoint lists end up in frpc's or the balancer's config.
   */
  private sizeProblems(): string[] {
    const out: string[] = [];
    for (const c of this.node.findAll()) {
      if (!(c instanceof ApiObject) || c.kind !== 'ConfigMap') continue;
      const bytes = Buffer.byteLength(JSON.stringify(c.toJson()));
      if (bytes > MAX_OBJECT_BYTES) {
        out.push(`${this.node.path}: spec.backends.endpoints: the ConfigMap ${c.name} would be ${bytes} bytes, but the API server stores at most ${MAX_OBJECT_BYTES} (1 MiB) per object: list fewer endpoints, lower their weights or shorten their metadata`);
      }
    }
    return out;
  }

  /**
   * Claims this service's route or port and its object name next to frps on
   * the (maybe shared) server; a clash with another service is reported at
   * both services' fields. A domain under the server's subDomainHost is
   * routed by frp as that subdomain (frps refuses it as a custom domain).
   */
  private claimFront(plan: ServicePlan, serverNs: string | undefined, ns: string | undefined): Front {
    const where = this.node.path;
    const claims = ServerClaims.of(this.server);
    const me = (field: string): Claim => ({ owner: where, source: this.source, field });
    // next to frps, a service of another namespace gets a namespace-qualified name
    const name = serverNs === ns || !ns ? this.name : qualifiedName(this.name, ns);
    const nameField = name === this.name ? 'metadata.name' : 'metadata.name/metadata.namespace';
    if (plan.expose.type === ExposeType.PORT) {
      const kinds = ['Service', ...plan.expose.gateway ? [plan.proxyType === FrpProxyType.UDP ? 'UDPRoute' : 'TCPRoute'] : []];
      const conflicts = claims.claim([], kinds.map(kind => ({ key: `${kind}/${name}`, what: `the ${kind} ${name}`, claim: me(nameField) })));
      if (conflicts.length > 0) throw new Error(conflicts.map(c => `${where}: ${c}`).join('\n'));
      const protocol = plan.proxyType === FrpProxyType.UDP ? kplus.Protocol.UDP : kplus.Protocol.TCP;
      return { name, remotePort: claims.remotePort(protocol, plan.expose.remotePort!) };
    }
    const sdh = this.server.subDomainHost;
    let customDomain = plan.expose.domain;
    let subdomain = plan.expose.subdomain;
    if (customDomain && sdh && customDomain.endsWith(`.${sdh}`)) {
      const label = customDomain.slice(0, -sdh.length - 1);
      if (!isDnsLabel(label)) invalid(where, 'spec.expose.domain', `${customDomain} is under the server's subDomainHost ${sdh} but not one label below it: frps routes only <subdomain>.${sdh} there`);
      customDomain = undefined;
      subdomain = label;
    }
    const host = plan.expose.domain ?? `${subdomain}.${sdh}`;
    const path = plan.expose.path ?? '/';
    const routeField = plan.expose.domain ? 'spec.expose.domain' : 'spec.expose.subdomain';
    const kind = plan.expose.gateway ? 'HTTPRoute' : 'Ingress';
    const conflicts = claims.claim(
      [{ key: `${host}${path}`, what: `the route http://${host}${path}`, claim: me(plan.expose.path ? `${routeField}+spec.expose.path` : routeField) }],
      [{ key: `${kind}/${name}`, what: `the ${kind} ${name}`, claim: me(nameField) }],
    );
    if (conflicts.length > 0) throw new Error(conflicts.map(c => `${where}: ${c}`).join('\n'));
    return { name, host, customDomain, subdomain, remotePort: undefined };
  }

  /**
   * Monitoring options plus an expectation for this service's group members
   * (every member proxy on every frpc pod; at least one for sidecars, whose pod
   * count the workload decides).
   */
  private withExpectedMembers(monitoring: FrpMonitoringOptions): FrpMonitoringOptions {
    const plan = this._plan;
    const minimum = plan.sidecar ? 1 : plan.members.length * plan.clientReplicas;
    // frps names members {user}.{proxy} with user = <namespace>.<pod>: the
    // exact member names in this namespace, so that `<name>-2` (another
    // service) or the same name in another namespace never counts
    const ns = Chart.of(this).namespace; // frpc runs in this service's namespace
    const names = [...new Set(plan.members.map(m => m.proxyName))].sort().map(regexEscape);
    const expectation = {
      proxyType: plan.proxyType,
      nameRegex: `${ns ? regexEscape(ns) : '[^.]+'}[.][^.]+[.](?:${names.join('|')})`,
      minimum,
    };
    return { ...monitoring, alerts: { ...monitoring.alerts, expectedProxies: [...monitoring.alerts?.expectedProxies ?? [], expectation] } };
  }

  /** Labels on every object of this service (besides each object's app.kubernetes.io/* labels). */
  public labels(): { [key: string]: string } {
    return { 'app.kubernetes.io/part-of': this.name, 'frp.io/distributed-service': this.name };
  }
}

/** What the service claimed next to frps: its front object name and its route or remote port. */
interface Front {
  readonly name: string;
  readonly host?: string;
  readonly customDomain?: string;
  readonly subdomain?: string;
  readonly remotePort?: number;
}

/** Where frpc forwards: the backends (or a Service or DNS name in front of them), or the balancer tier. */
interface FrpcTarget {
  readonly localIP?: string;
  readonly localPort?: number;
  readonly proxyProtocol?: ProxyProtocolVersion;
}

/** mTLS for frps (when the service creates it) and for frpc. */
interface Certificates {
  readonly ca?: ICertificateAuthority;
  readonly clientTls?: FrpClientTlsOptions;
  readonly serverTls?: FrpServerTlsOptions;
}

/** The parentRefs of a route attached to expose.gateway. */
function gatewayParentRefs(gw: GatewayReference) {
  return [{ group: 'gateway.networking.k8s.io', kind: 'Gateway', name: gw.name, namespace: gw.namespace, sectionName: gw.sectionName }];
}

/** The spec without the construct-only `workload` (which is not data). */
function stripWorkload(spec: DistributedServiceSpec): DistributedServiceSpec {
  const d = spec.backends?.discovery;
  if (!d || d.workload === undefined) return spec;
  const { workload: _w, ...discovery } = d;
  return { ...spec, backends: { ...spec.backends, discovery } };
}

/**
 * Claims the backends Service's name; a clash is reported at the user's field:
 * the namespace the spec sent it to (discovery.namespace), or the service's name.
 */
function claimBackendsName(owner: Construct, name: string, namespace: string | undefined, foreign: boolean): string {
  try {
    return claimName(owner, 'Service', name, namespace);
  } catch (e) {
    const field = foreign ? 'spec.backends.discovery.namespace' : 'metadata.name';
    throw new Error((e as Error).message.replace(`${owner.node.path}: name: `, `${owner.node.path}: ${field}: `)
      .replace(/\(the construct's name prop, or the service's metadata\.name\)/, foreign ? '(metadata.name), or send the backends elsewhere' : '(metadata.name)'));
  }
}

/** The Secret a service's group key is read from by default. @internal */
export function groupKeySecretName(service: string): string {
  return `${service}-group-key`;
}

/** The fields of a Kubernetes ObjectMeta (strict decoding refuses any other). */
const OBJECT_META_FIELDS = new Set(['name', 'generateName', 'namespace', 'selfLink', 'uid', 'resourceVersion', 'generation', 'creationTimestamp',
  'deletionTimestamp', 'deletionGracePeriodSeconds', 'labels', 'annotations', 'ownerReferences', 'finalizers', 'managedFields']);
const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Every problem of a DistributedService manifest, each as `<field>: <message>`:
 * kind, metadata (strictly, like the API server) and the spec. @internal
 */
export function manifestProblems(manifest: unknown, chartNamespace: string | undefined): string[] {
  if (!isObject(manifest)) return [`apiVersion/kind: the document must be an object (a ${DISTRIBUTED_SERVICE_API_VERSION} DistributedService), got ${Array.isArray(manifest) ? 'a list' : JSON.stringify(manifest)}`];
  const out: string[] = [];
  const m = manifest;
  const apiVersion = own(m, 'apiVersion') ? m.apiVersion : undefined;
  const kind = own(m, 'kind') ? m.kind : undefined;
  if (apiVersion !== DISTRIBUTED_SERVICE_API_VERSION || kind !== 'DistributedService') {
    // another kind: its fields mean something else, so stop here
    return [`apiVersion/kind: must be ${DISTRIBUTED_SERVICE_API_VERSION} DistributedService, got ${JSON.stringify(apiVersion)} ${JSON.stringify(kind)}`];
  }
  for (const k of Object.keys(m)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k)) out.push(`${fieldPath('', k)}: is not a field of a DistributedService (apiVersion, kind, metadata, spec, status)`);
  }
  const md = own(m, 'metadata') ? m.metadata : undefined;
  if (!isObject(md)) {
    out.push(md === undefined ? 'metadata.name: is required' : `metadata: must be an object, got ${JSON.stringify(md)}`);
  } else {
    for (const k of Object.keys(md)) {
      if (!OBJECT_META_FIELDS.has(k)) out.push(`${fieldPath('metadata', k)}: is not a field of metadata (name, namespace, labels, annotations, ...)`);
    }
    const name = own(md, 'name') ? md.name : undefined;
    if (name === undefined) {out.push('metadata.name: is required');} else {
      const p = serviceNameProblem(name);
      if (p) out.push(`metadata.name: ${p}`);
    }
    const ns = own(md, 'namespace') ? md.namespace : undefined;
    if (ns !== undefined) {
      if (typeof ns !== 'string' || !isDnsLabel(ns)) out.push(`metadata.namespace: must be a DNS label (at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit), got ${JSON.stringify(ns)}`);
      else if (ns !== chartNamespace) out.push(`metadata.namespace: is ${JSON.stringify(ns)} but the chart's namespace is ${JSON.stringify(chartNamespace)}`);
    }
    for (const f of ['labels', 'annotations'] as const) {
      const map = own(md, f) ? md[f] : undefined;
      if (map === undefined) continue;
      if (!isObject(map)) {
        out.push(`metadata.${f}: must be a map of strings, got ${JSON.stringify(map)}`);
        continue;
      }
      for (const [k, v] of Object.entries(map)) {
        const p = labelKeyProblem(k) ?? (typeof v !== 'string' ? `must be a string, got ${JSON.stringify(v)}` : f === 'labels' ? labelValueProblem(v) : undefined);
        if (p) out.push(`metadata.${f}[${JSON.stringify(k)}]: ${p}`);
      }
    }
  }
  const spec = own(m, 'spec') ? m.spec : undefined;
  if (!isObject(spec)) out.push(spec === undefined ? 'spec: is required' : `spec: must be an object, got ${Array.isArray(spec) ? 'a list' : JSON.stringify(spec)}`);
  else out.push(...schemaProblems('spec', spec, SPEC_SCHEMA));
  return out;
}
