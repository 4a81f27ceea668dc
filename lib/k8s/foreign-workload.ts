import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import { invalid } from '../frp/errors';

/**
 * A workload this library does not own: a Deployment, StatefulSet, DaemonSet,
 * Job, CronJob or Pod from any cdk8s-plus version (28 to 33 and later), or any
 * ApiObject with a pod template (e.g. a KubeDeployment from `cdk8s import`).
 * frpc joins its pods by patching the rendered pod template: nothing of the
 * workload's own cdk8s-plus API is called, so its version does not matter.
 * @internal
 */
export interface ForeignWorkload {
  /** The workload as handed over (for messages and identity). */
  readonly construct: IConstruct;
  /** The ApiObject that renders it. */
  readonly api: RenderedObject;
}

/** What this library needs of an ApiObject of any cdk8s version. @internal */
export interface RenderedObject extends IConstruct {
  readonly kind: string;
  readonly apiVersion: string;
  toJson(): any;
}

const isRendered = (x: any): x is RenderedObject =>
  !!x && typeof x.toJson === 'function' && typeof x.kind === 'string' && typeof x.apiVersion === 'string';

/** The ApiObject of a workload (the construct itself, or its default child). @internal */
export function foreignWorkload(where: string, workload: IConstruct): ForeignWorkload {
  const api = isRendered(workload) ? workload : (workload?.node?.defaultChild as unknown);
  if (!isRendered(api)) {
    invalid(where, 'workload', `must be a workload construct (a cdk8s-plus Deployment, StatefulSet, DaemonSet, Job or Pod of any version, or an ApiObject with a pod template), got ${workload?.node?.path ?? JSON.stringify(workload)}`);
  }
  if (!POD_TEMPLATE_KINDS.includes(api.kind)) {
    invalid(where, 'workload', `${workload.node.path} is a ${api.kind}, which has no pod template (${POD_TEMPLATE_KINDS.join(', ')})`);
  }
  return { construct: workload, api };
}

const POD_TEMPLATE_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job', 'CronJob', 'Pod'];

/** The pod template (metadata + spec) inside a rendered workload. @internal */
export function podTemplateOf(json: any): any {
  if (json.kind === 'Pod') return json;
  if (json.kind === 'CronJob') return json.spec?.jobTemplate?.spec?.template;
  return json.spec?.template;
}

/**
 * The labels that select a workload's pods: its selector's matchLabels (asked
 * of any cdk8s-plus version through `toPodSelectorConfig`, else read from the
 * rendered object), or its pod template's labels. @internal
 */
export function foreignPodLabels(w: ForeignWorkload): { [key: string]: string } {
  const c = w.construct as any;
  try {
    const kube = c.toPodSelectorConfig?.()?.labelSelector?._toKube?.();
    if (kube?.matchLabels && Object.keys(kube.matchLabels).length > 0) return { ...kube.matchLabels };
  } catch {
    // fall through to the rendered object
  }
  const json = w.api.toJson();
  return { ...(json.spec?.selector?.matchLabels ?? podTemplateOf(json)?.metadata?.labels ?? {}) };
}

/** The first container port of a workload, when it says one. @internal */
export function foreignContainerPort(w: ForeignWorkload): number | undefined {
  const port = (w.construct as any).containers?.[0]?.portNumber;
  if (typeof port === 'number') return port;
  try {
    return podTemplateOf(w.api.toJson())?.spec?.containers?.[0]?.ports?.[0]?.containerPort;
  } catch {
    return undefined;
  }
}

/** The workload's `spec.replicas`, when it is a number. @internal */
export function foreignReplicas(w: ForeignWorkload): number | undefined {
  try {
    const replicas = w.api.toJson()?.spec?.replicas;
    return typeof replicas === 'number' ? replicas : undefined;
  } catch {
    return undefined;
  }
}

const patched = new WeakMap<object, ((template: any, where: string) => void)[]>();

/**
 * Adds to a workload's pod template what a pod of this library's cdk8s-plus
 * renders (containers, volumes, pod annotations): `shadow` is a Deployment in a
 * detached app, built with the ordinary cdk8s-plus API; at synthesis its pod
 * template is merged into the workload's rendered one. A container or volume
 * name the workload already has is an error naming both. @internal
 */
export function mergePodTemplate(w: ForeignWorkload, owner: IConstruct, shadow: kplus.Deployment): void {
  const api = w.api as any;
  let merges = patched.get(api);
  if (!merges) {
    merges = [];
    patched.set(api, merges);
    const render = api.toJson.bind(api);
    const list = merges;
    // the escape hatch: the rendered object gets the sidecar's parts
    api.toJson = () => {
      const json = render();
      const template = podTemplateOf(json);
      for (const merge of list) merge(template, w.construct.node.path);
      return json;
    };
  }
  merges.push((template: any, path: string) => {
    const mine = podTemplateOf(kplusJson(shadow));
    if (!template?.spec) invalid(owner.node.path, 'workload', `${path} renders no pod template`);
    const spec = template.spec;
    spec.containers = spec.containers ?? [];
    for (const c of mine.spec.containers ?? []) {
      if (spec.containers.some((x: any) => x.name === c.name)) {
        invalid(owner.node.path, 'workload', `the pods of ${path} already have a container named ${JSON.stringify(c.name)}: rename it (frpc's containers are frpc, frpc-<i>)`);
      }
      spec.containers.push(c);
    }
    for (const v of mine.spec.volumes ?? []) {
      spec.volumes = spec.volumes ?? [];
      if (spec.volumes.some((x: any) => x.name === v.name)) {
        invalid(owner.node.path, 'workload', `the pods of ${path} already have a volume named ${JSON.stringify(v.name)}: rename it (frpc's volumes end in -frpc)`);
      }
      spec.volumes.push(v);
    }
    const annotations = mine.metadata?.annotations ?? {};
    if (Object.keys(annotations).length > 0) {
      template.metadata = template.metadata ?? {};
      template.metadata.annotations = { ...template.metadata.annotations, ...annotations };
    }
  });
}

function kplusJson(d: kplus.Deployment): any {
  return (d.node.defaultChild as any).toJson();
}

/** A Deployment outside the user's app that holds frpc's containers until they are merged. @internal */
export function shadowPod(): kplus.Deployment {
  return new kplus.Deployment(new Chart(new App(), 'sidecar'), 'pod', { isolate: false });
}
