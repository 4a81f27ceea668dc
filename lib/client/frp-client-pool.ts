import { Chart, Lazy } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { FrpcConfig, FrpClientTlsConfig, renderFrpcToml } from '../frp/client-config';
import { FrpAuthMethod, FrpLogLevel } from '../frp/common';
import { checkInt, checkNonEmpty, checkPort, invalid } from '../frp/errors';
import { FrpProxy, FrpProxyType } from '../frp/proxy';
import { addSecretEnv, mountSecretFiles, ENV, FrpAuth } from '../frp-auth';
import { ForeignWorkload, foreignPodLabels, foreignWorkload, mergePodTemplate, shadowPod } from '../k8s/foreign-workload';
import { checkBaseName, claimContainer, claimName, derivedName, imageVersion, recommendedLabels, selectorLabels } from '../k8s/names';
import {
  checkImage, CONFIG_CHECKSUM_ANNOTATION, resourcesWithDefaults, lazyString, restrictedPodProps,
  restrictedSecurityContext, sha256, omitUnstoredDefaults,
} from '../k8s/pod-defaults';
import { DNS_PORTS, NetworkPeer, PolicyPort, policyRule } from '../network/network-peer';
import { IFrpServer, issueId, mountTlsSecrets, uniqueSecrets, validationErrors } from '../server/frp-server';
import { caIdentity, ICertificateAuthority } from '../tls/certificate-authority';
import { IssuedCertificate } from '../tls/issued-certificate';

/** The frpc image this release is tested against. */
export const FRPC_IMAGE = 'fatedier/frpc:v0.70.1';

const CONFIG_DIR = '/etc/frp';
const CONFIG_FILE = 'frpc.toml';

/** Options for frpc as its own Deployment. */
export interface FrpClientDeploymentOptions {
  /**
   * Number of frpc pods; each one is a distinct member of every group.
   * @default 1
   */
  readonly replicas?: number;
}

/** Where frpc runs. */
export class FrpClientWorkload {
  /** frpc as a Deployment of its own, forwarding to backends over the network. */
  public static deployment(options: FrpClientDeploymentOptions = {}): FrpClientWorkload {
    return new FrpClientWorkload('deployment', options.replicas ?? 1);
  }

  /** frpc as a DaemonSet: one member per node. */
  public static daemonSet(): FrpClientWorkload {
    return new FrpClientWorkload('daemonset', undefined);
  }

  /**
   * frpc as a sidecar container in an existing workload's pods: one member per
   * backend pod, forwarding to 127.0.0.1. The workload may come from any
   * cdk8s-plus version (28 to 33 and later) or be any ApiObject with a pod
   * template (a KubeDeployment from `cdk8s import`): frpc's containers,
   * volumes and annotations are merged into its rendered pod template.
   * @param workload the backend workload (e.g. a Deployment of cdk8s-plus-33)
   */
  public static sidecar(workload: IConstruct): FrpClientWorkload {
    return new FrpClientWorkload('sidecar', undefined, workload);
  }

  private constructor(
    /** @internal */ public readonly _kind: 'deployment' | 'daemonset' | 'sidecar',
    /** @internal */ public readonly _replicas?: number,
    /** @internal */ public readonly _workload?: IConstruct,
  ) {}
}

/** TLS from frpc to frps, from existing Secrets. */
export interface FrpClientTlsOptions {
  /**
   * Secret with `ca.crt` (to verify frps, unless caSecret is given) and, for mTLS, `tls.crt`/`tls.key`.
   */
  readonly secret: kplus.ISecret;
  /**
   * Secret whose `ca.crt` verifies frps.
   * @default - `ca.crt` of `secret`
   */
  readonly caSecret?: kplus.ISecret;
  /**
   * Present the client certificate from the Secret (mTLS).
   * @default true
   */
  readonly clientCertificate?: boolean;
  /**
   * Name to verify in the frps certificate.
   * @default - the server address
   */
  readonly serverName?: string;
  /**
   * Key of the CA certificate in `caSecret` (only that key is mounted, never
   * the CA's private key). Use `tls.crt` for a CA Secret made with
   * `kubectl create secret tls`.
   * @default "ca.crt"
   */
  readonly caKey?: string;
}

