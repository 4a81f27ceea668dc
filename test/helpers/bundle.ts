/**
 * One call that checks a whole synthesized bundle with every checker in this folder,
 * plus the bundle-level rules no single checker can see.
 *
 * Per object: the Kubernetes 1.28 schema for built-in kinds, else the CRD schema (shared
 * CRDs or a CRD in the bundle; neither = "no schema for ..."); names and labels; the pod
 * security rules for workloads; a workload's selector must match its template labels.
 * Per bundle: no duplicate objects; frp TOML in ConfigMaps (`frps.toml` / `*.frps.toml`
 * as server, `frpc.toml` / `*.frpc.toml` as client) passes the real `frps verify` /
 * `frpc verify` of frp v0.70.1 and checkFrpToml, and every
 * `{{ .Envs.X }}` it uses is defined on a container that mounts that ConfigMap (per
 * workload mounting it; `envFrom` counts as "may define"); no secret values; every CRD in
 * the bundle passes the structural checks.
 */
import { App, Chart, Yaml } from 'cdk8s';
import { checkCrdDefinition, validateCustomResource } from './crd-schema';
import { checkFrpToml, frpTomlEnvRefs, FrpSide } from './frp-keys';
import { frpProgramOfKey, verifyBundleFrpConfigs } from './frp-verify';
import {
  isCoreKind, isDns1035Label, isDns1123Label, isDns1123Subdomain, isLabelValue, isPlainObject, isQualifiedName,
  joinPath, objectLabel, problem, validateK8sObject,
} from './k8s-schema';
import { checkPodSecurity, containersOf, podTemplateOf } from './pod-security';
import { checkNoSecretValues } from './secrets';

/** Which side of frp a ConfigMap data key holds, if any. */
export function frpSideOfKey(key: string): FrpSide | undefined {
  const program = frpProgramOfKey(key);
  return program && (program === 'frps' ? 'server' : 'client');
}

/** Kinds whose names may contain ':' and other path-segment characters. */
const RBAC_KINDS = new Set(['Role', 'ClusterRole', 'RoleBinding', 'ClusterRoleBinding']);
/** Workloads whose pods take their name (hostname) from the object name: DNS-1123 labels. */
const LABEL_NAMED_KINDS = new Set(['Namespace', 'StatefulSet', 'DaemonSet', 'Deployment', 'ReplicaSet', 'Job', 'CronJob', 'Pod']);
/** Workloads whose selector must match their pod template labels. */
const SELECTOR_KINDS = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet']);
/** Kubernetes caps the total size of an object's annotations. */
const MAX_ANNOTATIONS_BYTES = 256 * 1024;

/**
 * Runs every check on a bundle (the array from `Testing.synth(chart)`, or parsed YAML).
 * Returns all problems, each naming the object, the JSON path and what is wrong.
 */
export function checkBundle(manifests: readonly any[]): string[] {
  const out: string[] = [];
  const crds = manifests.filter((o) => o?.kind === 'CustomResourceDefinition' && o?.apiVersion === 'apiextensions.k8s.io/v1');
  const seen = new Map<string, number>();

  manifests.forEach((obj: any, i) => {
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) {
      out.push(`manifest [${i}]: expected an object, got ${obj === null ? 'null' : typeof obj}`);
      return;
    }
    const label = objectLabel(obj);
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
      out.push(problem(label, '', `manifest [${i}] needs string apiVersion and kind`));
      return;
    }
    // Identity: group + kind + namespace + name (versions of one group are the same object).
    const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
    const id = `${group}/${obj.kind}/${obj.metadata?.namespace ?? ''}/${obj.metadata?.name}`;
    if (seen.has(id)) out.push(problem(label, 'metadata.name', `duplicate object (same as manifest [${seen.get(id)}])`));
    else seen.set(id, i);

    out.push(...(isCoreKind(obj.apiVersion, obj.kind) ? validateK8sObject(obj) : validateCustomResource(obj, crds)));
    if (obj.kind === 'CustomResourceDefinition') out.push(...checkCrdDefinition(obj));
    out.push(...checkNames(obj));
    out.push(...checkPodSecurity(obj));
    out.push(...checkSelector(obj));
    if (obj.kind === 'ConfigMap' && obj.apiVersion === 'v1') out.push(...checkFrpConfigMap(obj, manifests));
  });
  out.push(...checkNoSecretValues(manifests));
  // frp's own verify is the config check of record
  out.push(...verifyBundleFrpConfigs(manifests));
  return out;
}

