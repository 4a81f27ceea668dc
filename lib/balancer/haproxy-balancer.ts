import { Chart, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import {
  balancerNetworkPolicy, balancerResources, checkUnprivilegedPort, fsRoot, pathUnder, servicePortNames,
} from './_workload';
import { BalancerWorkloadOptions } from './balancer-workload-options';
import { HaproxyConfig } from './haproxy-config';
import { HaproxyConfigProps } from './haproxy-model';
import { checkInt, invalid } from '../frp/errors';
import { checkBaseName, derivedName, claimName, imageVersion, recommendedLabels, selectorLabels, selectPods } from '../k8s/names';
import {
  CONFIG_CHECKSUM_ANNOTATION, omitUnstoredDefaults, restrictedPodSecurityContext, restrictedSecurityContext, sha256,
} from '../k8s/pod-defaults';
import { MetricsTarget } from '../monitoring/metrics-target';
import { DNS_PORTS, NetworkPeer, PolicyPort } from '../network/network-peer';
import { checkImage } from '../server/frp-server';
import { addReloaderAnnotation } from '../tls/rotation';

const CONFIG_FILE = 'haproxy.cfg';

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

  /** The HAProxy Deployment. */
  public readonly deployment: kplus.Deployment;
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
    this.config = validConfig(where, props.config);
    checkInt(where, 'replicas', props.replicas, 1, 1000);
    if (props.image !== undefined) checkImage(where, 'image', props.image);

    const root = fsRoot(this);
    const configDir = `${root}${HaproxyBalancer.CONFIG_DIR}`;
    const authDir = `${root}${HaproxyBalancer.AUTH_DIR}`;
    const runDir = `${root}${HaproxyBalancer.RUN_DIR}`;
    const cfg = this.config.props;

    // ports: a non-root HAProxy binds only 1024 and up
    cfg.services.forEach((svc, i) => checkUnprivilegedPort(where, `config.services[${i}].port`, svc.port, 'haproxy'));
    const [metricsPort, healthPort] = this.config.ports().slice(-2);
    checkUnprivilegedPort(where, 'config.metrics.port', metricsPort, 'haproxy');
    checkUnprivilegedPort(where, 'config.healthEndpoint.port', healthPort, 'haproxy');
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

    const name = this.name = checkBaseName(where, 'name', props.name ?? 'haproxy');
    const component = { app: 'haproxy', instance: name, component: 'balancer', version: imageVersion(props.image ?? HaproxyConfig.IMAGE) };
    this.labels = recommendedLabels(component, props.labels);
    this.podLabels = selectorLabels(component);

    const text = this.config.render();
    this.configMap = new kplus.ConfigMap(this, 'Config', {
      metadata: { name: claimName(this, 'ConfigMap', derivedName(name, '-config')), labels: this.labels },
      data: { [CONFIG_FILE]: text },
    });

    this.deployment = new kplus.Deployment(this, 'Resource', {
      replicas: props.replicas ?? 2,
      metadata: { name: claimName(this, 'Deployment', name), labels: this.labels },
      podMetadata: { labels: { ...this.labels, ...this.podLabels } },
      securityContext: restrictedPodSecurityContext(),
      automountServiceAccountToken: false,
      isolate: false,
      select: false,
    });
    omitUnstoredDefaults(this.deployment);
    this.deployment.select(kplus.LabelSelector.of({ labels: this.podLabels }));
    this.deployment.podMetadata.addAnnotation(CONFIG_CHECKSUM_ANNOTATION, sha256(text));

    const health = cfg.healthEndpoint?.path ?? '/healthz';
    this.container = this.deployment.addContainer({
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
    if (props.authSecret) {
      this.container.mount(authDir, kplus.Volume.fromSecret(this, 'AuthVolume', props.authSecret, { name: 'auth' }), { readOnly: true });
      addReloaderAnnotation(this.deployment, [props.authSecret]);
    }
    if (cfg.statsSocket !== undefined) {
      this.container.mount(runDir, kplus.Volume.fromEmptyDir(this, 'RunVolume', 'run', { sizeLimit: Size.mebibytes(1) }));
    }

    this.service = selectPods(new kplus.Service(this, 'Service', {
      metadata: { name: claimName(this, 'Service', name), labels: this.labels },
      ports: [
        ...cfg.services.map((svc, i) => ({ name: portNames[i], port: svc.port, targetPort: svc.port })),
        { name: 'metrics', port: metricsPort, targetPort: metricsPort },
      ],
    }), this.podLabels);
    omitUnstoredDefaults(this.service);
    const ns = Chart.of(this).namespace;
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

/** DNS, plus every port HAProxy connects to (servers, discovered servers, nameservers). */
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