/** Properties of an FrpClientPool. */
export interface FrpClientPoolProps {
  /**
   * Base name of the objects: the Deployment or DaemonSet is `<name>`, the
   * ConfigMap `<name>-config`, the client certificate Secret `<name>-tls`. The
   * container is always `frpc` (`frpc-<i>` with an HA frps of several
   * replicas). Two pools in one namespace need different names.
   * @default "frpc"
   */
  readonly name?: string;
  /**
   * The FrpServer in this app to connect to. Its Service name, port and auth are used,
   * and the proxies are registered with it (ports, allowPorts, clashes).
   * @default - serverAddress must be given
   */
  readonly server?: IFrpServer;
  /**
   * Address of an frps outside this app.
   * @default - the server's Service DNS name
   */
  readonly serverAddress?: string;
  /**
   * Port of an frps outside this app.
   * @default - the server's bindPort, or 7000
   */
  readonly serverPort?: number;
  /**
   * Authentication to frps. With an in-app `server` it must be that server's auth.
   * @default - the server's auth
   */
  readonly auth?: FrpAuth;
  /**
   * Where frpc runs.
   * @default FrpClientWorkload.deployment({ replicas: 1 })
   */
  readonly workload?: FrpClientWorkload;
  /**
   * Proxies to open. Proxies that set `group` join that load-balancing group;
   * every pod of the pool is a separate member.
   * @default - none; add them with addProxy()
   */
  readonly proxies?: FrpProxy[];
  /**
   * Add the pool's tcp/udp remote ports to the server's shared remote-ports
   * Service (off when you expose them with a Service of your own).
   * @default true
   */
  readonly exposeRemotePorts?: boolean;
  /**
   * Secret holding the load-balancing group key, used by every grouped proxy.
   * Any bytes (a trailing newline included) work and are kept: frp's groupKey is
   * the hex of the value's bytes, the same on every member (also on an
   * FrpExternalClient). A frpc configured by hand joins with
   * ``groupKey = "{{ printf `%x` .Envs.NAME }}"`` or that hex literally.
   * @default - no group key
   */
  readonly groupKeySecret?: kplus.ISecret;
  /**
   * Key of the group key in groupKeySecret.
   * @default "group-key"
   */
  readonly groupKeySecretKey?: string;
  /**
   * Work connections kept open ahead of time (frps' maxPoolCount is raised to fit).
   * @default 1
   */
  readonly poolCount?: number;
  /**
   * Seconds to wait when dialling frps.
   * @default 10
   */
  readonly dialServerTimeoutSeconds?: number;
  /**
   * TCP keepalive towards frps, in seconds.
   * @default 7200
   */
  readonly dialServerKeepaliveSeconds?: number;
  /**
   * TLS towards frps from existing Secrets: the client certificate, and the
   * CA that verifies frps (`caSecret`; with an in-app server that has a
   * certificateAuthority, frps is verified against that authority unless
   * caSecret is given). Exclusive with certificateAuthority.
   * @default - from the server's certificateAuthority
   */
  readonly tls?: FrpClientTlsOptions;
  /**
   * Issue this pool's client certificate from a CertificateAuthority (mTLS),
   * in the pool's namespace. frpc verifies frps against the server's
   * certificateAuthority (this one, for an frps outside this app) by the
   * server's Service name.
   * @default - the server's certificateAuthority, if it has one
   */
  readonly certificateAuthority?: ICertificateAuthority;
  /**
   * Do not verify frps' certificate (not recommended): for an frps outside
   * this app whose CA you cannot give (`tls.caSecret`). Anyone who can
   * intercept the connection can pose as frps and collect the token. An
   * in-app server decides this itself (FrpServerProps.insecureSkipVerify).
   * @default false
   */
  readonly insecureSkipVerify?: boolean;
  /**
   * Port of frpc's admin web server (`/healthz` for probes, `/api/reload`). It
   * listens on 127.0.0.1 only: the admin API has no authentication.
   * @default 7400
   */
  readonly adminPort?: number;
  /**
   * Container image.
   * @default "fatedier/frpc:v0.70.1"
   */
  readonly image?: string;
  /**
   * Resource requests and limits.
   * @default - cpu 50m/500m, memory 32Mi/256Mi (fields you leave out keep these values)
   */
  readonly resources?: kplus.ContainerResources;
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
  /**
   * Render a NetworkPolicy for the frpc pods: no ingress (the admin API is
   * loopback-only), egress only to frps, DNS and the proxies' local ports. Not
   * rendered for sidecars, whose pods belong to the backend workload.
   * @default true
   */
  readonly networkPolicy?: boolean;
}

