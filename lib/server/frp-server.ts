import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { frpsConfig } from './_config';
import { objectMeta, ServerContext } from './_context';
import { addServerNetworkPolicy } from './_network-policy';
import { frpsPorts, ProxyRegistry, VHOST_HTTP_SERVICE_PORT, VHOST_HTTPS_SERVICE_PORT } from './_ports';
import { addControlServices, addExternalService, keepClientAddress, ProxyServices } from './_services';
import { FrpLogLevel } from '../frp/common';
import { checkInt, invalid } from '../frp/errors';
import { FrpProxy, validateProxy } from '../frp/proxy';
import { FrpPortRange, FrpsConfig, FrpServerTlsConfig, renderFrpsToml } from '../frp/server-config';
import { mountSecretFiles, FrpAuth } from '../frp-auth';
import { wireServerTls } from './_tls';
import { addDisruptionBudget, addFrpsDeployments, CONFIG_FILE } from './_workload';
import { checkBaseName, derivedName, imageVersion, recommendedLabels, selectorLabels } from '../k8s/names';
import { checkImage, lazyString, sha256 } from '../k8s/pod-defaults';
import { FrpMonitoring, FrpMonitoringOptions } from '../monitoring/frp-monitoring';
import { IFrpServerMetrics } from '../monitoring/metrics-target';
import { NetworkPeer } from '../network/network-peer';
import { ExternalTrafficPolicy } from '../spec';
import { ICertificateAuthority } from '../tls/certificate-authority';
import { IFrpServerEndpoint } from '../tls/certificate-options';
import { IssuedCertificate } from '../tls/issued-certificate';

export { issueId, mountTlsSecrets, uniqueSecrets } from './_tls';

/** The frps image this release is tested against. */
export const FRPS_IMAGE = 'fatedier/frps:v0.70.1';

/** An frps that frpc pools can attach proxies to. */
export interface IFrpServer extends IFrpServerEndpoint {
  /** Control port frpc connects to. */
  readonly bindPort: number;
  /** How clients authenticate. */
  readonly auth: FrpAuth;
  /** Labels that select the frps pods. */
  readonly podLabels: { [key: string]: string };
  /**
   * One address per frps replica (HA): every frpc connects to each of them, so
   * that every replica holds every group. `[host]` for a single frps.
   */
  readonly replicaHosts: string[];
  /** Whether frps requires client certificates (mTLS). */
  readonly requiresClientCertificates: boolean;
  /**
   * The CA that issued the server certificate; pools attached to this server get
   * a certificate from it in their own namespace, verify frps against its CA
   * and, when frps requires client certificates, present it.
   */
  readonly certificateAuthority?: ICertificateAuthority;
  /**
   * Whether frpc must not verify this server's certificate (frps serves a
   * self-signed certificate of its own; an explicit opt-out).
   */
  readonly insecureSkipVerify: boolean;
  /**
   * Registers a proxy that a client will open on this server, so that the
   * server listens on and exposes what it needs (remote ports, vhost ports) and
   * allows its remote port. Clashes with other services are errors.
   * @param owner the construct that owns the proxy (named in error messages)
   * @param proxy the proxy as the client renders it
   */
  registerProxy(owner: IConstruct, proxy: FrpProxy, options?: RegisterProxyOptions): void;

  /**
   * Lets these clients reach the control port through the server's NetworkPolicy.
   * @param peer the client pods (or addresses)
   */
  allowClients(peer: NetworkPeer): void;

  /**
   * Makes sure clients may keep `poolCount` work connections ready.
   * @param poolCount the pool size a client asks for
   */
  requirePoolCount(poolCount: number): void;
}

/** Options for registering a proxy with a server. */
export interface RegisterProxyOptions {
  /**
   * Add a tcp/udp remote port to the server's shared remote-ports Service. Turn
   * it off when the caller exposes the port with a Service of its own.
   * @default true
   */
  readonly exposeRemotePort?: boolean;
}

