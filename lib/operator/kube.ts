import * as k8s from '@kubernetes/client-node';
// client-node's documented way to handle a kind its models do not: registerModel (the package has no exports map)
import { ObjectSerializer } from '@kubernetes/client-node/dist/serializer.js';
import { Counter, Registry } from 'prom-client';
import { DS_API_VERSION, DS_KIND, FIELD_MANAGER, INVENTORY_KINDS } from './plan';

/**
 * The kinds the controller reads and writes go over the wire as they are
 * (JSON in, JSON out): client-node's typed models would rename fields
 * (NetworkPolicy's `from` is `_from` in its model, and a plain object's
 * `from` is dropped when serialized) and turn timestamps into Dates.
 */
const RAW_KINDS: { apiVersion: string; kind: string }[] = [
  ...INVENTORY_KINDS,
  { apiVersion: DS_API_VERSION, kind: DS_KIND },
  { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice' },
  { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' },
  { apiVersion: 'events.k8s.io/v1', kind: 'Event' },
];
let rawRegistered = false;
function registerRawKinds(): void {
  if (rawRegistered) return;
  rawRegistered = true;
  const raw = { serialize: (d: any) => d, deserialize: (d: any) => d };
  for (const { apiVersion, kind } of RAW_KINDS) {
    const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
    for (const k of [kind, `${kind}List`]) ObjectSerializer.registerModel({ group, version, kind: k }, raw);
  }
}

/**
 * The controller's door to the API server: @kubernetes/client-node's generic
 * object API (server-side apply, delete, create), its status patch, and its
 * informers, each request counted (`frp_operator_api_requests_total`).
 * @internal
 */
export class Kube {
  readonly objects: k8s.KubernetesObjectApi;
  readonly custom: k8s.CustomObjectsApi;
  readonly requests: Counter<'verb' | 'resource'>;

  constructor(readonly config: k8s.KubeConfig, registry: Registry) {
    registerRawKinds();
    this.objects = k8s.KubernetesObjectApi.makeApiClient(config);
    this.custom = config.makeApiClient(k8s.CustomObjectsApi);
    this.requests = new Counter({
      name: 'frp_operator_api_requests_total',
      help: 'Requests the operator sent to the API server (watches counted when they start)',
      labelNames: ['verb', 'resource'],
      registers: [registry],
    });
  }

  private count(verb: string, obj: { kind?: string }): void {
    this.requests.inc({ verb, resource: obj.kind ?? '' });
  }

  /** Server-side apply under the controller's field manager (forced only to put back a hand edit). */
  async apply<T extends k8s.KubernetesObject>(obj: T, force = false): Promise<T> {
    this.count(force ? 'apply-force' : 'apply', obj);
    return this.objects.patch(obj, undefined, undefined, FIELD_MANAGER, force, k8s.PatchStrategy.ServerSideApply);
  }

  async delete(obj: k8s.KubernetesObject): Promise<void> {
    this.count('delete', obj);
    try {
      await this.objects.delete(obj, undefined, undefined, undefined, undefined, 'Background');
    } catch (e) {
      if (statusCode(e) !== 404) throw e;
    }
  }

  async create<T extends k8s.KubernetesObject>(obj: T): Promise<T> {
    this.count('create', obj);
    return this.objects.create(obj, undefined, undefined, FIELD_MANAGER);
  }

  async read<T extends k8s.KubernetesObject>(obj: T): Promise<T | undefined> {
    this.count('get', obj);
    try {
      return await this.objects.read(obj as any) as T;
    } catch (e) {
      if (statusCode(e) === 404) return undefined;
      throw e;
    }
  }

  async replace<T extends k8s.KubernetesObject>(obj: T): Promise<T> {
    this.count('update', obj);
    return this.objects.replace(obj, undefined, undefined, FIELD_MANAGER);
  }

  async mergePatch<T extends k8s.KubernetesObject>(obj: T): Promise<T> {
    this.count('patch', obj);
    return this.objects.patch(obj, undefined, undefined, FIELD_MANAGER, undefined, k8s.PatchStrategy.MergePatch);
  }

  /** Merge-patches the status subresource of a custom object. */
  async patchStatus(group: string, version: string, plural: string, namespace: string, name: string, status: unknown): Promise<void> {
    this.requests.inc({ verb: 'patch-status', resource: plural });
    await this.custom.patchNamespacedCustomObjectStatus(
      { group, version, namespace, plural, name, body: { status }, fieldManager: FIELD_MANAGER },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
  }

  /**
   * An informer (list + watch, resumed by resourceVersion) on `path`; items of a
   * list get apiVersion and kind, as watch events carry them.
   */
  informer<T extends k8s.KubernetesObject>(
    path: string, apiVersion: string, kind: string, namespace?: string, labelSelector?: string,
  ): k8s.Informer<T> & k8s.ObjectCache<T> {
    const list = async () => {
      this.requests.inc({ verb: 'list', resource: kind });
      const got = await this.objects.list<T>(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector);
      for (const item of got.items) {
        item.apiVersion ??= apiVersion;
        item.kind ??= kind;
      }
      return got;
    };
    const informer = k8s.makeInformer<T>(this.config, path, list, labelSelector);
    informer.on('connect', () => this.requests.inc({ verb: 'watch', resource: kind }));
    return informer;
  }
}

/** The HTTP status of an API error (client-node's ApiException), if any. */
export function statusCode(e: unknown): number | undefined {
  const err = e as any;
  return typeof err?.code === 'number' ? err.code : typeof err?.statusCode === 'number' ? err.statusCode : undefined;
}

/** The Status the API server answered an error with, if any. */
export function parseBody(e: unknown): any {
  let body = (e as any)?.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return undefined;
    }
  }
  return body && typeof body === 'object' ? body : undefined;
}

/** The API server's message of an error (its Status body), else the error's. */
export function apiMessage(e: unknown): string {
  const err = e as any;
  const body = parseBody(e);
  if (typeof body?.message === 'string') return body.message;
  return String(err?.message ?? err).split('\n')[0];
}
