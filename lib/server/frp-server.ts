import * as net from 'net';
import { Chart, Duration, Lazy, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { FrpLogLevel } from '../frp/common';
import { checkInt, checkPort, invalid } from '../frp/errors';
import { FrpProxy, FrpProxyType, validateProxy } from '../frp/proxy';
import { FrpPortRange, FrpsConfig, FrpServerTlsConfig, renderFrpsToml } from '../frp/server-config';
import { addSecretEnv, mountSecretFiles, FrpAuth } from '../frp-auth';
import { checkBaseName, claimName, derivedName, imageVersion, recommendedLabels, selectorLabels, selectPods } from '../k8s/names';
import {
  checkImage, CONFIG_CHECKSUM_ANNOTATION, resourcesWithDefaults, lazyString, restrictedPodSecurityContext,
  restrictedSecurityContext, sha256, omitUnstoredDefaults,
} from '../k8s/pod-defaults';
import { FrpMonitoring, FrpMonitoringOptions } from '../monitoring/frp-monitoring';
import { IFrpServerMetrics } from '../monitoring/metrics-target';
import { NetworkPeer, PolicyPort, policyRule } from '../network/network-peer';
import { isExternal, setExternalTrafficPolicy } from '../network/traffic-policy';
import { ExternalTrafficPolicy } from '../spec';
import { CertificateAuthority, ICertificateAuthority } from '../tls/certificate-authority';
import { IFrpServerEndpoint } from '../tls/certificate-options';
import { IssuedCertificate } from '../tls/issued-certificate';

/** The frps image this release is tested against. */
export const FRPS_IMAGE = 'fatedier/frps:v0.70.1';

const CONFIG_DIR = '/etc/frp';
/**
 * Readiness delay of an HA frps replica: frpc's login retry interval doubles up
 * to 20 s (+10 % jitter), so after this long every member has logged in again.
 */
const HA_READINESS_DELAY_SECONDS = 25;

/** Label telling frps replicas apart (`replicas` > 1). */
const REPLICA_LABEL = 'frp.io/frps-replica';
const EXTERNAL_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CONFIG_FILE = 'frps.toml';

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
   * Resource requests and limits.
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

interface RemotePortUse {
  readonly owner: string;
  readonly proxy: string;
  readonly group?: string;
  readonly protocol: kplus.Protocol;
}

interface RouteUse {
  readonly owner: string;
  readonly proxy: string;
  readonly group?: string;
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
  private readonly vhostHttpPort: number;
  private readonly vhostHttpsPort: number;
  private readonly tcpmuxPort: number;
  private readonly remotePorts = new Map<string, RemotePortUse>();
  private readonly routes = new Map<string, RouteUse>();
  private readonly routeKinds = new Set<FrpProxyType>();
  private maxPoolCount: number;
  private httpResponseTimeout?: number;
  private _vhostService?: kplus.Service;
  private _remoteService?: kplus.Service;
  private rendered?: string;
  private tlsFiles?: { certFile: string; keyFile: string; trustedCaFile?: string };
  private readonly clientPeers: NetworkPeer[] = [];

  constructor(scope: Construct, id: string, props: FrpServerProps) {
    super(scope, id);
    const where = this.node.path;
    if (!props || !props.auth) invalid(where, 'auth', 'is required: frps never runs without client authentication (use FrpAuth.token(secret) or FrpAuth.oidc(...))');
    this.props = props;
    this.auth = props.auth;
    this.bindPort = props.bindPort ?? 7000;
    this.vhostHttpPort = props.vhostHttpPort ?? 8080;
    this.vhostHttpsPort = props.vhostHttpsPort ?? 8443;
    this.tcpmuxPort = props.tcpmuxHttpConnectPort ?? 5002;
    this.webServerPort = props.webServerPort ?? 7500;
    this.prometheusEnabled = props.enablePrometheus ?? true;
    this.webServerCredentials = props.webServerCredentials;
    this.subDomainHost = props.subDomainHost;
    this.maxPoolCount = props.maxPoolCount ?? 5;
    const own: [string, number][] = [['bindPort', this.bindPort], ['vhostHttpPort', this.vhostHttpPort],
      ['vhostHttpsPort', this.vhostHttpsPort], ['tcpmuxHttpConnectPort', this.tcpmuxPort], ['webServerPort', this.webServerPort]];
    const seen = new Map<number, string>();
    for (const [field, port] of own) {
      checkPort(where, field, port);
      if (port < 1024) invalid(where, field, `must be 1024 or higher: frps runs as a non-root user and cannot bind port ${port} (Services map low ports)`);
      if (seen.has(port)) invalid(where, field, `port ${port} is already used by ${seen.get(port)}`);
      seen.set(port, field);
    }
    if (props.image !== undefined) checkImage(where, 'image', props.image);
    const name = this.name = checkBaseName(where, 'name', props.name ?? 'frps');
    const component = { app: 'frps', instance: name, component: 'tunnel-server', version: imageVersion(props.image ?? FRPS_IMAGE) };
    this.labels = recommendedLabels(component, props.labels);
    const named = (kind: string, n: string, labels = this.labels) => ({ name: claimName(this, kind, n), labels });

    this.configMap = new kplus.ConfigMap(this, 'Config', {
      metadata: named('ConfigMap', derivedName(name, '-config')),
      data: { [CONFIG_FILE]: lazyString(() => this.renderConfig()) },
    });

    this.replicas = props.replicas ?? 1;
    checkInt(where, 'replicas', this.replicas, 1, 9);
    if (this.replicas > 1 && props.externalAccess) {
      invalid(where, 'externalAccess', `is for one frps: with ${this.replicas} replicas an outside frpc would reach one replica and leave the others without its members`);
    }
    this.podLabels = selectorLabels(component);
    const replicaName = (i: number) => (this.replicas === 1 ? name : derivedName(name, `-${i}`));
    const configVolume = kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.configMap, { name: 'config' });
    this.deployments = [];
    this.containers = [];
    for (let i = 0; i < this.replicas; i++) {
      // one Deployment per replica: each replica has a Service (an address) of its own
      const replicaLabels = this.replicas > 1 ? { ...this.labels, [REPLICA_LABEL]: String(i) } : this.labels;
      const deployment = new kplus.Deployment(this, i === 0 ? 'Resource' : `Replica${i}`, {
        replicas: 1,
        metadata: named('Deployment', replicaName(i), replicaLabels),
        podMetadata: { labels: { ...replicaLabels, ...this.podLabels } },
        securityContext: restrictedPodSecurityContext(),
        automountServiceAccountToken: false,
        isolate: false,
        select: false,
      });
      deployment.select(kplus.LabelSelector.of({ labels: replicaSelector(this.podLabels, this.replicas, i) }));
      omitUnstoredDefaults(deployment);
      deployment.podMetadata.addAnnotation(CONFIG_CHECKSUM_ANNOTATION, lazyString(() => sha256(this.renderConfig())));
      const container = deployment.addContainer({
        name: 'frps',
        image: props.image ?? FRPS_IMAGE,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        args: ['-c', `${CONFIG_DIR}/${CONFIG_FILE}`],
        ports: [
          { name: 'control', number: this.bindPort },
          { name: 'metrics', number: this.webServerPort },
        ],
        securityContext: restrictedSecurityContext(),
        resources: resourcesWithDefaults(props.resources),
        // HA: a (re)started replica waits until its frpc members have logged in again
        // (frpc retries its login after 1 s, doubling to 20 s) before it takes traffic
        readiness: kplus.Probe.fromHttpGet('/healthz', {
          port: this.webServerPort,
          periodSeconds: Duration.seconds(5),
          initialDelaySeconds: this.replicas > 1 ? Duration.seconds(HA_READINESS_DELAY_SECONDS) : undefined,
        }),
        liveness: kplus.Probe.fromHttpGet('/healthz', { port: this.webServerPort }),
        volumeMounts: [{ path: CONFIG_DIR, volume: configVolume, readOnly: true }],
      });
      addSecretEnv(container, this.auth._serverEnv());
      if (props.webServerCredentials) {
        container.env.addVariable('FRP_WEB_USER', kplus.EnvValue.fromSecretValue({ secret: props.webServerCredentials, key: 'user' }));
        container.env.addVariable('FRP_WEB_PASSWORD', kplus.EnvValue.fromSecretValue({ secret: props.webServerCredentials, key: 'password' }));
      }
      this.deployments.push(deployment);
      this.containers.push(container);
    }
    this.deployment = this.deployments[0];
    this.container = this.containers[0];
    mountSecretFiles(this, this.containers, this.auth._files(), '');
    this.pods = kplus.Pods.select(this, 'Pods', { labels: this.podLabels });

    this.service = selectPods(new kplus.Service(this, 'Service', {
      metadata: named('Service', name),
      ports: [
        { name: 'control', port: this.bindPort, targetPort: this.bindPort },
        { name: 'metrics', port: this.webServerPort, targetPort: this.webServerPort },
      ],
    }), this.podLabels);
    omitUnstoredDefaults(this.service);
    const ns = Chart.of(this).namespace;
    this.host = ns ? `${this.service.name}.${ns}.svc` : this.service.name;
    this.replicaServices = this.replicas === 1 ? [this.service] : this.deployments.map((_d, i) => selectPods(new kplus.Service(this, `ReplicaService${i}`, {
      metadata: named('Service', replicaName(i), { ...this.labels, [REPLICA_LABEL]: String(i) }),
      // members log in while the replica is not ready yet (it waits for them)
      publishNotReadyAddresses: true,
      ports: [{ name: 'control', port: this.bindPort, targetPort: this.bindPort }],
    }), replicaSelector(this.podLabels, this.replicas, i)));
    if (this.replicas > 1) this.replicaServices.forEach(svc => omitUnstoredDefaults(svc));
    this.replicaHosts = this.replicaServices.map(svc => (ns ? `${svc.name}.${ns}.svc` : svc.name));
    if (this.replicas > 1) {
      this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'DisruptionBudget', {
        metadata: named('PodDisruptionBudget', name),
        spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: this.podLabels } },
      });
    }

    const ext = props.externalAccess;
    this.externalAddresses = [...ext?.addresses ?? []];
    if (ext) {
      const type = ext.serviceType ?? kplus.ServiceType.LOAD_BALANCER;
      if (type !== kplus.ServiceType.LOAD_BALANCER && type !== kplus.ServiceType.NODE_PORT) {
        invalid(where, 'externalAccess.serviceType', `must be LoadBalancer or NodePort (ClusterIP is the in-cluster control Service), got ${JSON.stringify(type)}`);
      }
      if (!Array.isArray(ext.addresses) || ext.addresses.length === 0) {
        invalid(where, 'externalAccess.addresses', 'must list the DNS names or IP addresses external frpc dial (they go into the server certificate)');
      }
      ext.addresses.forEach((a, i) => {
        if (typeof a !== 'string' || !(EXTERNAL_NAME.test(a) || net.isIP(a) !== 0)) invalid(where, `externalAccess.addresses[${i}]`, `must be a DNS name or an IP address, got ${JSON.stringify(a)}`);
      });
      if (ext.nodePort !== undefined && !(Number.isInteger(ext.nodePort) && ext.nodePort >= 1 && ext.nodePort <= 65535)) {
        invalid(where, 'externalAccess.nodePort', `must be a port number (usually 30000-32767), got ${JSON.stringify(ext.nodePort)}`);
      }
      if (props.networkPolicy !== false && (props.clientPeers ?? []).length === 0) {
        invalid(where, 'clientPeers', 'externalAccess opens the control port to outside machines, but the NetworkPolicy admits none: give their addresses as clientPeers (NetworkPeer.cidr), or turn networkPolicy off');
      }
      this.externalService = selectPods(new kplus.Service(this, 'ExternalService', {
        metadata: named('Service', derivedName(name, '-external')),
        type,
        ports: [{ name: 'control', port: this.bindPort, targetPort: this.bindPort, nodePort: ext.nodePort }],
      }), this.podLabels);
      omitUnstoredDefaults(this.externalService);
      const policy = ext.externalTrafficPolicy
        ?? (props.networkPolicy !== false && (props.clientPeers ?? []).some(p => p._isAddressRange()) ? ExternalTrafficPolicy.LOCAL : undefined);
      if (policy) setExternalTrafficPolicy(where, 'externalAccess.externalTrafficPolicy', this.externalService, policy);
    }

    if (props.tls && props.certificateAuthority) invalid(where, 'certificateAuthority', 'tls and certificateAuthority are exclusive: give the Secrets or the CA that issues them');
    this.insecureSkipVerify = props.insecureSkipVerify ?? false;
    if (this.insecureSkipVerify && (props.tls || props.certificateAuthority)) {
      invalid(where, 'insecureSkipVerify', `turns server verification off; it cannot go with ${props.tls ? 'tls' : 'certificateAuthority'}`);
    }
    if (props.requireClientCertificates && (props.tls || this.insecureSkipVerify)) {
      invalid(where, 'requireClientCertificates', props.tls ? 'is for certificateAuthority; with tls use tls.requireClientCertificates' : 'needs a certificateAuthority (client certificates come from it)');
    }
    // secure by default: frpc verifies frps against a CA of the server's own
    const ca = props.tls || this.insecureSkipVerify ? undefined
      : props.certificateAuthority ?? new CertificateAuthority(this, 'Ca', { name: derivedName(name, '-ca') });
    this.certificateAuthority = ca;
    if (ca) {
      this.certificate = ca.issueServerCertificate(issueId(this), {
        server: this,
        name: derivedName(name, '-tls'),
        dnsNames: this.externalAddresses.filter(a => net.isIP(a) === 0),
        ipAddresses: this.externalAddresses.filter(a => net.isIP(a) !== 0),
      });
      const verifyClients = props.requireClientCertificates ?? props.certificateAuthority !== undefined;
      this.mountTls(this.certificate.secret, this.certificate.caSecret, verifyClients);
      const extra = props.additionalClientCas ?? [];
      if (extra.length > 0 && !verifyClients) invalid(where, 'additionalClientCas', 'needs requireClientCertificates (frps checks client certificates only then)');
      if (extra.length > 0) this.mountClientCaBundle(extra, props.image ?? FRPS_IMAGE, props.resources);
      const secrets = uniqueSecrets([this.certificate.secret, this.certificate.caSecret, ...extra.map(c => c.secret)]);
      for (const d of this.deployments) ca.addRotationAnnotations(d, secrets);
    } else if (props.tls) {
      if (props.additionalClientCas?.length) invalid(where, 'additionalClientCas', 'is for certificateAuthority; with tls give the client CA as tls.caSecret');
      this.mountTls(props.tls.secret, props.tls.caSecret ?? props.tls.secret, props.tls.requireClientCertificates !== false, props.tls.caKey);
    }
    this.requiresClientCertificates = this.tlsFiles?.trustedCaFile !== undefined;

    this.clientPeers.push(...props.clientPeers ?? []);
    if (props.networkPolicy !== false) {
      this.networkPolicy = new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
        metadata: named('NetworkPolicy', name),
        spec: {
          podSelector: { matchLabels: this.podLabels },
          policyTypes: ['Ingress'],
          ingress: Lazy.any({ produce: () => this.ingressRules() }) as unknown as k8s.NetworkPolicyIngressRule[],
        },
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
  public get vhostService(): kplus.Service | undefined { return this._vhostService; }

  /** The Service for remote tcp/udp ports (created when such a proxy attaches). */
  public get remoteService(): kplus.Service | undefined { return this._remoteService; }

  public allowClients(peer: NetworkPeer): void {
    this.clientPeers.push(peer);
    // an address range admitted later also needs the client address kept
    if (this.externalService && this.props.externalAccess?.externalTrafficPolicy === undefined
      && this.props.networkPolicy !== false && peer._isAddressRange()) {
      setExternalTrafficPolicy(this.node.path, 'externalAccess.externalTrafficPolicy', this.externalService, ExternalTrafficPolicy.LOCAL);
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

  /** Ingress rules of the NetworkPolicy, from what is attached at synth time. */
  private ingressRules(): k8s.NetworkPolicyIngressRule[] {
    const rule = (ports: PolicyPort[], peers: NetworkPeer[]): k8s.NetworkPolicyIngressRule => {
      const r = policyRule(ports, peers);
      return { ports: r.ports, from: r.peers };
    };
    const rules = [rule([{ port: this.webServerPort, protocol: 'TCP' }], this.props.monitoringPeers ?? [NetworkPeer.namespace('monitoring')])];
    // no attached client: no rule, so the control port stays closed
    if (this.clientPeers.length > 0) rules.unshift(rule([{ port: this.bindPort, protocol: 'TCP' }], this.clientPeers));
    const exposed: PolicyPort[] = [];
    if (this.routeKinds.has(FrpProxyType.HTTP)) exposed.push({ port: this.vhostHttpPort, protocol: 'TCP' });
    if (this.routeKinds.has(FrpProxyType.HTTPS)) exposed.push({ port: this.vhostHttpsPort, protocol: 'TCP' });
    if (this.routeKinds.has(FrpProxyType.TCPMUX)) exposed.push({ port: this.tcpmuxPort, protocol: 'TCP' });
    for (const [key, use] of [...this.remotePorts.entries()].sort()) exposed.push({ port: Number(key.split('/')[1]), protocol: use.protocol === kplus.Protocol.UDP ? 'UDP' : 'TCP' });
    if (exposed.length > 0) rules.push(rule(exposed, this.props.exposurePeers ?? []));
    return rules;
  }

  /** Mounts the certificate (and a separate CA Secret) and points frps at the files. */
  private mountTls(secret: kplus.ISecret, caSecret: kplus.ISecret, verifyClients: boolean, caKey?: string): void {
    const files = mountTlsSecrets(this, this.containers, secret, caSecret, '', caKey);
    this.tlsFiles = { certFile: files.certFile, keyFile: files.keyFile, trustedCaFile: verifyClients ? files.caFile : undefined };
    this.rendered = undefined;
  }

  /**
   * frps trusts its own CA and `extra`: an init container joins their
   * certificates into one PEM bundle on an emptyDir, frps' trustedCaFile.
   */
  private mountClientCaBundle(extra: FrpCaCertificate[], image: string, resources?: kplus.ContainerResources): void {
    const where = this.node.path;
    const bundleDir = '/etc/frp/client-ca';
    const sources = ['/etc/frp/tls/ca.crt'];
    const bundle = kplus.Volume.fromEmptyDir(this, 'ClientCaBundle', 'client-ca', { sizeLimit: Size.mebibytes(1) });
    const volumes = extra.map((ca, i) => {
      const key = ca.key ?? 'ca.crt';
      if (!ca.secret || typeof ca.secret.name !== 'string') invalid(where, `additionalClientCas[${i}].secret`, 'must be a Secret (kplus.ISecret)');
      if (!/^[-._a-zA-Z0-9]+$/.test(key)) invalid(where, `additionalClientCas[${i}].key`, `must be a Secret key ([-._a-zA-Z0-9]+), got ${JSON.stringify(key)}`);
      sources.push(`/etc/frp/client-cas/${i}/ca.crt`);
      // only the CA certificate: a CA Secret also holds the CA's private key
      return kplus.Volume.fromSecret(this, `ClientCa${i}`, ca.secret, { name: `client-ca-${i}`, items: { [key]: { path: 'ca.crt' } } });
    });
    const tlsVolume = kplus.Volume.fromSecret(this, 'ClientCaOwn', this.certificate!.secret, { name: 'tls-ca-own', items: { 'ca.crt': { path: 'ca.crt' } } });
    // every certificate on lines of its own (a file may lack the final newline); a missing
    // or empty file (a wrong key, a Secret not yet filled) stops the pod, naming the file
    const script = `set -e; for f in ${sources.join(' ')}; do [ -s "$f" ] || { echo "client-ca-bundle: $f is missing or empty" >&2; exit 1; }; cat "$f"; echo; done > ${bundleDir}/ca.crt`;
    for (const d of this.deployments) {
      d.addInitContainer({
        name: 'client-ca-bundle',
        image,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        command: ['sh', '-c', script],
        securityContext: restrictedSecurityContext(),
        resources: resourcesWithDefaults(resources),
        volumeMounts: [
          { path: '/etc/frp/tls', volume: tlsVolume, readOnly: true },
          ...volumes.map((v, i) => ({ path: `/etc/frp/client-cas/${i}`, volume: v, readOnly: true })),
          { path: bundleDir, volume: bundle },
        ],
      });
    }
    for (const c of this.containers) c.mount(bundleDir, bundle, { readOnly: true });
    this.tlsFiles = { ...this.tlsFiles!, trustedCaFile: `${bundleDir}/ca.crt` };
    this.rendered = undefined;
  }

  /** Service port of the vhost HTTP listener. */
  public get vhostHttpServicePort(): number { return 80; }

  /** Service port of the vhost HTTPS listener. */
  public get vhostHttpsServicePort(): number { return 443; }

  public registerProxy(owner: IConstruct, proxy: FrpProxy, options: RegisterProxyOptions = {}): void {
    const where = owner.node.path;
    validateProxy(where, `proxy ${JSON.stringify(proxy?.name)}`, proxy);
    const use = { owner: where, proxy: proxy.name, group: proxy.group };
    if (proxy.type === FrpProxyType.TCP || proxy.type === FrpProxyType.UDP) {
      const port = proxy.remotePort!;
      const field = `proxy ${JSON.stringify(proxy.name)}.remotePort`;
      if (port < 1024) invalid(where, field, `must be 1024 or higher: frps runs as a non-root user and cannot listen on ${port}`);
      for (const own of [this.bindPort, this.webServerPort, this.vhostHttpPort, this.vhostHttpsPort, this.tcpmuxPort]) {
        if (port === own) invalid(where, field, `port ${port} is one of frps' own ports on ${this.node.path} (control ${this.bindPort}, web ${this.webServerPort}, vhost ${this.vhostHttpPort}/${this.vhostHttpsPort}, tcpmux ${this.tcpmuxPort})`);
      }
      const protocol = proxy.type === FrpProxyType.UDP ? kplus.Protocol.UDP : kplus.Protocol.TCP;
      const key = `${protocol}/${port}`;
      const prev = this.remotePorts.get(key);
      if (prev) {
        if (!(prev.group && prev.group === proxy.group)) {
          invalid(where, field, `${key.toLowerCase()} is already used on ${this.node.path} by ${prev.owner} (proxy ${JSON.stringify(prev.proxy)}); only members of one load-balancing group may share a remote port`);
        }
        return;
      }
      this.remotePorts.set(key, { ...use, protocol });
      if (options.exposeRemotePort !== false) {
        this.remoteServiceOrCreate().bind(port, { name: `${protocol.toLowerCase()}-${port}`, targetPort: port, protocol });
        // the backend reads the client address from the PROXY header
        if (proxy.proxyProtocolVersion !== undefined) this.keepClientAddressOnRemoteService();
      }
    } else {
      for (const domain of this.domainsOf(where, proxy)) {
        const locations = proxy.type === FrpProxyType.HTTP ? (proxy.locations ?? ['/']) : [''];
        for (const location of locations) {
          const key = `${proxy.type} ${domain}${location}`;
          const prev = this.routes.get(key);
          if (prev && !(prev.group && prev.group === proxy.group)) {
            invalid(where, `proxy ${JSON.stringify(proxy.name)}.customDomains`, `route ${proxy.type}://${domain}${location} is already served on ${this.node.path} by ${prev.owner} (proxy ${JSON.stringify(prev.proxy)}); only members of one load-balancing group may share a route`);
          }
          if (!prev) this.routes.set(key, use);
        }
      }
      if (!this.routeKinds.has(proxy.type)) {
        this.routeKinds.add(proxy.type);
        const svc = this.vhostServiceOrCreate();
        if (proxy.type === FrpProxyType.HTTP) svc.bind(80, { name: 'http', targetPort: this.vhostHttpPort });
        if (proxy.type === FrpProxyType.HTTPS) svc.bind(443, { name: 'https', targetPort: this.vhostHttpsPort });
        if (proxy.type === FrpProxyType.TCPMUX) svc.bind(this.tcpmuxPort, { name: 'tcpmux', targetPort: this.tcpmuxPort });
      }
    }
    this.rendered = undefined;
  }

  /**
   * Whether a proxy of `protocol` cannot have `port` as its remote port: one
   * of frps' own ports (refused for either protocol by registerProxy), or the
   * remote port of a registered proxy of that protocol.
   * @internal
   */
  public _isPortTaken(protocol: kplus.Protocol, port: number): boolean {
    const own = [this.bindPort, this.webServerPort, this.vhostHttpPort, this.vhostHttpsPort, this.tcpmuxPort];
    return own.includes(port) || this.remotePorts.has(`${protocol}/${port}`);
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
    const tls: FrpServerTlsConfig | undefined = this.tlsFiles;
    return {
      bindPort: this.bindPort,
      vhostHttpPort: this.routeKinds.has(FrpProxyType.HTTP) ? this.vhostHttpPort : undefined,
      vhostHttpsPort: this.routeKinds.has(FrpProxyType.HTTPS) ? this.vhostHttpsPort : undefined,
      tcpmuxHttpConnectPort: this.routeKinds.has(FrpProxyType.TCPMUX) ? this.tcpmuxPort : undefined,
      vhostHttpTimeout: this.routeKinds.has(FrpProxyType.HTTP) ? this.httpResponseTimeout : undefined,
      subDomainHost: this.subDomainHost,
      auth: this.auth._serverConfig(),
      tls,
      maxPoolCount: this.maxPoolCount,
      webServer: {
        port: this.webServerPort,
        userEnv: p.webServerCredentials ? 'FRP_WEB_USER' : undefined,
        passwordEnv: p.webServerCredentials ? 'FRP_WEB_PASSWORD' : undefined,
      },
      enablePrometheus: this.prometheusEnabled,
      allowPorts: this.allowPorts(),
      logLevel: p.logLevel,
    };
  }

  /** Remote ports of attached proxies plus the extra ones, merged into ranges. */
  private allowPorts(): FrpPortRange[] {
    const ports = new Set<number>();
    for (const k of this.remotePorts.keys()) ports.add(Number(k.split('/')[1]));
    const ranges: FrpPortRange[] = [];
    for (const port of [...ports].sort((a, b) => a - b)) {
      const last = ranges[ranges.length - 1];
      if (last && (last.end ?? last.start) + 1 === port) ranges[ranges.length - 1] = { start: last.start, end: port };
      else ranges.push({ start: port });
    }
    const all = [...ranges, ...(this.props.extraAllowPorts ?? [])];
    // frp treats an empty list as "every port": allow nothing usable instead.
    return all.length > 0 ? all : [{ start: 1 }];
  }

  private domainsOf(where: string, proxy: FrpProxy): string[] {
    const domains = [...(proxy.customDomains ?? [])];
    const field = `proxy ${JSON.stringify(proxy.name)}`;
    if (proxy.subdomain !== undefined) {
      if (!this.subDomainHost) invalid(where, `${field}.subdomain`, `needs subDomainHost on the FrpServer ${this.node.path}`);
      domains.push(`${proxy.subdomain}.${this.subDomainHost}`);
    }
    if (this.subDomainHost) {
      for (const d of proxy.customDomains ?? []) {
        if (d.endsWith(`.${this.subDomainHost}`)) invalid(where, `${field}.customDomains`, `${d} is under the server's subDomainHost ${this.subDomainHost}: use subdomain instead (frps refuses it)`);
      }
    }
    return domains;
  }

  private vhostServiceOrCreate(): kplus.Service {
    if (!this._vhostService) {
      this._vhostService = selectPods(new kplus.Service(this, 'VhostService', {
        metadata: { name: claimName(this, 'Service', derivedName(this.name, '-vhost')), labels: this.labels },
        ports: [],
      }), this.podLabels);
      omitUnstoredDefaults(this._vhostService);
    }
    return this._vhostService;
  }

  private remoteServiceOrCreate(): kplus.Service {
    if (!this._remoteService) {
      this._remoteService = selectPods(new kplus.Service(this, 'RemoteService', {
        metadata: { name: claimName(this, 'Service', derivedName(this.name, '-remote')), labels: this.labels },
        type: this.props.remotePortsServiceType ?? kplus.ServiceType.CLUSTER_IP,
        ports: [],
      }), this.podLabels);
      omitUnstoredDefaults(this._remoteService);
      const override = this.props.remotePortsExternalTrafficPolicy;
      if (override !== undefined) {
        setExternalTrafficPolicy(this.node.path, 'remotePortsExternalTrafficPolicy', this._remoteService, override);
      } else if (this._admitsExposureByAddress()) {
        this.keepClientAddressOnRemoteService();
      }
    }
    return this._remoteService;
  }

  /** externalTrafficPolicy Local on an outside-facing remote-ports Service, unless the user chose. */
  private keepClientAddressOnRemoteService(): void {
    const svc = this._remoteService;
    if (!svc || this.props.remotePortsExternalTrafficPolicy !== undefined || !isExternal(svc.type)) return;
    setExternalTrafficPolicy(this.node.path, 'remotePortsExternalTrafficPolicy', svc, ExternalTrafficPolicy.LOCAL);
  }
}

/** A certificate id that is unique per CA: the requester's path. @internal */
export function issueId(requester: IConstruct): string {
  return requester.node.path.replace(/\//g, '-');
}

/** Secrets that differ (by name), in order. @internal */
export function uniqueSecrets(secrets: kplus.ISecret[]): kplus.ISecret[] {
  return secrets.filter((x, i) => secrets.findIndex(y => y.name === x.name) === i);
}

/**
 * Mounts a certificate Secret at /etc/frp/tls<suffix> and, when the CA comes
 * from another Secret, that one at /etc/frp/tls-ca<suffix>; returns the file
 * paths. @internal
 */
export function mountTlsSecrets(
  scope: Construct, containers: kplus.Container | kplus.Container[], secret: kplus.ISecret | undefined, caSecret: kplus.ISecret, suffix: string,
  caKey: string = 'ca.crt',
) {
  const all = Array.isArray(containers) ? containers : [containers];
  const dir = '/etc/frp/tls';
  if (secret) {
    const volume = kplus.Volume.fromSecret(scope, 'TlsVolume', secret, { name: `tls${suffix}` });
    for (const c of all) c.mount(dir, volume, { readOnly: true });
  }
  let caDir = dir;
  // without a certificate to present, only the CA certificate is mounted (never a key)
  if (caSecret.name !== secret?.name) {
    caDir = '/etc/frp/tls-ca';
    // only the CA certificate: a CA Secret also holds the CA's private key
    if (!/^[-._a-zA-Z0-9]+$/.test(caKey)) invalid(scope.node.path, 'caKey', `must be a Secret key ([-._a-zA-Z0-9]+), got ${JSON.stringify(caKey)}`);
    const caVolume = kplus.Volume.fromSecret(scope, 'TlsCaVolume', caSecret, { name: `tls-ca${suffix}`, items: { [caKey]: { path: 'ca.crt' } } });
    for (const c of all) c.mount(caDir, caVolume, { readOnly: true });
  }
  return { certFile: `${dir}/tls.crt`, keyFile: `${dir}/tls.key`, caFile: `${caDir}/ca.crt` };
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

/** The labels that select one replica's pods (all pods with one replica). */
function replicaSelector(podLabels: { [key: string]: string }, replicas: number, i: number): { [key: string]: string } {
  return replicas === 1 ? podLabels : { ...podLabels, [REPLICA_LABEL]: String(i) };
}