/** TLS for frps from existing Secrets (see `certificateAuthority` for the managed form). */
export interface FrpServerTlsOptions {
  /** Secret of type kubernetes.io/tls with `tls.crt` and `tls.key` (and `ca.crt` unless caSecret is given). */
  readonly secret: kplus.ISecret;
  /**
   * Secret whose `ca.crt` verifies client certificates.
   * @default - `ca.crt` of `secret`
   */
  readonly caSecret?: kplus.ISecret;
  /**
   * Require client certificates signed by the CA in the Secret's `ca.crt` (mTLS).
   * @default true
   */
  readonly requireClientCertificates?: boolean;
  /**
   * Key of the CA certificate in `caSecret` (only that key is mounted, never
   * the CA's private key). Use `tls.crt` for a CA Secret made with
   * `kubectl create secret tls`.
   * @default "ca.crt"
   */
  readonly caKey?: string;
}

/** A CA certificate in a Secret of frps' namespace (only that key is mounted). */
export interface FrpCaCertificate {
  /** The Secret. */
  readonly secret: kplus.ISecret;
  /**
   * Key of the CA certificate in the Secret (`tls.crt` for a CA Secret made
   * with `kubectl create secret tls`).
   * @default "ca.crt"
   */
  readonly key?: string;
}

/**
 * frps reachable from outside the cluster (frpc on machines outside it): a
 * second control Service of type LoadBalancer or NodePort carrying only the
 * control port, and the addresses those machines dial in the server
 * certificate's SANs.
 */
export interface FrpServerExternalAccess {
  /**
   * Type of the external control Service: LoadBalancer or NodePort.
   * @default kplus.ServiceType.LOAD_BALANCER
   */
  readonly serviceType?: kplus.ServiceType;
  /**
   * DNS names and IP addresses external frpc dial (the load balancer's name or
   * address, or a node's). Each one is put in the server certificate's SANs,
   * so that frpc can verify frps by the name it dials.
   */
  readonly addresses: string[];
  /**
   * Node port of the control port (NodePort and LoadBalancer Services).
   * @default - Kubernetes picks one (then say it to client-bundle as the server port)
   */
  readonly nodePort?: number;
  /**
   * `externalTrafficPolicy` of the external control Service. The
   * NetworkPolicy admits outside frpc by their addresses (`clientPeers`
   * CIDRs), which reach the pod only with `Local`: with `Cluster` the node
   * replaces them with its own address and the policy drops the connection.
   * `Local` sends outside traffic only to nodes that run frps (see
   * ExternalTrafficPolicy.LOCAL).
   * @default - ExternalTrafficPolicy.LOCAL when the NetworkPolicy admits
   * clientPeers by address range, else Kubernetes' default (Cluster)
   */
  readonly externalTrafficPolicy?: ExternalTrafficPolicy;
}