/** Throws one Error listing every problem in the bundle (a readable jest failure). */
export function expectValidBundle(manifests: readonly any[]): void {
  const problems = checkBundle(manifests);
  if (problems.length) {
    throw new Error(`bundle of ${manifests.length} objects has ${problems.length} problem(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

// ---------------------------------------------------------------------------
// Names and labels
// ---------------------------------------------------------------------------

function checkNames(obj: any): string[] {
  const label = objectLabel(obj);
  const out: string[] = [];
  const meta = obj.metadata;
  if (!isPlainObject(meta)) return [problem(label, 'metadata', 'metadata is missing')];
  const name = meta.name;
  if (typeof name !== 'string' || name === '') {
    out.push(problem(label, 'metadata.name', 'a name is required (generateName does not work with GitOps apply)'));
  } else if (obj.kind === 'Service') {
    if (!isDns1035Label(name)) out.push(problem(label, 'metadata.name', `${JSON.stringify(name)} must be a DNS-1035 label (a-z first, a-z0-9- , at most 63 characters)`));
  } else if (obj.kind === 'CustomResourceDefinition') {
    // checkCrdDefinition enforces <plural>.<group>.
  } else if (RBAC_KINDS.has(obj.kind)) {
    if (name.length > 253 || /[/%]/.test(name)) out.push(problem(label, 'metadata.name', `${JSON.stringify(name)} must be at most 253 characters without "/" or "%"`));
  } else if (LABEL_NAMED_KINDS.has(obj.kind)) {
    const max = obj.kind === 'CronJob' ? 52 : 63; // CronJob adds an 11-character suffix to its Jobs
    if (!isDns1123Label(name) || name.length > max) out.push(problem(label, 'metadata.name', `${JSON.stringify(name)} must be a DNS-1123 label of at most ${max} characters`));
  } else if (!isDns1123Subdomain(name)) {
    out.push(problem(label, 'metadata.name', `${JSON.stringify(name)} must be a DNS-1123 subdomain (a-z0-9 . -, at most 253 characters)`));
  } else if (isPlainObject(meta.labels) && Object.keys(meta.labels).length && name.length > 63) {
    out.push(problem(label, 'metadata.name', `${JSON.stringify(name)} is ${name.length} characters; labelled objects are kept to 63 (DESIGN §5)`));
  }
  if (meta.namespace !== undefined && (typeof meta.namespace !== 'string' || !isDns1123Label(meta.namespace))) {
    out.push(problem(label, 'metadata.namespace', `${JSON.stringify(meta.namespace)} must be a DNS-1123 label`));
  }
  out.push(...checkLabelsAndAnnotations(meta, 'metadata', label));
  const tpl = podTemplateOf(obj);
  if (tpl && obj.kind !== 'Pod' && isPlainObject(tpl.metadata)) out.push(...checkLabelsAndAnnotations(tpl.metadata, tpl.metadataPath, label));
  const matchLabels = obj.spec?.selector?.matchLabels ?? (obj.kind === 'Service' ? obj.spec?.selector : undefined);
  if (isPlainObject(matchLabels)) out.push(...checkLabelMap(matchLabels, obj.spec.selector.matchLabels ? 'spec.selector.matchLabels' : 'spec.selector', label));
  return out;
}

function checkLabelsAndAnnotations(meta: Record<string, unknown>, at: string, label: string): string[] {
  const out: string[] = [];
  if (isPlainObject(meta.labels)) out.push(...checkLabelMap(meta.labels, joinPath(at, 'labels'), label));
  if (isPlainObject(meta.annotations)) {
    let size = 0;
    for (const [k, v] of Object.entries(meta.annotations)) {
      size += k.length + (typeof v === 'string' ? Buffer.byteLength(v) : 0);
      if (!isQualifiedName(k)) out.push(problem(label, joinPath(joinPath(at, 'annotations'), k), 'annotation key must be a qualified name ([prefix/]name, name at most 63 characters)'));
    }
    if (size > MAX_ANNOTATIONS_BYTES) out.push(problem(label, joinPath(at, 'annotations'), `total size ${size} bytes exceeds 256 KiB`));
  }
  return out;
}

function checkLabelMap(labels: Record<string, unknown>, at: string, label: string): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    const where = joinPath(at, k);
    if (!isQualifiedName(k)) out.push(problem(label, where, 'label key must be a qualified name ([prefix/]name, name at most 63 characters)'));
    if (typeof v !== 'string' || !isLabelValue(v)) out.push(problem(label, where, `label value ${JSON.stringify(v)} must be at most 63 characters of [A-Za-z0-9-_.], alphanumeric at both ends`));
  }
  return out;
}

/** apps/v1 workloads: selector.matchLabels must be a subset of the pod template labels. */
function checkSelector(obj: any): string[] {
  if (!SELECTOR_KINDS.has(obj.kind) || obj.apiVersion !== 'apps/v1') return [];
  const label = objectLabel(obj);
  const matchLabels = obj.spec?.selector?.matchLabels;
  const labels = obj.spec?.template?.metadata?.labels ?? {};
  if (!isPlainObject(matchLabels) || !Object.keys(matchLabels).length) {
    return obj.spec?.selector?.matchExpressions ? [] : [problem(label, 'spec.selector.matchLabels', 'empty selector')];
  }
  return Object.entries(matchLabels)
    .filter(([k, v]) => labels[k] !== v)
    .map(([k, v]) => problem(label, joinPath('spec.selector.matchLabels', k), `selector ${k}=${v} does not match the pod template labels`));
}

// ---------------------------------------------------------------------------
// frp configs in ConfigMaps
// ---------------------------------------------------------------------------

function checkFrpConfigMap(cm: any, manifests: readonly any[]): string[] {
  const label = objectLabel(cm);
  const out: string[] = [];
  if (!isPlainObject(cm.data)) return out;
  for (const [key, text] of Object.entries(cm.data)) {
    const side = frpSideOfKey(key);
    if (!side || typeof text !== 'string') continue;
    const at = joinPath('data', key);
    for (const p of checkFrpToml(text, side)) out.push(problem(label, at, p));
    const refs = frpTomlEnvRefs(text);
    if (!refs.length) continue;
    for (const { workload, containers } of mountersOf(cm, manifests)) {
      const defined = new Set(containers.flatMap((c) => (Array.isArray(c.env) ? c.env.map((e: any) => e?.name) : [])));
      const mayDefine = containers.some((c) => Array.isArray(c.envFrom) && c.envFrom.length > 0);
      for (const ref of refs) {
        if (!defined.has(ref) && !mayDefine) {
          out.push(problem(label, at, `uses {{ .Envs.${ref} }} but no container of ${objectLabel(workload)} that mounts this ConfigMap `
            + `(${containers.map((c) => c.name).join(', ')}) defines env ${ref}; frp would render "<no value>"`));
        }
      }
    }
  }
  return out;
}

/** Workloads (same namespace) with a volume from ConfigMap `cm`, and their containers that mount it. */
function mountersOf(cm: any, manifests: readonly any[]): Array<{ workload: any; containers: any[] }> {
  const found: Array<{ workload: any; containers: any[] }> = [];
  for (const obj of manifests) {
    const tpl = podTemplateOf(obj);
    if (!tpl || !isPlainObject(tpl.spec) || (obj.metadata?.namespace ?? '') !== (cm.metadata?.namespace ?? '')) continue;
    const volumes: any[] = Array.isArray(tpl.spec.volumes) ? tpl.spec.volumes : [];
    const names = new Set(volumes.filter((v) => v?.configMap?.name === cm.metadata?.name
      || (Array.isArray(v?.projected?.sources) && v.projected.sources.some((s: any) => s?.configMap?.name === cm.metadata?.name)))
      .map((v) => v.name));
    if (!names.size) continue;
    const containers = containersOf(tpl.spec, tpl.specPath).map((r) => r.container)
      .filter((c) => Array.isArray(c?.volumeMounts) && c.volumeMounts.some((m: any) => names.has(m?.name)));
    if (containers.length) found.push({ workload: obj, containers });
  }
  return found;
}

// ---------------------------------------------------------------------------
// Synthesis helpers
// ---------------------------------------------------------------------------

/**
 * The chart's manifests exactly as `cdk8s synth` produces them: app-level dependency
 * resolution and construct validations run first (unlike `Testing.synth`, which only
 * calls `chart.toJson()`).
 */
export function synthManifests(chart: Chart): any[] {
  // App._synthChart is public in the JS API (it is what `app.synth()` uses per chart).
  const synthChart = (App as unknown as { _synthChart?: (c: Chart) => any[] })._synthChart;
  return typeof synthChart === 'function' ? synthChart.call(App, chart) : chart.toJson();
}

/** The chart's manifests as one multi-document YAML string. */
export function synthYaml(chart: Chart): string {
  return Yaml.stringify(...synthManifests(chart));
}

/**
 * Builds the chart twice (each `build()` must create a fresh app, e.g. with
 * `Testing.chart()`) and throws if the two YAML renderings differ. Returns the YAML.
 */
export function expectDeterministic(build: () => Chart): string {
  const first = build();
  const second = build();
  if (App.of(first) === App.of(second)) {
    throw new Error('expectDeterministic: build() returned charts of the same app; create a fresh one per call (Testing.chart())');
  }
  const a = synthYaml(first);
  const b = synthYaml(second);
  if (a !== b) {
    const la = a.split('\n');
    const lb = b.split('\n');
    let line = 0;
    while (line < la.length && la[line] === lb[line]) line++;
    const context = (lines: string[]) => lines.slice(Math.max(0, line - 3), line + 3).map((l) => `      ${l}`).join('\n');
    throw new Error(`synthesis is not deterministic: the two builds first differ at YAML line ${line + 1}\n`
      + `  first build:\n${context(la)}\n  second build:\n${context(lb)}`);
  }
  return a;
}
