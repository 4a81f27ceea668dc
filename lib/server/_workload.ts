import { ApiObject, Duration, JsonPatch, Size, SizeRoundingBehavior } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { addSecretEnv, FrpAuth } from '../frp-auth';
import { WEB_PASSWORD_ENV, WEB_USER_ENV } from './_config';
import { objectMeta, replicaLabels, replicaName, replicaSelector, ServerContext } from './_context';
import {
  CONFIG_CHECKSUM_ANNOTATION, omitUnstoredDefaults, resourcesWithDefaults, restrictedPodProps, restrictedSecurityContext,
} from '../k8s/pod-defaults';

/** Where frps reads its config. @internal */
export const CONFIG_DIR = '/etc/frp';
/** frps' config file (in the ConfigMap and in CONFIG_DIR). @internal */
export const CONFIG_FILE = 'frps.toml';

/**
 * Readiness delay of an HA frps replica: frpc's login retry interval doubles up
 * to 20 s (+10 % jitter), so after this long every member has logged in again.
 */
const HA_READINESS_DELAY_SECONDS = 25;

/**
 * frps' garbage collector target (Go's `GOGC`, 100 by default). frps keeps a live heap of
 * about 1 MB (the `allowPorts` list keeps its port table small), so at Go's default it
 * collects every few MB allocated: every few hundred new connections. At 400 it collects a
 * quarter as often; the data-plane benchmark measured the bundle's new connections at
 * 0.90x frp's defaults with 1.12x the CPU before, and README "Capacity guide" gives the
 * figures after. `GOMEMLIMIT` keeps the larger heap target under the container's limit.
 * @internal
 */
export const FRPS_GOGC = 400;

/**
 * Go's soft memory limit for a container: 90 % of its memory limit (the rest for what the Go
 * runtime does not count: thread stacks of the OS, the binary), in MiB as `GOMEMLIMIT`
 * takes it. Near the limit Go collects more often instead of being OOM-killed. @internal
 */
export function goMemoryLimit(limit: Size): string {
  const kib = limit.toKibibytes({ rounding: SizeRoundingBehavior.FLOOR });
  return `${Math.max(1, Math.floor((kib * 0.9) / 1024))}MiB`;
}

/** What the frps pods run. @internal */
export interface FrpsWorkloadOptions {
  readonly image: string;
  readonly resources?: kplus.ContainerResources;
  readonly configMap: kplus.ConfigMap;
  /** Checksum of the rendered config (rolls the pods when it changes). */
  readonly configChecksum: string;
  readonly auth: FrpAuth;
  readonly webServerCredentials?: kplus.ISecret;
}

/** The frps Deployments, one per replica, and their frps containers. @internal */
export interface FrpsWorkload {
  readonly deployments: kplus.Deployment[];
  readonly containers: kplus.Container[];
}

/**
 * One single-pod Deployment per replica (each replica has a Service, an
 * address, of its own), running frps with the config mounted read-only.
 * @internal
 */
export function addFrpsDeployments(ctx: ServerContext, o: FrpsWorkloadOptions): FrpsWorkload {
  const { scope, replicas, ports } = ctx;
  const configVolume = kplus.Volume.fromConfigMap(scope, 'ConfigVolume', o.configMap, { name: 'config' });
  const deployments: kplus.Deployment[] = [];
  const containers: kplus.Container[] = [];
  for (let i = 0; i < replicas; i++) {
    const labels = replicaLabels(ctx, i);
    const deployment = new kplus.Deployment(scope, i === 0 ? 'Resource' : `Replica${i}`, {
      replicas: 1,
      metadata: objectMeta(ctx, 'Deployment', replicaName(ctx, i), labels),
      podMetadata: { labels: { ...labels, ...ctx.podLabels } },
      ...restrictedPodProps(),
    });
    deployment.select(kplus.LabelSelector.of({ labels: replicaSelector(ctx, i) }));
    omitUnstoredDefaults(deployment);
    deployment.podMetadata.addAnnotation(CONFIG_CHECKSUM_ANNOTATION, o.configChecksum);
    if (replicas > 1) ApiObject.of(deployment).addJsonPatch(JsonPatch.add('/spec/template/spec/affinity', replicaAntiAffinity(ctx)));
    const resources = resourcesWithDefaults(o.resources);
    const container = deployment.addContainer({
      name: 'frps',
      image: o.image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      args: ['-c', `${CONFIG_DIR}/${CONFIG_FILE}`],
      ports: [
        { name: 'control', number: ports.bind },
        { name: 'metrics', number: ports.webServer },
      ],
      securityContext: restrictedSecurityContext(),
      resources,
      // HA: a (re)started replica waits until its frpc members have logged in again
      // (frpc retries its login after 1 s, doubling to 20 s) before it takes traffic
      readiness: kplus.Probe.fromHttpGet('/healthz', {
        port: ports.webServer,
        periodSeconds: Duration.seconds(5),
        initialDelaySeconds: replicas > 1 ? Duration.seconds(HA_READINESS_DELAY_SECONDS) : undefined,
      }),
      liveness: kplus.Probe.fromHttpGet('/healthz', { port: ports.webServer }),
      volumeMounts: [{ path: CONFIG_DIR, volume: configVolume, readOnly: true }],
    });
    container.env.addVariable('GOGC', kplus.EnvValue.fromValue(String(FRPS_GOGC)));
    container.env.addVariable('GOMEMLIMIT', kplus.EnvValue.fromValue(goMemoryLimit(resources.memory!.limit!)));
    addSecretEnv(container, o.auth._serverEnv());
    if (o.webServerCredentials) {
      container.env.addVariable(WEB_USER_ENV, kplus.EnvValue.fromSecretValue({ secret: o.webServerCredentials, key: 'user' }));
      container.env.addVariable(WEB_PASSWORD_ENV, kplus.EnvValue.fromSecretValue({ secret: o.webServerCredentials, key: 'password' }));
    }
    deployments.push(deployment);
    containers.push(container);
  }
  return { deployments, containers };
}

/**
 * HA: each replica's pod prefers a node that runs no other replica of this server, so that one
 * node's loss takes one replica. Preferred, not required: on fewer nodes than replicas (a test
 * cluster, a small pool) the replicas still run, some on one node. @internal
 */
function replicaAntiAffinity(ctx: ServerContext): k8s.Affinity {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{
        weight: 100,
        podAffinityTerm: { labelSelector: { matchLabels: ctx.podLabels }, topologyKey: 'kubernetes.io/hostname' },
      }],
    },
  };
}

/** HA: a PodDisruptionBudget that lets drains take one replica at a time (none with one replica). @internal */
export function addDisruptionBudget(ctx: ServerContext): k8s.KubePodDisruptionBudget | undefined {
  if (ctx.replicas === 1) return undefined;
  return new k8s.KubePodDisruptionBudget(ctx.scope, 'DisruptionBudget', {
    metadata: objectMeta(ctx, 'PodDisruptionBudget', ctx.name),
    spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: ctx.podLabels } },
  });
}
