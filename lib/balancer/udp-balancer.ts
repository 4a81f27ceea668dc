import { Chart, Duration, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { balancerNetworkPolicy, balancerResources, checkUnprivilegedPort, fsRoot, servicePortNames } from './_workload';
import { BalancerWorkloadOptions } from './balancer-workload-options';
import { NginxStreamConfig } from './nginx-stream-config';
import { NginxStreamConfigProps } from './nginx-stream-model';
import { checkInt, invalid } from '../frp/errors';
import { checkBaseName, derivedName, claimName, imageVersion, recommendedLabels, selectorLabels, selectPods, serviceHost } from '../k8s/names';
import {
  checkImage, CONFIG_CHECKSUM_ANNOTATION, omitUnstoredDefaults, restrictedPodProps, restrictedSecurityContext, sha256,
} from '../k8s/pod-defaults';
import { MetricsTarget } from '../monitoring/metrics-target';
import { DNS_PORTS, NetworkPeer } from '../network/network-peer';

const CONFIG_FILE = 'nginx.conf';

/** Properties of a UdpBalancer. */
export interface UdpBalancerProps extends BalancerWorkloadOptions {
  /**
   * The nginx stream config (validated by NginxStreamConfig). Every port must be 1024 or
   * higher. `runtimeDir` defaults to `UdpBalancer.RUN_DIR` and `statusEndpoint` is always
   * on (probes and metrics need it; its port defaults to 8405). Leave `modules` out with
   * the default image: its stream module is built in.
   */
  readonly config: NginxStreamConfigProps;
  /**
   * Container image of nginx: an unprivileged nginx with the stream module; must be
   * pinned (a tag other than latest, or a digest).
   * @default UdpBalancer.IMAGE
   */
  readonly image?: string;
}

/**
 * The UDP balancer tier (frp has no UDP load-balancing groups and HAProxy does not proxy
 * UDP): a Deployment running unprivileged nginx with a generated `stream {}` config, as
 * a non-root user with a read-only root filesystem (Pod Security Standards
 * "restricted"), and a Service with one UDP port per balanced service plus `metrics`.
 *
 * nginx serves a small HTTP status server next to the UDP ports: the kubelet probes its
 * health path, and an nginx-prometheus-exporter sidecar turns its `stub_status` into
 * Prometheus metrics (connection counters, UDP sessions included). nginx cannot read a
 * PROXY protocol header on UDP, so it sees frpc as the client.
 */
export class UdpBalancer extends Construct {
  /**
   * The nginx image: the unprivileged variant of the official image (nginx.org packages,
   * built with the stream module in, so no `load_module`), stable line 1.28.
   */
  public static readonly IMAGE = 'nginxinc/nginx-unprivileged:1.28.0-alpine-slim';
  /** The metrics sidecar that reads `stub_status`. */
  public static readonly EXPORTER_IMAGE = 'nginx/nginx-prometheus-exporter:1.4.2';
  /** Port of the exporter's `/metrics`. */
  public static readonly METRICS_PORT = 9113;
  /** Where the ConfigMap with nginx.conf is mounted. */
  public static readonly CONFIG_DIR = '/etc/nginx/balancer';
  /** The writable directory (an emptyDir) for the pid file and temp files: the default `runtimeDir`. */
  public static readonly RUN_DIR = '/tmp';

  /** The nginx Deployment. */
  public readonly deployment: kplus.Deployment;
  /** The nginx container. */
  public readonly container: kplus.Container;
  /** The exporter container. */
  public readonly exporter: kplus.Container;
  /** ConfigMap holding nginx.conf. */
  public readonly configMap: kplus.ConfigMap;
  /** One UDP port per balanced service (named like the service) plus `metrics`. */
  public readonly service: kplus.Service;
  /** DNS name frpc sends to: `<service>.<namespace>.svc`, or `<service>` without a chart namespace. */
  public readonly host: string;
  /** The metrics port, for a ServiceMonitor. */
  public readonly metricsTarget: MetricsTarget;
  /** The validated config, as rendered (with the runtime directory and status server). */
  public readonly config: NginxStreamConfig;
  /** Labels on every object. */
  public readonly labels: { [key: string]: string };
  /** Labels that select the nginx pods. */
  public readonly podLabels: { [key: string]: string };
  /** Base name of the objects (`<name>`, `<name>-config`). */
  public readonly name: string;
  /** The NetworkPolicy, unless turned off. */
  public readonly networkPolicy?: k8s.KubeNetworkPolicy;

  private readonly clientPeers: NetworkPeer[] = [];

  constructor(scope: Construct, id: string, props: UdpBalancerProps) {
    super(scope, id);
    const where = this.node.path;
    if (!props || !props.config) invalid(where, 'config', 'is required: the UDP services to balance (NginxStreamConfigProps)');
    checkInt(where, 'replicas', props.replicas, 1, 1000);
    if (props.image !== undefined) checkImage(where, 'image', props.image);

    const root = fsRoot(this);
    const configDir = `${root}${UdpBalancer.CONFIG_DIR}`;
    const runDir = props.config.runtimeDir ?? `${root}${UdpBalancer.RUN_DIR}`;
    if (props.config.statusEndpoint?.bindAddress !== undefined) {
      invalid(where, 'config.statusEndpoint.bindAddress', 'must be left out: the kubelet probes the pod address and the exporter reads 127.0.0.1, so the status server listens on every address');
    }
    this.config = validConfig(where, { ...props.config, runtimeDir: runDir, statusEndpoint: props.config.statusEndpoint ?? {} });
    const cfg = this.config.props;
    if (runDir === configDir || runDir.startsWith(`${configDir}/`)) {
      invalid(where, 'config.runtimeDir', `must not be in ${configDir} (the read-only ConfigMap mount), got ${JSON.stringify(runDir)}`);
    }

    // ports: a non-root nginx binds only 1024 and up
    cfg.services.forEach((svc, i) => checkUnprivilegedPort(where, `config.services[${i}].port`, svc.port, 'nginx'));
    const statusPort = this.config.statusPort()!;
    checkUnprivilegedPort(where, 'config.statusEndpoint.port', statusPort, 'nginx');
    if (statusPort === UdpBalancer.METRICS_PORT) {
      invalid(where, 'config.statusEndpoint.port', `${statusPort} is the metrics exporter's port in the same pod: choose another port`);
    }
    const portNames = servicePortNames(where, cfg.services, ['metrics', 'status']);

    const name = this.name = checkBaseName(where, 'name', props.name ?? 'udp-balancer');
    const component = { app: 'nginx', instance: name, component: 'udp-balancer', version: imageVersion(props.image ?? UdpBalancer.IMAGE) };
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
      ...restrictedPodProps(),
    });
    omitUnstoredDefaults(this.deployment);
    this.deployment.select(kplus.LabelSelector.of({ labels: this.podLabels }));
    this.deployment.podMetadata.addAnnotation(CONFIG_CHECKSUM_ANNOTATION, sha256(text));

    const health = cfg.statusEndpoint?.healthPath ?? '/healthz';
    this.container = this.deployment.addContainer({
      name: 'nginx',
      image: props.image ?? UdpBalancer.IMAGE,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      // the binary itself, not the image's entrypoint scripts (they edit files under
      // /etc/nginx); the config says `daemon off`, -e stderr: no log file at start
      command: ['nginx'],
      args: ['-e', 'stderr', '-c', `${configDir}/${CONFIG_FILE}`],
      ports: [
        ...cfg.services.map((svc, i) => ({ name: portNames[i], number: svc.port, protocol: kplus.Protocol.UDP })),
        { name: 'status', number: statusPort },
      ],
      securityContext: restrictedSecurityContext(),
      resources: balancerResources(props.resources),
      readiness: kplus.Probe.fromHttpGet(health, { port: statusPort, periodSeconds: Duration.seconds(5) }),
      liveness: kplus.Probe.fromHttpGet(health, { port: statusPort }),
      volumeMounts: [
        {
          path: configDir,
          volume: kplus.Volume.fromConfigMap(this, 'ConfigVolume', this.configMap, { name: 'config' }),
          readOnly: true,
        },
        {
          path: runDir,
          volume: kplus.Volume.fromEmptyDir(this, 'RunVolume', 'run', { sizeLimit: Size.mebibytes(16) }),
        },
      ],
    });

    const stubStatus = cfg.statusEndpoint?.stubStatusPath ?? '/stub_status';
    this.exporter = this.deployment.addContainer({
      name: 'exporter',
      image: UdpBalancer.EXPORTER_IMAGE,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      args: [
        `--nginx.scrape-uri=http://127.0.0.1:${statusPort}${stubStatus}`,
        `--web.listen-address=:${UdpBalancer.METRICS_PORT}`,
        '--web.telemetry-path=/metrics',
      ],
      ports: [{ name: 'metrics', number: UdpBalancer.METRICS_PORT }],
      securityContext: restrictedSecurityContext(),
      resources: {
        cpu: { request: kplus.Cpu.millis(10), limit: kplus.Cpu.millis(100) },
        memory: { request: Size.mebibytes(16), limit: Size.mebibytes(64) },
      },
      readiness: kplus.Probe.fromTcpSocket({ port: UdpBalancer.METRICS_PORT }),
      liveness: kplus.Probe.fromTcpSocket({ port: UdpBalancer.METRICS_PORT }),
    });

    this.service = selectPods(new kplus.Service(this, 'Service', {
      metadata: { name: claimName(this, 'Service', name), labels: this.labels },
      ports: [
        ...cfg.services.map((svc, i) => ({ name: portNames[i], port: svc.port, targetPort: svc.port, protocol: kplus.Protocol.UDP })),
        { name: 'metrics', port: UdpBalancer.METRICS_PORT, targetPort: UdpBalancer.METRICS_PORT },
      ],
    }), this.podLabels);
    omitUnstoredDefaults(this.service);
    this.host = serviceHost(this.service.name, Chart.of(this).namespace);
    this.metricsTarget = MetricsTarget.fromService(this.service, { port: 'metrics', path: '/metrics' });

    if (props.networkPolicy !== false) {
      this.networkPolicy = balancerNetworkPolicy(this, 'NetworkPolicy', {
        name: claimName(this, 'NetworkPolicy', name),
        labels: this.labels,
        podLabels: this.podLabels,
        servicePorts: cfg.services.map(svc => ({ port: svc.port, protocol: 'UDP' })),
        clientPeers: this.clientPeers,
        metricsPort: UdpBalancer.METRICS_PORT,
        monitoringPeers: props.monitoringPeers ?? [NetworkPeer.namespace('monitoring')],
        egressPorts: [
          ...DNS_PORTS,
          ...cfg.services.flatMap(svc => svc.servers.map(s => ({ port: s.port, protocol: 'UDP' as const }))),
        ],
      });
    }
  }

  /**
   * Lets these peers (frpc pods) reach the UDP service ports through the NetworkPolicy
   * (rendered when the manifest is written, so peers added later count).
   * @param peer the frpc pods (or addresses)
   */
  public allowClients(peer: NetworkPeer): void {
    this.clientPeers.push(peer);
  }
}

function validConfig(where: string, props: NginxStreamConfigProps): NginxStreamConfig {
  try {
    return new NginxStreamConfig(props);
  } catch (e) {
    return invalid(where, 'config', (e as Error).message);
  }
}