/** Properties of an FrpServer. */
export interface FrpServerProps {
  /**
   * Base name of the objects: the Deployment and control Service are `<name>`
   * (with replicas, Deployments and per-replica Services `<name>-<i>`), the
   * ConfigMap `<name>-config`, the vhost, remote-ports and external control
   * Services `<name>-vhost`, `<name>-remote` and `<name>-external`, the
   * certificate Secret `<name>-tls`. Two servers in one namespace need
   * different names.
   * @default "frps"
   */
  readonly name?: string;
  /** How frpc clients authenticate (required: frps never runs open). */
  readonly auth: FrpAuth;
  /**
   * Container image.
   * @default "fatedier/frps:v0.70.1"
   */
  readonly image?: string;
  /**
   * Control port frpc connects to.
   * @default 7000
   */
  readonly bindPort?: number;
  /**
   * Container port of the vhost HTTP listener (opened when an http proxy attaches).
   * The vhost Service exposes it on port 80.
   * @default 8080
   */
  readonly vhostHttpPort?: number;
  /**
   * Container port of the vhost HTTPS listener (opened when an https proxy attaches).
   * The vhost Service exposes it on port 443.
   * @default 8443
   */
  readonly vhostHttpsPort?: number;
  /**
   * Container port of the tcpmux HTTP CONNECT listener (opened when a tcpmux proxy attaches).
   * @default 5002
   */
  readonly tcpmuxHttpConnectPort?: number;
  /**
   * Port of frps' web server: `/healthz` for probes and `/metrics` for Prometheus.
   * @default 7500
   */
  readonly webServerPort?: number;
  /**
   * Secret with `user` and `password` keys protecting the dashboard and `/metrics`
   * with basic auth (`/healthz` stays open). frp uses both values exactly as the
   * Secret holds them, byte for byte: quotes, backslashes, `{{`, control
   * characters and a trailing newline are kept (a Secret made with
   * `kubectl create secret --from-file` from a file ending in a newline has a
   * password ending in a newline; use `--from-literal` or a file without one).
   * A value that is not valid UTF-8 cannot be written into frp's TOML config:
   * frps then refuses to start (`toml: invalid UTF-8`).
   * @default - no basic auth; the port is reachable only where NetworkPolicies allow
   */
  readonly webServerCredentials?: kplus.ISecret;
  /**
   * Export Prometheus metrics on the web server at `/metrics`.
   * @default true
   */
  readonly enablePrometheus?: boolean;
  /**
   * Base domain for services exposed by subdomain (`<subdomain>.<subDomainHost>`).
   * @default - subdomains are not available
   */
  readonly subDomainHost?: string;
  /**
   * Upper bound of a client's connection pool (raised automatically to fit
   * the largest poolCount an attached client asks for).
   * @default 5
   */
  readonly maxPoolCount?: number;
  /**
   * Type of the Service that exposes remote (tcp/udp) ports.
   * @default kplus.ServiceType.CLUSTER_IP
   */
  readonly remotePortsServiceType?: kplus.ServiceType;
  /**
   * `externalTrafficPolicy` of the remote-ports Service when it is a NodePort
   * or LoadBalancer. Only `Local` keeps the client address, which matters
   * when a proxy on it sends a PROXY protocol header (its backend reads the
   * client address) or when `exposurePeers` admit address ranges (the
   * NetworkPolicy reads it); see ExternalTrafficPolicy.LOCAL for the cost.
   * @default - ExternalTrafficPolicy.LOCAL when the client address matters
   * as above, else Kubernetes' default (Cluster)
   */
  readonly remotePortsExternalTrafficPolicy?: ExternalTrafficPolicy;
  /**
   * Remote ports to allow besides those of attached proxies (for clients outside
   * this chart).
   * @default - only the ports of attached proxies
   */
  readonly extraAllowPorts?: FrpPortRange[];
  /**
   * TLS certificate (and client CA for mTLS) from existing Secrets. Exclusive
   * with certificateAuthority. Attached FrpClientPools then need `tls` with
   * the CA that signed it.
   * @default - a certificate from certificateAuthority
   */
  readonly tls?: FrpServerTlsOptions;
  /**
   * Issues frps' server certificate (for its Service names and
   * externalAccess addresses). Every attached FrpClientPool gets a
   * certificate from it in its own namespace and verifies frps against its
   * CA by name; with `requireClientCertificates` frps also demands that
   * certificate (mTLS). Exclusive with tls.
   * @default - a CertificateAuthority `<name>-ca` of the server's own
   * (cert-manager) issuing the server certificate, without client
   * certificates; none with `tls` or `insecureSkipVerify`
   */
  readonly certificateAuthority?: ICertificateAuthority;
  /**
   * Require a client certificate from `certificateAuthority` (mTLS): frps
   * refuses any frpc without one, whatever token it holds.
   * @default - true when you give certificateAuthority, false with the server's own authority
   */
  readonly requireClientCertificates?: boolean;
  /**
   * More CAs whose client certificates frps accepts, besides
   * certificateAuthority's: services whose frpc certificates come from other
   * CAs (manual or external mTLS) on one frps. frps reads one client CA file
   * (`transport.tls.trustedCaFile`, a PEM bundle), so an init container (frps'
   * own image: `sh`, `cat`) joins the CA certificates into it at pod start;
   * Reloader rolls frps when one of them changes. Needs requireClientCertificates.
   * @default - only certificateAuthority's CA
   */
  readonly additionalClientCas?: FrpCaCertificate[];
  /**
   * Turn server verification off (not recommended): no CertificateAuthority
   * and no cert-manager; frps serves a self-signed certificate it generates at
   * every start and frpc accepts any certificate (frp's skip-verify). Anyone
   * who can intercept the control connection can then pose as frps and
   * collect the token and the traffic. Exclusive with tls and
   * certificateAuthority.
   * @default false
   */
  readonly insecureSkipVerify?: boolean;
  /**
   * Resource requests and limits. frps' Go runtime gets `GOMEMLIMIT` at 90 % of the memory
   * limit (and `GOGC=400`, see README "Capacity guide").
   * @default - cpu 50m/500m, memory 32Mi/256Mi (fields you leave out keep these values)
   */
  readonly resources?: kplus.ContainerResources;
  /**
   * Monitoring with kube-prometheus-stack: a ServiceMonitor for the metrics
   * port, a PrometheusRule with the frp alerts and a Grafana dashboard
   * ConfigMap (each can be turned off in the options). `monitoringPeers`
   * decides who may scrape.
   * @default - no monitoring objects
   */
  readonly monitoring?: FrpMonitoringOptions;
  /**
   * Render a NetworkPolicy for the frps pods: the control port only from the
   * pods of attached FrpClientPools and `clientPeers`, the vhost and remote
   * ports from `exposurePeers`, the metrics port from `monitoringPeers`.
   * @default true
   */
  readonly networkPolicy?: boolean;
  /**
   * frps replicas (HA). frp keeps a load-balancing group inside one frps, so
   * each replica is a Deployment of its own with a control Service of its own
   * (a stable address), every frpc pod runs one frpc per replica, and every
   * replica holds every group. The vhost, remote-port and exposure Services
   * spread over all ready replicas; readiness takes a dead one out of them; a
   * PodDisruptionBudget lets drains take one replica at a time.
   * @default 1
   */
  readonly replicas?: number;
  /**
   * Reach frps from outside the cluster: a LoadBalancer or NodePort control
   * Service and the external addresses in the server certificate. With the
   * NetworkPolicy on, give the external machines' addresses as clientPeers.
   * @default - the control port is reachable inside the cluster only
   */
  readonly externalAccess?: FrpServerExternalAccess;
  /**
   * Further peers that may reach the control port (frpc outside the cluster:
   * usually a CIDR, or the namespace of an ingress that carries websocket).
   * @default - only the pods of attached FrpClientPools
   */
  readonly clientPeers?: NetworkPeer[];
  /**
   * Peers that may reach the vhost and remote ports (the ingress controller, a
   * load balancer's ranges).
   * @default - any address (these ports are what the tunnel exposes)
   */
  readonly exposurePeers?: NetworkPeer[];
  /**
   * Peers that may scrape the metrics port.
   * @default - the namespace "monitoring"
   */
  readonly monitoringPeers?: NetworkPeer[];
  /**
   * Log level.
   * @default FrpLogLevel.INFO
   */
  readonly logLevel?: FrpLogLevel;
  /**
   * Extra labels on every object.
   * @default - the app.kubernetes.io/* labels only
   */
  readonly labels?: { [key: string]: string };
}

