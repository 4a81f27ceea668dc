import { BundleError, BundleOptions, BundleProblem, renderBundle } from '../bundle/distributed-service-bundle';
import { DISTRIBUTED_SERVICE_API_VERSION } from '../service/distributed-service';
import { qualifiedName } from '../service/server-claims';

/**
 * Admission of frp.io/v1beta1 DistributedService (issue 18 §1): pure
 * functions from an admission.k8s.io/v1 AdmissionReview to its answer. The
 * checks are `cdk8s-frp render`'s (the composition, lib/bundle): the object
 * alone and together with every other DistributedService the operator serves,
 * every problem at once, refused as the API server's usual `Invalid` status
 * with a cause per field. The defaulter is seed 000's plus the library's
 * defaults that the CRD cannot express (they depend on another field).
 */

/** The paths the webhook server answers. @internal */
export const WEBHOOK_PATHS = {
  validate: '/validate-frp-io-v1beta1-distributedservice',
  mutate: '/mutate-frp-io-v1beta1-distributedservice',
} as const;

/** One cause of a refusal: the field (`spec.expose.port`) and what is wrong with it. @internal */
export interface AdmissionCause {
  readonly field: string;
  readonly message: string;
}

/** A JSON Patch operation (RFC 6902) of the defaulter. @internal */
export interface PatchOperation {
  readonly op: 'add';
  readonly path: string;
  readonly value: unknown;
}

/** What the webhook checks against: the bundle options and the other DistributedServices it renders with. @internal */
export interface AdmissionContext {
  /** The operator's bundle options (the same as the controller renders with). */
  readonly bundle: BundleOptions;
  /** Every other DistributedService the operator serves, as stored (may include the object itself: it is skipped). */
  readonly others: readonly any[];
}

const isObject = (v: unknown): v is Record<string, any> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The input of the composition for one DistributedService: `namespace/name`, as the controller names it. @internal */
export function admissionSource(ds: any): string {
  return `${ds?.metadata?.namespace}/${ds?.metadata?.name}`;
}

/** The DistributedService as `cdk8s-frp render` reads it from a file: apiVersion, kind, name, namespace, spec. */
function manifestOf(ds: any, namespace: string | undefined): any {
  if (!isObject(ds)) return ds;
  const md = isObject(ds.metadata) ? ds.metadata : {};
  return {
    apiVersion: ds.apiVersion,
    kind: ds.kind,
    metadata: { name: md.name, namespace: md.namespace ?? namespace },
    ...(ds.spec !== undefined ? { spec: ds.spec } : {}),
  };
}