/**
 * frpc on Kubernetes: a Deployment, a DaemonSet, or a sidecar in existing
 * pods, with a generated frpc.toml. Every pod logs in with `<namespace>.<pod
 * name>` as frp `user`, so replicas are distinct members of their
 * load-balancing groups and frps names each member `<namespace>.<pod>.<proxy>`.
 */
export class FrpClientPool extends Construct {
  /** ConfigMap holding frpc.toml. */
  public readonly configMap: kplus.ConfigMap;
  /** The frpc container (the first one, with an HA frps). */
  public readonly container: kplus.Container;
  /** One frpc container per frps replica (one for a single frps). */
  public readonly containers: kplus.Container[];
  /** The address each frpc container dials (one per frps replica). */
  public readonly serverAddresses: string[];
  /** The workload running frpc (the backend's own workload for sidecars, of any cdk8s-plus version). */
  public readonly workload: IConstruct;
  /** Labels that select the pods running this pool's frpc. */
  public readonly podLabels: { [key: string]: string };
  /** Address frpc dials. */
  public readonly serverAddress: string;
  /** Port frpc dials. */
  public readonly serverPort: number;
  /** Labels on the objects this pool creates. */
  public readonly labels: { [key: string]: string };
  /** The server, when it is in this app. */
  public readonly server?: IFrpServer;
  /** The NetworkPolicy of the frpc pods, unless turned off or a sidecar. */
  public readonly networkPolicy?: k8s.KubeNetworkPolicy;
  /** Base name of the objects (`<name>`, `<name>-config`, ...). */
  public readonly name: string;
  /** The Secret with the load-balancing group key, if any (external members need the same key). */
  public readonly groupKeySecret?: kplus.ISecret;
  /** The group key's key in groupKeySecret. */
  public readonly groupKeySecretKey: string;

  private readonly props: FrpClientPoolProps;
  private readonly auth: FrpAuth;
  private readonly proxies: FrpProxy[] = [];
  private readonly adminPort: number;
  private readonly rendered = new Map<number, string>();
  private tlsConfig?: FrpClientTlsConfig;

  /** The issued client certificate, when a CertificateAuthority is used. */
  public readonly certificate?: IssuedCertificate;