/**
 * frps on Kubernetes: a Deployment running the official image with a generated
 * frps.toml, a control Service, and Services for the vhost and remote ports
 * that attached proxies need. Ports and `allowPorts` are derived from the
 * proxies registered by FrpClientPools; the config is written at synth time.
 */
export class FrpServer extends Construct implements IFrpServer, IFrpServerMetrics {
  /** The frps Deployment (the first replica's, with `replicas` > 1). */
  public readonly deployment: kplus.Deployment;
  /** One Deployment per replica (one pod each with `replicas` > 1). */
  public readonly deployments: kplus.Deployment[];
  /** The frps container (the first replica's). */
  public readonly container: kplus.Container;
  /** Every replica's frps container. */
  public readonly containers: kplus.Container[];
  /** Number of frps replicas. */
  public readonly replicas: number;
  /** Selects every frps pod (what the vhost, remote-port and exposure Services select). */
  public readonly pods: kplus.IPodSelector;
  /** One control Service per replica (`replicas` > 1); `[service]` otherwise. */
  public readonly replicaServices: kplus.Service[];
  /** DNS names of the replicas' control Services, which frpc dials one each. */
  public readonly replicaHosts: string[];
  /** The PodDisruptionBudget (`replicas` > 1). */
  public readonly podDisruptionBudget?: k8s.KubePodDisruptionBudget;
  /** ConfigMap holding frps.toml. */
  public readonly configMap: kplus.ConfigMap;
  /** Control Service: the bind port and the web server (metrics) port. */
  public readonly service: kplus.Service;
  /** DNS name frpc dials. */
  public readonly host: string;
  /** Control port. */
  public readonly bindPort: number;
  /** Web server port (`/healthz`, `/metrics`). */
  public readonly webServerPort: number;
  /** Whether `/metrics` is served. */
  public readonly prometheusEnabled: boolean;
  /** Basic-auth Secret of the web server, if any. */
  public readonly webServerCredentials?: kplus.ISecret;
  /** Client authentication. */
  public readonly auth: FrpAuth;
  /** Whether frps requires client certificates (mTLS). */
  public readonly requiresClientCertificates: boolean;
  /** The CA of the server certificate, when managed (by default, the server's own). */
  public readonly certificateAuthority?: ICertificateAuthority;
  /** Whether frpc skips verifying frps (`insecureSkipVerify`). */
  public readonly insecureSkipVerify: boolean;
  /** The issued server certificate, when a certificateAuthority is given. */
  public readonly certificate?: IssuedCertificate;
  /** Base domain for subdomains. */
  public readonly subDomainHost?: string;
  /** Labels on every object of this server. */
  public readonly labels: { [key: string]: string };
  /** Labels that select the frps pods. */
  public readonly podLabels: { [key: string]: string };
  /** Base name of the objects (`<name>`, `<name>-config`, ...). */
  public readonly name: string;
  /** The NetworkPolicy of the frps pods, unless turned off. */
  public readonly networkPolicy?: k8s.KubeNetworkPolicy;
  /** The monitoring objects, when `monitoring` is given. */
  public readonly monitoring?: FrpMonitoring;
  /** The LoadBalancer/NodePort control Service, when `externalAccess` is given. */
  public readonly externalService?: kplus.Service;
  /** Addresses external frpc dial (in the server certificate's SANs); empty without `externalAccess`. */
  public readonly externalAddresses: string[];