const FIELD = /^((?:spec|metadata|apiVersion\/kind|apiVersion|kind)(?:[.[][^:\s]*)?): ([\s\S]*)$/;

/** `spec.a.b: what` into field and message (a message of the whole bundle has field `spec`). */
function splitField(text: string): AdmissionCause {
  const m = FIELD.exec(text);
  return m ? { field: m[1], message: m[2] } : { field: 'spec', message: text };
}

const problemKey = (p: BundleProblem) => `${p.source}\u0000${p.message}`;

/** The render of `inputs`: its objects, or its problems. */
function render(inputs: { source: string; manifest: unknown }[], bundle: BundleOptions): { objects: any[]; problems: BundleProblem[] } {
  if (inputs.length === 0) return { objects: [], problems: [] };
  try {
    return { objects: renderBundle(inputs, bundle).objects, problems: [] };
  } catch (e) {
    if (e instanceof BundleError) return { objects: [], problems: e.problems };
    throw e;
  }
}

const renderProblems = (inputs: { source: string; manifest: unknown }[], bundle: BundleOptions) => render(inputs, bundle).problems;

/**
 * frps' remote port of each port exposure (its exposure Service's targetPort),
 * by the DistributedService (`namespace/name`) it belongs to: the Service
 * carries the service's name; it lives in the service's namespace, or next to
 * frps named `<name>-<namespace>`.
 */
function remotePorts(objects: readonly any[], inputs: readonly { source: string; manifest: any }[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const o of objects) {
    const labels = o?.metadata?.labels ?? {};
    const port = o?.spec?.ports?.[0]?.targetPort;
    if (o?.kind !== 'Service' || labels['app.kubernetes.io/component'] !== 'exposure' || typeof port !== 'number') continue;
    const name = labels['frp.io/distributed-service'];
    const owner = inputs.find(i => i.manifest?.metadata?.name === name
      && (i.manifest.metadata.namespace === o.metadata.namespace || qualifiedName(name, i.manifest.metadata.namespace) === o.metadata.name));
    if (owner) out.set(owner.source, port);
  }
  return out;
}

type Input = { source: string; manifest: any };

/**
 * The stored services whose frps remote port the object takes: the render
 * gives a port exposure the exposed port unless another service has it, in
 * namespace/name order, so a newcomer that sorts first would move a running
 * service's remote port. The render cannot tell which one was there first;
 * admission can, and refuses the newcomer, naming both.
 */
function remotePortClaims(source: string, others: Input[], bundle: BundleOptions, all: readonly Input[], objects: readonly any[]): AdmissionCause[] {
  const after = remotePorts(objects, all);
  if (!after.has(source)) return [];
  const before = remotePorts(render(others, bundle).objects, others);
  const out: AdmissionCause[] = [];
  for (const [stored, was] of before) {
    const now = after.get(stored);
    if (now === undefined || now === was) continue;
    out.push({
      field: 'spec.expose.port',
      message: `clashes with ${stored}, stored already: ${source} would take frps remote port ${was} of ${stored} and move it to ${now}; give one of them another port`,
    });
  }
  return out;
}

/**
 * Every problem `cdk8s-frp render` finds in `object` (namespace: the
 * request's), alone and together with `context.others`: its own, each as
 * field and message (the CLI's message without `<namespace>/<name>: `), and
 * those the object brings to another service (a clash reported at the
 * service already serving: the message names both). Problems the others have
 * without the object are not its. When the render has none, admission's own
 * check across objects: the object must not take a stored service's frps
 * remote port (remotePortClaims). @internal
 */
export function admissionCauses(object: any, namespace: string | undefined, context: AdmissionContext): AdmissionCause[] {
  const manifest = manifestOf(object, namespace);
  const source = admissionSource(manifest);
  const others = context.others
    .map(o => manifestOf(o, undefined))
    .filter(o => admissionSource(o) !== source)
    .map(o => ({ source: admissionSource(o), manifest: o }))
    .sort((a, b) => (a.source < b.source ? -1 : a.source > b.source ? 1 : 0));
  const all = [...others, { source, manifest }];
  const { objects, problems } = render(all, context.bundle);
  if (problems.length === 0) return remotePortClaims(source, others, context.bundle, all, objects);
  const own = problems.filter(p => p.source === source).map(p => {
    const text = p.message.startsWith(`${source}: `) ? p.message.slice(source.length + 2) : p.message;
    return splitField(text);
  });
  const elsewhere = problems.filter(p => p.source !== source);
  if (elsewhere.length === 0) return own;
  const before = new Set(renderProblems(others, context.bundle).map(problemKey));
  const brought = elsewhere.filter(p => !before.has(problemKey(p))).map(p => {
    const text = p.source && p.message.startsWith(`${p.source}: `) ? p.message.slice(p.source.length + 2) : p.message;
    const { field } = splitField(text);
    // the composition reports a clash at the later of the two in namespace/name order: that may be the stored one
    return { field, message: p.source ? `clashes with ${p.source}, stored already: ${p.source}: ${text}` : `together with the DistributedServices in the cluster: ${text}` };
  });
  return [...own, ...brought];
}

/** Sets `value` at `path` of `obj` (a copy is not made) unless present, adding the missing objects on the way as patch operations. */
function setDefault(obj: Record<string, any>, path: string[], value: unknown, ops: PatchOperation[]): void {
  let at: Record<string, any> = obj;
  for (let i = 0; i < path.length - 1; i++) {
    const k = path[i];
    if (at[k] === undefined) {
      at[k] = {};
      ops.push({ op: 'add', path: pointer(path.slice(0, i + 1)), value: {} });
    }
    if (!isObject(at[k])) return; // the validation refuses it
    at = at[k];
  }
  const leaf = path[path.length - 1];
  if (at[leaf] !== undefined) return;
  at[leaf] = value;
  ops.push({ op: 'add', path: pointer(path), value });
}

const pointer = (path: string[]) => `/${path.map(p => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

const SERVICE_TYPES = ['http', 'tcp', 'udp', 'grpc'];

/**
 * The defaulter (seed 000's DistributedServiceDefaulter and the library's
 * defaults that depend on another field, which a CRD default cannot say), as
 * JSON Patch operations on `object`: what `cdk8s-frp render` assumes when a
 * field is absent, written into the object.
 * - `spec.loadBalancing.algorithm`: random;
 * - `spec.loadBalancing.healthCheck.type` when the check is enabled (the
 *   default): http for http services, tcp otherwise;
 * - `spec.security.mtls.mode`: auto when mTLS is enabled;
 * - `spec.expose.type`: domain for http services, port otherwise (the CRD has
 *   no default for it, since it depends on serviceType).
 * Nothing for a spec whose serviceType is not one of the four (the
 * validation refuses it). @internal
 */
export function defaultingPatch(object: any): PatchOperation[] {
  const spec = isObject(object) ? object.spec : undefined;
  if (!isObject(spec) || !SERVICE_TYPES.includes(spec.serviceType)) return [];
  const copy = JSON.parse(JSON.stringify(object));
  const ops: PatchOperation[] = [];
  const http = spec.serviceType === 'http';
  setDefault(copy, ['spec', 'loadBalancing', 'algorithm'], 'random', ops);
  const hc = copy.spec.loadBalancing?.healthCheck;
  if (!isObject(hc) || hc.enabled !== false) {
    setDefault(copy, ['spec', 'loadBalancing', 'healthCheck', 'type'], http ? 'http' : 'tcp', ops);
  }
  if (isObject(spec.security) && isObject(spec.security.mtls) && spec.security.mtls.enabled === true) {
    setDefault(copy, ['spec', 'security', 'mtls', 'mode'], 'auto', ops);
  }
  if (isObject(spec.expose)) setDefault(copy, ['spec', 'expose', 'type'], http ? 'domain' : 'port', ops);
  return ops;
}

/** Applies the defaulter's operations to a copy of `object` (what the API server stores). @internal */
export function withDefaults(object: any): any {
  const copy = JSON.parse(JSON.stringify(object));
  for (const op of defaultingPatch(object)) {
    const path = op.path.slice(1).split('/').map(p => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let at = copy;
    for (const k of path.slice(0, -1)) at = at[k];
    at[path[path.length - 1]] = op.value;
  }
  return copy;
}

/** The Status of a refusal: 422 Invalid with a cause per field, as the API server's own validation answers. @internal */
export function invalidStatus(object: any, causes: readonly AdmissionCause[]): any {
  const name = object?.metadata?.name ?? object?.metadata?.generateName ?? '';
  return {
    status: 'Failure',
    code: 422,
    reason: 'Invalid',
    // the CLI's message: one line per problem
    message: causes.map(c => `${c.field}: ${c.message}`).join('\n'),
    details: {
      name,
      group: 'frp.io',
      kind: 'DistributedService',
      causes: causes.map(c => ({ reason: 'FieldValueInvalid', field: c.field, message: c.message })),
    },
  };
}

/** The AdmissionReview answering `review`. */
function answer(review: any, response: Record<string, unknown>): any {
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    response: { uid: review?.request?.uid ?? '', ...response },
  };
}

/** Why a request is let through without the checks, if it is. */
function passThrough(request: any): string | undefined {
  const { group, kind } = request?.kind ?? {};
  const [apiGroup] = DISTRIBUTED_SERVICE_API_VERSION.split('/');
  if (group !== apiGroup || kind !== 'DistributedService') return 'not a DistributedService';
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return `operation ${request.operation}`;
  if (request.subResource) return `subresource ${request.subResource}`;
  const obj = request.object;
  // the finalizer's removal, labels or annotations of a stored object: never blocked by its spec
  if (request.operation === 'UPDATE' && JSON.stringify(obj?.spec) === JSON.stringify(request.oldObject?.spec)) return 'spec unchanged';
  if (obj?.metadata?.deletionTimestamp) return 'being deleted';
  return undefined;
}

/** A request that is not an AdmissionReview v1: refused as a bad request. */
function malformed(review: any): string | undefined {
  if (!isObject(review) || review.apiVersion !== 'admission.k8s.io/v1' || review.kind !== 'AdmissionReview') return 'expected an admission.k8s.io/v1 AdmissionReview';
  if (!isObject(review.request) || typeof review.request.uid !== 'string') return 'the AdmissionReview has no request.uid';
  return undefined;
}

/**
 * The validating webhook's answer to an AdmissionReview: allowed, or refused
 * with every problem of the object (see admissionCauses). @internal
 */
export function validateReview(review: any, context: AdmissionContext): any {
  const bad = malformed(review);
  if (bad) return answer(review, { allowed: false, status: { status: 'Failure', code: 400, reason: 'BadRequest', message: bad } });
  const request = review.request;
  if (passThrough(request)) return answer(review, { allowed: true });
  const causes = admissionCauses(request.object, request.namespace, context);
  return answer(review, causes.length === 0 ? { allowed: true } : { allowed: false, status: invalidStatus(request.object, causes) });
}

/**
 * The mutating webhook's answer: the defaulter's JSON Patch, or the
 * refusal when the defaulted object is invalid. Mutating webhooks run before
 * the CRD's schema and CEL rules, so refusing here gives the user the
 * library's messages for every problem (the CRD would name some of them in
 * its own words and stop there); the validating webhook checks again the
 * object as it will be stored. @internal
 */
export function mutateReview(review: any, context: AdmissionContext): any {
  const bad = malformed(review);
  if (bad) return answer(review, { allowed: false, status: { status: 'Failure', code: 400, reason: 'BadRequest', message: bad } });
  const request = review.request;
  if (passThrough(request)) return answer(review, { allowed: true });
  const ops = defaultingPatch(request.object);
  // the user's object, as the CLI would read it (the validating webhook sees it defaulted)
  const causes = admissionCauses(request.object, request.namespace, context);
  if (causes.length > 0) return answer(review, { allowed: false, status: invalidStatus(request.object, causes) });
  if (ops.length === 0) return answer(review, { allowed: true });
  return answer(review, { allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') });
}
