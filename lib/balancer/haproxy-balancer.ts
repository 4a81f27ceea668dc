import { ApiObject, Chart, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import {
  balancerNetworkPolicy, balancerResources, checkUnprivilegedPort, fsRoot, pathUnder, servicePortNames,
} from './_workload';
import { BalancerWorkloadOptions } from './balancer-workload-options';
import { HaproxyConfig } from './haproxy-config';
import { HaproxyAffinityKind, HaproxyConfigProps } from './haproxy-model';
import { checkInt, invalid } from '../frp/errors';
import { checkBaseName, derivedName, claimName, imageVersion, recommendedLabels, selectorLabels, selectPods } from '../k8s/names';
import {
  checkImage, CONFIG_CHECKSUM_ANNOTATION, omitUnstoredDefaults, restrictedPodProps, restrictedSecurityContext, sha256,
} from '../k8s/pod-defaults';
import { MetricsTarget } from '../monitoring/metrics-target';
import { DNS_PORTS, NetworkPeer, PolicyPort } from '../network/network-peer';
import { addReloaderAnnotation } from '../tls/rotation';

const CONFIG_FILE = 'haproxy.cfg';

/** The port replicas share stick tables on (`peers`). */
const PEERS_PORT = 10000;

/** The environment variable naming the pod, which names the local peer. */
const POD_NAME_ENV = 'POD_NAME';

/** The label the StatefulSet controller puts on each of its pods. */
const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';

/** Properties of a HaproxyBalancer. */
export interface HaproxyBalancerProps extends BalancerWorkloadOptions {
  /**
   * The HAProxy config (validated by HaproxyConfig). Every port must be 1024 or higher,
   * and every file it reads (`referencedFiles()`) must be a key of `authSecret`, given as
   * `HaproxyBalancer.AUTH_DIR + '/' + key`.
   */
  readonly config: HaproxyConfigProps;
  /**
   * Secret mounted read-only at `HaproxyBalancer.AUTH_DIR` ('/etc/haproxy/auth'); the
   * auth files in `config` point there. HAProxy reads them at start, so the Deployment
   * carries the Reloader annotation (`secret.reloader.stakater.com/reload`) and rolls
   * when the Secret changes (with Stakater Reloader installed).
   * @default - none
   */
  readonly authSecret?: kplus.ISecret;
  /**
   * Container image; must be pinned (a tag other than latest, or a digest).
   * @default HaproxyConfig.IMAGE
   */
  readonly image?: string;
}

/**
 * The HAProxy balancer tier: a Deployment running the official HAProxy image on a
 * generated haproxy.cfg, as a non-root user with a read-only root filesystem (Pod
 * Security Standards "restricted"), and a Service with one port per balanced service
 * plus `metrics`.
 *
 * Replicas that must share state run as a StatefulSet instead: with more than one
 * replica and a session-affinity stick table (`HaproxyAffinity.sourceAddress()`), a
 * client that kube-proxy sends to another replica would otherwise meet a table that
 * never saw it. The replicas then share the table through a `peers` section: each pod
 * has a stable name (`<name>-<i>`, the local peer's name, from the downward API) and a
 * ClusterIP Service of its own (`<name>-peer-<i>`), whose address outlives the pod,
 * because HAProxy resolves peer addresses only when it starts (and does not start when
 * one does not resolve). Entries name servers by address (`srvkey addr`), the same in
 * every replica whatever DNS slot holds them. A restarted replica learns the table from
 * the others. Stateless choices (round robin, least connections, random, client-address
 * hashing, cookies) need no sharing and keep the Deployment.
 *
 * frpc sends the tier's traffic to `host` on the service ports; with `acceptProxy` on a
 * service, every connection must start with a PROXY protocol header (frpc's
 * `transport.proxyProtocolVersion = "v2"`).
 */
export class HaproxyBalancer extends Construct {
  /** Where `authSecret` is mounted; auth files in the config point here. */
  public static readonly AUTH_DIR = '/etc/haproxy/auth';

  /** Where the ConfigMap with haproxy.cfg is mounted (the official image's config directory). */
  public static readonly CONFIG_DIR = '/usr/local/etc/haproxy';
  /** Writable directory (an emptyDir) for the runtime API socket (`statsSocket`), mounted when it is set. */
  public static readonly RUN_DIR = '/var/run/haproxy';

  /**
   * Where a key of `authSecret` appears inside the pod: the path to give the
   * config's auth options (apiKey keysFile, bearerToken tokensFile, jwt publicKeyFile).
   * @param scope the scope the balancer will be created in
   * @param key the Secret key
   */
  public static authFile(scope: IConstruct, key: string): string {
    return `${fsRoot(scope)}${HaproxyBalancer.AUTH_DIR}/${key}`;
  }

  /** The HAProxy Deployment; undefined when the replicas share stick tables (see `statefulSet`). */
  public readonly deployment?: kplus.Deployment;
  /**
   * The HAProxy StatefulSet, when more than one replica shares stick tables (session
   * affinity on the client address): stable pod names for the `peers` section.
   */
  public readonly statefulSet?: kplus.StatefulSet;
  /** The workload running HAProxy: `deployment` or `statefulSet`. */
  public readonly workload: kplus.Deployment | kplus.StatefulSet;
  /** One ClusterIP Service per replica, the stable peer addresses (with `statefulSet` only). */
  public readonly peerServices: kplus.Service[];
  /** The haproxy container. */
  public readonly container: kplus.Container;
  /** ConfigMap holding haproxy.cfg. */
  public readonly configMap: kplus.ConfigMap;
  /** One port per balanced service (named like the service) plus `metrics`. */
  public readonly service: kplus.Service;
  /** DNS name frpc sends to: `<service>.<namespace>.svc`, or `<service>` without a chart namespace. */
  public readonly host: string;
  /** The metrics port, for a ServiceMonitor. */
  public readonly metricsTarget: MetricsTarget;
  /** The validated config. */
  public readonly config: HaproxyConfig;
  /** Labels on every object. */
  public readonly labels: { [key: string]: string };
  /** Labels that select the HAProxy pods. */
  public readonly podLabels: { [key: string]: string };
  /** Base name of the objects (`<name>`, `<name>-config`). */
  public readonly name: string;
  /** The NetworkPolicy, unless turned off. */
  public readonly networkPolicy?: k8s.KubeNetworkPolicy;

  private readonly clientPeers: NetworkPeer[] = [];

  constructor(scope: Construct, id: string, props: HaproxyBalancerProps) {
    super(scope, id);
    const where = this.node.path;
    if (!props || !props.config) invalid(where, 'config', 'is required: the HAProxy services to balance (HaproxyConfigProps)');
    checkInt(where, 'replicas', props.replicas, 1, 1000);
    if (props.image !== undefined) checkImage(where, 'image', props.image);
    const replicas = props.replicas ?? 2;
    const name = this.name = checkBaseName(where, 'name', props.name ?? 'haproxy');
    const ns = Chart.of(this).namespace;

    const root = fsRoot(this);
    const configDir = `${root}${HaproxyBalancer.CONFIG_DIR}`;
    const authDir = `${root}${HaproxyBalancer.AUTH_DIR}`;
    const runDir = `${root}${HaproxyBalancer.RUN_DIR}`;

    // state that replicas must share: the session-affinity stick tables
    if (props.config?.peers !== undefined) invalid(where, 'config.peers', 'is set by the balancer (one peer per replica when replicas share stick tables): leave it out');
    if (props.config?.scriptDir !== undefined && props.config.scriptDir !== configDir) {
      invalid(where, 'config.scriptDir', `is where the balancer mounts the scripts (${configDir}): leave it out`);
    }
    const shared = replicas > 1 && (props.config?.services ?? []).some(svc => svc.affinity?.kind === HaproxyAffinityKind.SOURCE_ADDRESS);
    const peerNames = shared ? Array.from({ length: replicas }, (_v, i) => `${name}-${i}`) : [];
    const peerServiceNames = peerNames.map((_p, i) => claimName(this, 'Service', derivedName(name, `-peer-${i}`)));
    this.config = validConfig(where, props.config && {
      ...props.config,
      scriptDir: configDir,
      peers: shared ? {
        peers: peerNames.map((peer, i) => ({ name: peer, host: ns ? `${peerServiceNames[i]}.${ns}.svc` : peerServiceNames[i] })),
        port: PEERS_PORT,
        localPeerEnv: POD_NAME_ENV,
      } : undefined,
    });
    const cfg = this.config.props;

    // ports: a non-root HAProxy binds only 1024 and up
    cfg.services.forEach((svc, i) => checkUnprivilegedPort(where, `config.services[${i}].port`, svc.port, 'haproxy'));
    const [metricsPortChecked, healthPortChecked] = this.config.ports().slice(-2);
    checkUnprivilegedPort(where, 'config.metrics.port', metricsPortChecked, 'haproxy');
    checkUnprivilegedPort(where, 'config.healthEndpoint.port', healthPortChecked, 'haproxy');
    const portNames = servicePortNames(where, cfg.services, ['metrics', 'healthz']);

    // files: every file HAProxy reads must come from a mount
    for (const file of this.config.referencedFiles()) {
      if (!pathUnder(authDir, file)) {
        invalid(where, 'config', `file ${JSON.stringify(file)} is not in a mounted directory: HAProxy can read files only from authSecret, mounted at ${authDir} (use ${authDir}/<secret key>)`);
      }
      if (!props.authSecret) {
        invalid(where, 'authSecret', `is required: the config reads ${JSON.stringify(file)}; give the Secret whose keys are mounted at ${authDir}`);
      }
    }
    if (cfg.statsSocket !== undefined && !pathUnder(runDir, cfg.statsSocket)) {
      invalid(where, 'config.statsSocket', `must be a file directly in ${runDir} (the only writable directory; the root filesystem is read-only), got ${JSON.stringify(cfg.statsSocket)}`);
    }

    const component = { app: 'haproxy', instance: name, component: 'balancer', version: imageVersion(props.image ?? HaproxyConfig.IMAGE) };
    this.labels = recommendedLabels(component, props.labels);
    this.podLabels = selectorLabels(component);

    const text = this.config.render();
    const scripts = this.config.scripts();
    this.configMap = new kplus.ConfigMap(this, 'Config', {
      metadata: { name: claimName(this, 'ConfigMap', derivedName(name, '-config')), labels: this.labels },
      data: { [CONFIG_FILE]: text, ...scripts },
    });

    const [metricsPort, healthPort] = this.config.ports().slice(-2);
    const makeService = () => {
      const svc = selectPods(new kplus.Service(this, 'Service', {
        metadata: { name: claimName(this, 'Service', name), labels: this.labels },
        ports: [
          ...cfg.services.map((s, i) => ({ name: portNames[i], port: s.port, targetPort: s.port })),
          { name: 'metrics', port: metricsPort, targetPort: metricsPort },
        ],
      }), this.podLabels);
      omitUnstoredDefaults(svc);
      return svc;
    };
    // a StatefulSet names its Service; a Deployment's Service follows it (as before)
    const early = shared ? makeService() : undefined;

    const workloadProps = {
      replicas,
      podMetadata: { labels: { ...this.labels, ...this.podLabels } },
      ...restrictedPodProps(),
    };
    if (shared) {
      this.statefulSet = new kplus.StatefulSet(this, 'Resource', {
        ...workloadProps,
        metadata: { name: claimName(this, 'StatefulSet', name), labels: this.labels },
        service: early,
        // every replica at once: a peer that is not up yet is simply reconnected to later
        podManagementPolicy: kplus.PodManagementPolicy.PARALLEL,
      });
      // cdk8s-plus makes the Service select the StatefulSet by a construct-path label;
      // the Service and the pods keep selecting by the app.kubernetes.io labels instead
      const addr = `/${kplus.Pod.ADDRESS_LABEL.replace(/~/g, '~0').replace(/\//g, '~1')}`;
      ApiObject.of(early!).addJsonPatch(JsonPatch.remove(`/spec/selector${addr}`));
      ApiObject.of(this.statefulSet).addJsonPatch(JsonPatch.remove(`/spec/template/metadata/labels${addr}`));
      this.workload = this.statefulSet;
    } else {
      this.deployment = new kplus.Deployment(this, 'Resource', {
        ...workloadProps,
        metadata: { name: claimName(this, 'Deployment', name), labels: this.labels },
      });
      this.workload = this.deployment;
    }
    omitUnstoredDefaults(this.workload);
    this.workload.select(kplus.LabelSelector.of({ labels: this.podLabels }));
    this.workload.podMetadata.addAnnotation(CONFIG_CHECKSUM_ANNOTATION, sha256([text, ...Object.keys(scripts).sort().map(k => scripts[k])].join('\0')));
    // each peer's stable address: a ClusterIP Service for one pod of the StatefulSet,
    // published before the pod is ready so that peers connect while it starts
    this.peerServices = peerNames.map((peer, i) => {
      const svc = selectPods(new kplus.Service(this, `PeerService${i}`, {
        metadata: { name: peerServiceNames[i], labels: this.labels },
        publishNotReadyAddresses: true,
        ports: [{ name: 'peers', port: PEERS_PORT, targetPort: PEERS_PORT }],
      }), { ...this.podLabels, [POD_NAME_LABEL]: peer });
      omitUnstoredDefaults(svc);
      return svc;
    });

    const health = cfg.healthEndpoint?.path ?? '/healthz';
    this.container = this.workload.addContainer({
      name: 'haproxy',
      image: props.image ?? HaproxyConfig.IMAGE,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      // the binary itself, not the image's entrypoint script; -db: stay in the foreground
      command: ['haproxy'],
      args: ['-db', '-f', `${configDir}/${CONFIG_FILE}`],
      ports: [
        ...cfg.services.map((svc, i) => ({ name: portNames[i], number: svc.port })),
        { name: 'metrics', number: metricsPort },
        { name: 'healthz', number: healthPort },
        ...shared ? [{ name: 'peers', number: PEERS_PORT }] : [],
      ],
      securityContext: restrictedSecurityContext(),
      resources: balancerResources(props.resources),
      readiness: kplus.Probe.fromHttpGet(health, { port: healthPort, periodSeconds: Duration.seconds(5) }),
      liveness: kplus.Probe.fromHttpGet(health, { port: healthPort }),
      volumeMounts: [{
        path: configDir,
        volume: kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.configMap, { name: 'config' }),
        readOnly: true,
      }],
    });
    // the local peer's name: the config is the same in every pod
    if (shared) this.container.env.addVariable(POD_NAME_ENV, kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME));
    if (props.authSecret) {
      this.container.mount(authDir, kplus.Volume.fromSecret(this, 'AuthVolume', props.authSecret, { name: 'auth' }), { readOnly: true });
      addReloaderAnnotation(this.workload, [props.authSecret]);
    }
    if (cfg.statsSocket !== undefined) {
      this.container.mount(runDir, kplus.Volume.fromEmptyDir(this, 'RunVolume', 'run', { sizeLimit: Size.mebibytes(1) }));
    }

    this.service = early ?? makeService();
    this.host = ns ? `${this.service.name}.${ns}.svc` : this.service.name;
    this.metricsTarget = MetricsTarget.fromService(this.service, { port: 'metrics', path: cfg.metrics?.path ?? '/metrics' });

    if (props.networkPolicy !== false) {
      this.networkPolicy = balancerNetworkPolicy(this, 'NetworkPolicy', {
        name: claimName(this, 'NetworkPolicy', name),
        labels: this.labels,
        podLabels: this.podLabels,
        servicePorts: cfg.services.map(svc => ({ port: svc.port, protocol: 'TCP' })),
        clientPeers: this.clientPeers,
        metricsPort,
        monitoringPeers: props.monitoringPeers ?? [NetworkPeer.namespace('monitoring')],
        egressPorts: egressPorts(cfg),
        peerPort: shared ? PEERS_PORT : undefined,
      });
    }
  }

  /**
   * Lets these peers (frpc pods) reach the service ports through the NetworkPolicy
   * (rendered when the manifest is written, so peers added later count).
   * @param peer the frpc pods (or addresses)
   */
  public allowClients(peer: NetworkPeer): void {
    this.clientPeers.push(peer);
  }
}

function validConfig(where: string, props: HaproxyConfigProps): HaproxyConfig {
  try {
    return new HaproxyConfig(props);
  } catch (e) {
    return invalid(where, 'config', (e as Error).message);
  }
}

/** DNS, plus every port HAProxy connects to (servers, discovered servers, nameservers); peers have their own rule. */
function egressPorts(cfg: HaproxyConfigProps): PolicyPort[] {
  const ports: PolicyPort[] = [...DNS_PORTS];
  for (const ns of cfg.resolvers?.nameservers ?? []) {
    ports.push({ port: ns.port ?? 53, protocol: 'UDP' }, { port: ns.port ?? 53, protocol: 'TCP' });
  }
  for (const svc of cfg.services) {
    for (const s of svc.targets.servers ?? []) ports.push({ port: s.port, protocol: 'TCP' });
    if (svc.targets.discovery) ports.push({ port: svc.targets.discovery.port, protocol: 'TCP' });
  }
  return ports;
}