  private readonly props: FrpServerProps;
  private readonly ctx: ServerContext;
  /** Remote ports and routes of the attached proxies. */
  private readonly proxies: ProxyRegistry;
  /** The vhost and remote-ports Services they open. */
  private readonly proxyServices: ProxyServices;
  private readonly tlsFiles?: FrpServerTlsConfig;
  private readonly clientPeers: NetworkPeer[] = [];
  private maxPoolCount: number;
  private httpResponseTimeout?: number;
  private rendered?: string;

  constructor(scope: Construct, id: string, props: FrpServerProps) {
    super(scope, id);
    const where = this.node.path;
    if (!props || !props.auth) invalid(where, 'auth', 'is required: frps never runs without client authentication (use FrpAuth.token(secret) or FrpAuth.oidc(...))');
    this.props = props;

    // what frps is: ports, image, names, labels
    this.auth = props.auth;
    const ports = frpsPorts(where, props);
    this.bindPort = ports.bind;
    this.webServerPort = ports.webServer;
    this.prometheusEnabled = props.enablePrometheus ?? true;
    this.webServerCredentials = props.webServerCredentials;
    this.subDomainHost = props.subDomainHost;
    this.maxPoolCount = props.maxPoolCount ?? 5;
    if (props.image !== undefined) checkImage(where, 'image', props.image);
    const image = props.image ?? FRPS_IMAGE;
    const name = this.name = checkBaseName(where, 'name', props.name ?? 'frps');
    const component = { app: 'frps', instance: name, component: 'tunnel-server', version: imageVersion(image) };
    this.labels = recommendedLabels(component, props.labels);
    this.podLabels = selectorLabels(component);
    this.replicas = props.replicas ?? 1;
    const ctx = this.ctx = { scope: this, name, labels: this.labels, podLabels: this.podLabels, replicas: this.replicas, ports };
    this.proxies = new ProxyRegistry(where, ports, this.subDomainHost);
    this.proxyServices = new ProxyServices(ctx, {
      remotePortsServiceType: props.remotePortsServiceType ?? kplus.ServiceType.CLUSTER_IP,
      remotePortsExternalTrafficPolicy: props.remotePortsExternalTrafficPolicy,
      admitsExposureByAddress: () => this._admitsExposureByAddress(),
    });

    // the config, written at synth with every proxy attached by then
    this.configMap = new kplus.ConfigMap(this, 'Config', {
      metadata: objectMeta(ctx, 'ConfigMap', derivedName(name, '-config')),
      data: { [CONFIG_FILE]: lazyString(() => this.renderConfig()) },
    });

    // the workload: one Deployment per replica
    checkInt(where, 'replicas', this.replicas, 1, 9);
    if (this.replicas > 1 && props.externalAccess) {
      invalid(where, 'externalAccess', `is for one frps: with ${this.replicas} replicas an outside frpc would reach one replica and leave the others without its members`);
    }
    const workload = addFrpsDeployments(ctx, {
      image,
      resources: props.resources,
      configMap: this.configMap,
      configChecksum: lazyString(() => sha256(this.renderConfig())),
      auth: this.auth,
      webServerCredentials: props.webServerCredentials,
    });
    this.deployments = workload.deployments;
    this.containers = workload.containers;
    this.deployment = this.deployments[0];
    this.container = this.containers[0];
    mountSecretFiles(this, this.containers, this.auth._files(), '');
    this.pods = kplus.Pods.select(this, 'Pods', { labels: this.podLabels });

    // the control Services (one per replica) and, with replicas, the disruption budget
    const control = addControlServices(ctx);
    this.service = control.service;
    this.host = control.host;
    this.replicaServices = control.replicaServices;
    this.replicaHosts = control.replicaHosts;
    this.podDisruptionBudget = addDisruptionBudget(ctx);

    // access from outside the cluster
    const ext = props.externalAccess;
    this.externalAddresses = [...ext?.addresses ?? []];
    if (ext) {
      this.externalService = addExternalService(ctx, { ...ext, networkPolicy: props.networkPolicy !== false, clientPeers: props.clientPeers ?? [] });
    }

    // TLS: the server certificate and the client CAs
    const tls = wireServerTls(ctx, this, workload, { ...props, image, externalAddresses: this.externalAddresses });
    this.insecureSkipVerify = tls.insecureSkipVerify;
    this.certificateAuthority = tls.certificateAuthority;
    this.certificate = tls.certificate;
    this.tlsFiles = tls.files;
    this.requiresClientCertificates = this.tlsFiles?.trustedCaFile !== undefined;

    // who may reach which port
    this.clientPeers.push(...props.clientPeers ?? []);
    if (props.networkPolicy !== false) {
      this.networkPolicy = addServerNetworkPolicy(ctx, {
        clientPeers: this.clientPeers,
        exposurePeers: props.exposurePeers,
        monitoringPeers: props.monitoringPeers,
        exposedPorts: () => this.proxies.exposedPorts(),
      });
    }

    if (props.monitoring) {
      if (!this.prometheusEnabled) invalid(where, 'monitoring', 'needs enablePrometheus (frps serves /metrics only then)');
      this.monitoring = new FrpMonitoring(this, 'Monitoring', { ...props.monitoring, server: this });
    }

    // Static settings fail here, at once; the final config (with every proxy
    // attached later) is checked again before cdk8s writes anything.
    renderFrpsToml(where, this.config());
    this.node.addValidation({ validate: () => validationErrors(() => this.renderConfig()) });
  }