  constructor(scope: Construct, id: string, props: FrpClientPoolProps) {
    super(scope, id);
    const where = this.node.path;
    this.props = props ?? {};
    const p = this.props;
    if (!p.server && !p.serverAddress) invalid(where, 'server', 'either server (an FrpServer in this app) or serverAddress is required');
    if (p.serverAddress !== undefined) checkNonEmpty(where, 'serverAddress', p.serverAddress);
    checkPort(where, 'serverPort', p.serverPort);
    if (p.server && p.auth && p.auth !== p.server.auth) {
      invalid(where, 'auth', `differs from the auth of the server ${p.server.node.path}: frps would reject this client (leave auth unset to use the server's)`);
    }
    const auth = p.auth ?? p.server?.auth;
    if (!auth) invalid(where, 'auth', 'is required when connecting to an frps outside this app (FrpAuth.token(secret) or FrpAuth.oidc(...))');
    this.auth = auth;
    this.server = p.server;
    this.serverAddress = p.serverAddress ?? p.server!.host;
    this.serverPort = p.serverPort ?? p.server?.bindPort ?? 7000;
    this.adminPort = p.adminPort ?? 7400;
    this.groupKeySecret = p.groupKeySecret;
    this.groupKeySecretKey = p.groupKeySecretKey ?? 'group-key';
    checkPort(where, 'adminPort', this.adminPort);
    if (this.adminPort < 1024) invalid(where, 'adminPort', `must be 1024 or higher (frpc runs as a non-root user), got ${this.adminPort}`);
    checkInt(where, 'poolCount', p.poolCount, 0, 100);
    checkInt(where, 'dialServerTimeoutSeconds', p.dialServerTimeoutSeconds, 1, 3600);
    checkInt(where, 'dialServerKeepaliveSeconds', p.dialServerKeepaliveSeconds, -1, 86400);
    if (p.image !== undefined) checkImage(where, 'image', p.image);
    if (p.groupKeySecretKey !== undefined && !p.groupKeySecret) invalid(where, 'groupKeySecretKey', 'needs groupKeySecret');
    if (p.poolCount !== undefined) this.server?.requirePoolCount(p.poolCount);

    const kind = p.workload ?? FrpClientWorkload.deployment();
    if (kind._replicas !== undefined) checkInt(where, 'workload.replicas', kind._replicas, 1, 1000);
    const name = this.name = checkBaseName(where, 'name', p.name ?? 'frpc');
    const component = { app: 'frpc', instance: name, component: 'tunnel-client', version: imageVersion(p.image ?? FRPC_IMAGE) };
    this.labels = recommendedLabels(component, p.labels);
    const podLabels = selectorLabels(component);

    // HA frps: one frpc per frps replica in every pod, each with its own config
    // and login, so that every replica holds every group
    this.serverAddresses = !p.serverAddress && p.server?.replicaHosts && p.server.replicaHosts.length > 1
      ? [...p.server.replicaHosts] : [this.serverAddress];
    const replicas = this.serverAddresses.length;
    if (this.adminPort + replicas - 1 > 65535) invalid(where, 'adminPort', `${this.adminPort} + ${replicas - 1} (one admin port per frps replica) exceeds 65535`);
    const files = this.serverAddresses.map((_, i) => (replicas === 1 ? CONFIG_FILE : `replica-${i}.${CONFIG_FILE}`));
    this.configMap = new kplus.ConfigMap(this, 'Config', {
      metadata: { name: claimName(this, 'ConfigMap', derivedName(name, '-config')), labels: this.labels },
      data: Object.fromEntries(files.map((f, i) => [f, lazyString(() => this.renderConfig(i))])),
    });

    let foreign: ForeignWorkload | undefined;
    let host: kplus.AbstractPod;
    if (kind._kind === 'sidecar') {
      if (!kind._workload) invalid(where, 'workload', 'FrpClientWorkload.sidecar needs the workload to add frpc to');
      this.workload = kind._workload;
      foreign = foreignWorkload(where, kind._workload);
      // frpc's pod parts are built on a detached Deployment and merged into the workload's pod template
      host = shadowPod();
    } else {
      const daemonSet = kind._kind === 'daemonset';
      const common = {
        metadata: { name: claimName(this, daemonSet ? 'DaemonSet' : 'Deployment', name), labels: this.labels },
        podMetadata: { labels: { ...this.labels, ...podLabels } },
        ...restrictedPodProps(),
      };
      const own = daemonSet
        ? new kplus.DaemonSet(this, 'Resource', common)
        : new kplus.Deployment(this, 'Resource', { ...common, replicas: kind._replicas ?? 1 });
      own.select(kplus.LabelSelector.of({ labels: podLabels }));
      omitUnstoredDefaults(own);
      this.workload = own;
      host = own;
    }
    // The containers are `frpc` (or `frpc-<i>`) everywhere; a second pool in
    // the same pods is an error that names both pools. In someone else's pods
    // the volumes carry a `-frpc` suffix.
    const sidecar = kind._kind === 'sidecar';
    const suffix = sidecar ? '-frpc' : '';
    host.podMetadata.addAnnotation(sidecar ? 'checksum/frpc' : CONFIG_CHECKSUM_ANNOTATION,
      lazyString(() => sha256(this.serverAddresses.map((_, i) => this.renderConfig(i)).join('\n'))));

    const configVolume = kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.configMap, { name: 'frpc-config' });
    this.containers = files.map((file, i) => {
      const containerName = replicas === 1 ? 'frpc' : `frpc-${i}`;
      if (sidecar) claimContainer(this, this.workload, containerName);
      const container = host.addContainer({
        name: containerName,
        image: p.image ?? FRPC_IMAGE,
        imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
        args: ['-c', `${CONFIG_DIR}/${file}`],
        securityContext: restrictedSecurityContext(),
        resources: resourcesWithDefaults(p.resources),
        // The admin API (reload, stop) has no auth, so it listens on 127.0.0.1
        // only and the probes run inside the container (busybox wget).
        readiness: kplus.Probe.fromCommand(healthCommand(this.adminPort + i)),
        liveness: kplus.Probe.fromCommand(healthCommand(this.adminPort + i)),
        // frpc v0.70.1 exits at once on SIGTERM over tcp: before it, frpc's own stop
        // closes its proxies (frps stops routing to this member) and its session
        lifecycle: { preStop: kplus.Handler.fromCommand(stopCommand(`${CONFIG_DIR}/${file}`)) },
        volumeMounts: [{ path: CONFIG_DIR, volume: configVolume, readOnly: true }],
      });
      // frp `user` = <namespace>.<pod>: unique on a shared frps, and the namespace
      // tells equal service names apart in frps' metrics (`{user}.{proxy}`)
      container.env.addVariable(ENV.POD_NAME, kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME));
      container.env.addVariable(ENV.POD_NAMESPACE, kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE));
      container.env.addVariable(ENV.USER, kplus.EnvValue.fromValue(`$(${ENV.POD_NAMESPACE}).$(${ENV.POD_NAME})`));
      addSecretEnv(container, this.auth._clientEnv());
      if (p.groupKeySecret) {
        container.env.addVariable(ENV.GROUP_KEY, kplus.EnvValue.fromSecretValue({ secret: p.groupKeySecret, key: p.groupKeySecretKey ?? 'group-key' }));
      }
      return container;
    });
    this.container = this.containers[0];
    mountSecretFiles(this, this.containers, this.auth._files(), suffix);
    if (p.tls && p.certificateAuthority) invalid(where, 'certificateAuthority', 'tls and certificateAuthority are exclusive: give the Secrets or the CA that issues them');
    this.certificate = this.configureTls(host, suffix);
    if (p.server?.requiresClientCertificates && !this.tlsConfig?.certFile) {
      invalid(where, 'tls', `the server ${p.server.node.path} requires client certificates: give tls (with a client certificate) or certificateAuthority`);
    }
    if (!this.tlsConfig?.trustedCaFile && !p.server?.insecureSkipVerify && !p.insecureSkipVerify) {
      invalid(where, 'tls', p.server
        ? `frpc cannot verify the server ${p.server.node.path}, whose certificate comes from Secrets (its tls): give tls.caSecret with the CA that signed it`
        : `frpc cannot verify the frps at ${this.serverAddress}: give tls.caSecret (the CA of its certificate) or certificateAuthority, or opt out with insecureSkipVerify: true`);
    }
    // The pool's pods may reach frps' control port; their own policy lets
    // them reach frps, DNS and the backends, nothing else.
    if (foreign) mergePodTemplate(foreign, this, host as kplus.Deployment);
    this.podLabels = foreign ? foreignPodLabels(foreign) : podLabels;
    const podSelector = { matchLabels: this.podLabels };
    const ownNs = Chart.of(this).namespace;
    p.server?.allowClients(NetworkPeer.pods(podSelector.matchLabels ?? {}, ownNs));
    if (!sidecar && p.networkPolicy !== false) {
      this.networkPolicy = new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
        metadata: { name: claimName(this, 'NetworkPolicy', name), labels: this.labels },
        spec: {
          podSelector,
          policyTypes: ['Ingress', 'Egress'],
          egress: Lazy.any({ produce: () => this.egressRules() }) as unknown as k8s.NetworkPolicyEgressRule[],
        },
      });
    }

    for (const proxy of p.proxies ?? []) this.addProxy(proxy);
    renderFrpcToml(where, this.config());
    this.node.addValidation({ validate: () => validationErrors(() => this.serverAddresses.map((_, i) => this.renderConfig(i))) });
  }

  /**
   * TLS towards frps: which CA verifies it and which client certificate frpc
   * presents. Certificates are issued in this pool's namespace, where it
   * mounts their Secrets.
   */
  private configureTls(host: kplus.AbstractPod, suffix: string): IssuedCertificate | undefined {
    const p = this.props;
    const namespace = Chart.of(this).namespace;
    const serverCa = p.server?.certificateAuthority;
    const clientCa = p.tls ? undefined : p.certificateAuthority ?? serverCa;
    // frps demands a certificate, or the user asked for one (mTLS to an frps outside this app)
    const present = p.tls ? p.tls.clientCertificate !== false
      : !p.server || p.server.requiresClientCertificates || p.certificateAuthority !== undefined;
    let client: kplus.ISecret | undefined;
    let certificate: IssuedCertificate | undefined;
    // a certificate for another namespace than its authority's is rendered in this pool's chart
    const owner = (ca: ICertificateAuthority) => (Chart.of(ca).namespace !== namespace ? { owner: this } : {});
    if (clientCa) {
      certificate = clientCa.issueClientCertificate(issueId(this), { name: derivedName(this.name, '-tls'), namespace, ...owner(clientCa) });
      client = certificate.secret;
    } else if (p.tls) {
      client = p.tls.secret;
    }
    // the CA that verifies frps: the given one, or the server's authority's (ca.crt of a certificate it issues here)
    let trust: kplus.ISecret | undefined = p.tls?.caSecret;
    let trustKey = p.tls?.caSecret ? p.tls.caKey : undefined;
    const authorities = clientCa ? [clientCa] : [];
    if (!trust && serverCa && (!clientCa || caIdentity(serverCa) !== caIdentity(clientCa))) {
      const anchor = serverCa.issueClientCertificate(`${issueId(this)}-server-ca`, { name: derivedName(this.name, '-server-ca'), namespace, ...owner(serverCa) });
      trust = anchor.secret;
      trustKey = 'ca.crt';
      authorities.push(serverCa);
    }
    if (!client && !trust) return undefined;
    // a certificate frpc does not present serves only for its ca.crt: its key is not mounted
    const mountedClient = present ? client : undefined;
    const files = mountTlsSecrets(this, this.containers, mountedClient, trust ?? client!, suffix, trustKey);
    const verifiesServer = trust !== undefined || clientCa !== undefined || p.tls !== undefined;
    this.tlsConfig = {
      enable: true,
      trustedCaFile: verifiesServer ? files.caFile : undefined,
      certFile: present && client ? files.certFile : undefined,
      keyFile: present && client ? files.keyFile : undefined,
      // the server certificate names the Service frpc dials (and every replica's)
      serverName: p.tls?.serverName ?? (serverCa ? p.server?.host : undefined),
    };
    const mounted = uniqueSecrets([...(mountedClient ? [mountedClient] : []), trust ?? client!]);
    for (const ca of authorities) ca.addRotationAnnotations(host, mounted);
    return certificate;
  }

  /**
   * Adds a proxy to every frpc of this pool (and registers it with the server).
   * @param proxy the proxy; if it sets `group`, each pod joins that group
   */
  public addProxy(proxy: FrpProxy): void {
    const where = this.node.path;
    const field = `proxies[${this.proxies.length}]`;
    if (!proxy) invalid(where, field, 'must be a proxy');
    if (proxy.groupKeyEnv !== undefined || proxy.groupKeyHexEnv !== undefined) invalid(where, `${field}.groupKeyEnv`, 'is set by the pool: use groupKeySecret on the FrpClientPool');
    const dup = this.proxies.findIndex(x => x.name === proxy.name);
    if (dup >= 0) invalid(where, `${field}.name`, `duplicate proxy name ${JSON.stringify(proxy.name)} (also proxies[${dup}])`);
    const full: FrpProxy = proxy.group !== undefined && this.props.groupKeySecret ? { ...proxy, groupKeyEnv: ENV.GROUP_KEY } : proxy;
    this.server?.registerProxy(this, full, { exposeRemotePort: this.props.exposeRemotePorts });
    this.proxies.push(full);
    this.rendered.clear();
  }

  /** Egress rules: frps, DNS, the proxies' local ports (and an OIDC endpoint). */
  private egressRules(): k8s.NetworkPolicyEgressRule[] {
    const rule = (ports: PolicyPort[], peers: NetworkPeer[]): k8s.NetworkPolicyEgressRule => {
      const r = policyRule(ports, peers);
      return { ports: r.ports, to: r.peers };
    };
    const server = this.server && !this.props.serverAddress
      ? [NetworkPeer.pods(this.server.podLabels, Chart.of(this.server).namespace)]
      : [];
    const local = new Map<string, PolicyPort>();
    for (const proxy of this.proxies) {
      const protocol = proxy.type === FrpProxyType.UDP ? 'UDP' : 'TCP';
      local.set(`${protocol}/${proxy.localPort}`, { port: proxy.localPort, protocol });
    }
    const rules = [
      rule([{ port: this.serverPort, protocol: 'TCP' }], server),
      rule(DNS_PORTS, []),
    ];
    // backends may be anywhere (pods, Services, hosts outside): by port only
    if (local.size > 0) rules.push(rule([...local.entries()].sort().map(([, v]) => v), []));
    // the OIDC token endpoint, on the port its URL names
    const endpoint = this.auth._tokenEndpointUrl;
    if (this.auth.method === FrpAuthMethod.OIDC && endpoint) rules.push(rule([{ port: urlPort(endpoint), protocol: 'TCP' }], []));
    return rules;
  }

  /**
   * The frpc config (rendered at synth time with every proxy added so far).
   * @param replica which frps replica's frpc (HA)
   * @default 0
   */
  public renderConfig(replica: number = 0): string {
    if (!this.rendered.has(replica)) this.rendered.set(replica, renderFrpcToml(this.node.path, this.config(replica)));
    return this.rendered.get(replica)!;
  }

  /**
   * The typed frpc config of this pool.
   * @param replica which frps replica's frpc (HA): its address and admin port
   * @default 0
   */
  public config(replica: number = 0): FrpcConfig {
    const p = this.props;
    const tls = this.tlsConfig;
    if (!Number.isInteger(replica) || replica < 0 || replica >= this.serverAddresses.length) {
      invalid(this.node.path, 'replica', `must be 0 to ${this.serverAddresses.length - 1} (one frpc per frps replica), got ${replica}`);
    }
    return {
      serverAddr: this.serverAddresses[replica],
      serverPort: this.serverPort,
      userEnv: ENV.USER,
      auth: this.auth._clientConfig(),
      transport: {
        poolCount: p.poolCount,
        dialServerTimeout: p.dialServerTimeoutSeconds,
        dialServerKeepalive: p.dialServerKeepaliveSeconds,
        tls,
      },
      webServer: { addr: '127.0.0.1', port: this.adminPort + replica },
      logLevel: p.logLevel,
      proxies: this.proxies,
    };
  }
}

/** The TCP port an http(s) URL connects to. @internal */
export function urlPort(url: string): number {
  const u = new URL(url);
  return u.port ? Number(u.port) : u.protocol === 'http:' ? 80 : 443;
}

/** Probe command: frpc's /healthz on the loopback admin port. @internal */
export function healthCommand(port: number): string[] {
  return ['wget', '-q', '-T', '2', '-O', '/dev/null', `http://127.0.0.1:${port}/healthz`];
}

/**
 * preStop command: `frpc stop` (POST /api/stop on the admin port the config names) makes
 * frpc close every proxy (CloseProxy to frps, which stops routing to this member at once),
 * wait 100 ms for work in flight, close its session and exit. The stop call returns at
 * once, so the hook then waits (50 tries, 0.1 s apart) until frpc's admin API is gone, lest the
 * kubelet's SIGTERM cut the close short. frpc is the image's entrypoint, on its PATH.
 * @internal
 */
export function stopCommand(configFile: string): string[] {
  return ['sh', '-c', `frpc stop -c ${configFile} || exit 0; i=0; `
    + `while [ $i -lt 50 ] && frpc status -c ${configFile} --api-timeout 1s >/dev/null 2>&1; do sleep 0.1; i=$((i+1)); done`];
}