  /** The Service for vhost ports (created when an http/https/tcpmux proxy attaches). */
  public get vhostService(): kplus.Service | undefined { return this.proxyServices.vhost; }

  /** The Service for remote tcp/udp ports (created when such a proxy attaches). */
  public get remoteService(): kplus.Service | undefined { return this.proxyServices.remote; }

  public allowClients(peer: NetworkPeer): void {
    this.clientPeers.push(peer);
    // an address range admitted later also needs the client address kept
    if (this.externalService && this.props.networkPolicy !== false && peer._isAddressRange()) {
      keepClientAddress(this.node.path, 'externalAccess.externalTrafficPolicy', this.externalService, this.props.externalAccess?.externalTrafficPolicy);
    }
  }

  /**
   * Whether the NetworkPolicy admits the vhost and remote ports by address
   * range (exposurePeers CIDRs): a NodePort or LoadBalancer Service in front
   * of them must then keep the client address. @internal
   */
  public _admitsExposureByAddress(): boolean {
    return this.props.networkPolicy !== false && (this.props.exposurePeers ?? []).some(p => p._isAddressRange());
  }

  /** Service port of the vhost HTTP listener. */
  public get vhostHttpServicePort(): number { return VHOST_HTTP_SERVICE_PORT; }

  /** Service port of the vhost HTTPS listener. */
  public get vhostHttpsServicePort(): number { return VHOST_HTTPS_SERVICE_PORT; }

  public registerProxy(owner: IConstruct, proxy: FrpProxy, options: RegisterProxyOptions = {}): void {
    const where = owner.node.path;
    validateProxy(where, `proxy ${JSON.stringify(proxy?.name)}`, proxy);
    const opened = this.proxies.register(where, proxy);
    if (opened.remotePort && options.exposeRemotePort !== false) {
      this.proxyServices.exposeRemotePort(opened.remotePort.port, opened.remotePort.protocol, proxy.proxyProtocolVersion !== undefined);
    }
    if (opened.listener) this.proxyServices.exposeListener(opened.listener);
    this.rendered = undefined;
  }

  /**
   * Whether a proxy of `protocol` cannot have `port` as its remote port: one
   * of frps' own ports (refused for either protocol by registerProxy), or the
   * remote port of a registered proxy of that protocol.
   * @internal
   */
  public _isPortTaken(protocol: kplus.Protocol, port: number): boolean {
    return this.proxies.isPortTaken(protocol, port);
  }

  /**
   * Raises frps' `vhostHTTPTimeout` (how long an http answer may take to its
   * headers; frp's default is 60 s) to at least `seconds`: the longest any
   * service on this server needs.
   * @param seconds the response timeout a service asks for
   */
  public requireHttpResponseTimeout(seconds: number): void {
    checkInt(this.node.path, 'httpResponseTimeout', seconds, 1, 86400);
    if (seconds > (this.httpResponseTimeout ?? 0)) {
      this.httpResponseTimeout = seconds;
      this.rendered = undefined;
    }
  }

  /**
   * Raises `maxPoolCount` so that a client's `poolCount` is honoured.
   * @param poolCount the pool size a client asks for
   */
  public requirePoolCount(poolCount: number): void {
    if (poolCount > this.maxPoolCount) {
      this.maxPoolCount = poolCount;
      this.rendered = undefined;
    }
  }

  /** The frps config this server renders (at synth time, with every proxy registered so far). */
  public renderConfig(): string {
    if (this.rendered === undefined) this.rendered = renderFrpsToml(this.node.path, this.config());
    return this.rendered;
  }

  private config(): FrpsConfig {
    const p = this.props;
    return frpsConfig({
      ports: this.ctx.ports,
      proxies: this.proxies,
      auth: this.auth,
      tls: this.tlsFiles,
      subDomainHost: this.subDomainHost,
      maxPoolCount: this.maxPoolCount,
      httpResponseTimeout: this.httpResponseTimeout,
      webServerCredentials: p.webServerCredentials !== undefined,
      enablePrometheus: this.prometheusEnabled,
      extraAllowPorts: p.extraAllowPorts,
      logLevel: p.logLevel,
    });
  }
}

/** Runs a check and turns its error into cdk8s validation messages. @internal */
export function validationErrors(check: () => unknown): string[] {
  try {
    check();
    return [];
  } catch (e) {
    return [(e as Error).message];
  }
}
