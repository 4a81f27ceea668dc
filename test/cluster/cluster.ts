import { ChildProcess, execFileSync, spawn, spawnSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { stringify } from 'yaml';

/**
 * The test cluster (scripts/test-cluster.sh): etcd, kube-apiserver,
 * kube-controller-manager and kube-scheduler v1.28 (v1.34 with CDK8S_FRP_K8S_VERSION=1.34;
 * npm test runs this suite on both), KWOK's fake nodes (pods become
 * Running and Ready without containers) and cert-manager's controller, on the run's own loopback address,
 * with the CRDs installed. The jest global setup (./global-setup.ts) gives
 * each run its own state directory and stops the cluster at the end; the first test
 * file that needs it starts it (the script is idempotent and takes a lock, so test
 * files in parallel workers share one).
 */
const ROOT = join(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'test-cluster.sh');

/** The outcome of one kubectl run. */
export interface KubectlResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let kubeconfig: string | undefined;
let kubectlBin: string | undefined;

/** Starts the test cluster (or finds the running one) and returns its kubeconfig path. */
export function startCluster(): string {
  if (kubeconfig) return kubeconfig;
  const out = execFileSync(SCRIPT, ['start'], { encoding: 'utf8', timeout: 600_000, stdio: ['ignore', 'pipe', 'pipe'] });
  kubeconfig = out.trim().split('\n').pop()!;
  kubectlBin = join(execFileSync(join(ROOT, 'scripts', 'build-k8s.sh'), { encoding: 'utf8', timeout: 600_000 }).trim().split('\n').pop()!, 'kubectl');
  return kubeconfig;
}

/** Runs kubectl against the test cluster, with `input` on stdin (killed after `timeoutMs`). */
export function kubectl(args: string[], input?: string, timeoutMs = 120_000): KubectlResult {
  startCluster();
  // `get -A -o json` on a cluster many suites have applied to outgrows node's 1 MiB
  // default buffer (ENOBUFS, seen in CI's 1.34 run): allow 1 GiB
  const r = spawnSync(kubectlBin!, ['--kubeconfig', kubeconfig!, ...args], { input, encoding: 'utf8', timeout: timeoutMs, maxBuffer: 2 ** 30 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A long-running kubectl (e.g. `get --watch`) against the test cluster; the caller stops it. */
export function spawnKubectl(args: string[]): ChildProcess {
  startCluster();
  return spawn(kubectlBin!, ['--kubeconfig', kubeconfig!, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
}

/** kubectl that must succeed with nothing on stderr (no warnings); returns stdout. */
export function kubectlClean(args: string[], input?: string): string {
  const r = kubectl(args, input);
  if (r.status !== 0 || r.stderr !== '') {
    throw new Error(`kubectl ${args.join(' ')}: exit ${r.status}\n${r.stderr}`);
  }
  return r.stdout;
}

/** A pod spec PodSecurity `restricted` accepts (the image is never pulled: KWOK runs no containers). */
export const RESTRICTED_POD = {
  securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
  containers: [{
    name: 'app',
    image: 'registry.k8s.io/pause:3.9',
    securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
  }],
};

/** Multi-document YAML of `docs`. */
export function toYaml(docs: any[]): string {
  return docs.map(d => stringify(d)).join('---\n');
}

let scratch: string | undefined;
/** Writes `docs` to a file (kubectl diff needs one) and returns its path. */
export function writeManifests(name: string, docs: any[]): string {
  scratch ??= mkdtempSync(join(tmpdir(), 'cdk8s-frp-cluster-test-'));
  const file = join(scratch, `${name.replace(/[^A-Za-z0-9.-]+/g, '-')}.yaml`);
  writeFileSync(file, toYaml(docs));
  return file;
}

/** Field manager of the applies: Argo CD's application controller. */
export const FIELD_MANAGER = 'argocd-controller';

/**
 * Calls `check` every half second until it returns true; throws naming `what` after
 * `seconds` (a bounded wait on the cluster's controllers, not a timing assertion).
 */
export function pollUntil(what: string, check: () => boolean, seconds = 120): void {
  for (let i = 0; i < seconds * 2; i++) {
    if (check()) return;
    pause(500);
  }
  throw new Error(`${what}: not after ${seconds} s`);
}

/** Blocks for `ms` milliseconds (kubectl runs synchronously here). */
function pause(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * The namespaces `docs` use, as a cluster would have them: labelled PodSecurity
 * `restricted` (enforce and warn), with the ServiceAccount `default` that
 * kube-controller-manager creates in each (waited for: pods need it). Idempotent.
 */
export function ensureNamespaces(docs: any[]): string[] {
  const names = [...new Set(docs.map(d => d.metadata?.namespace).filter((n): n is string => typeof n === 'string'))].sort();
  const objects = names.map(name => ({
    apiVersion: 'v1',
    kind: 'Namespace',
    metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/warn': 'restricted' } },
  }));
  if (objects.length > 0) kubectlClean(['apply', '--server-side', '--field-manager=test-setup', '-f', '-'], toYaml(objects));
  for (const name of names) {
    pollUntil(`ServiceAccount ${name}/default`, () => kubectl(['get', 'serviceaccount', 'default', '-n', name]).status === 0);
  }
  return names;
}

/** Server-side apply of `docs` as Argo CD does it (no --force-conflicts). */
export function serverSideApply(file: string): KubectlResult {
  return kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', file]);
}

/** `kubectl diff --server-side` of `file` against the cluster: exit 0 means no difference. */
export function serverSideDiff(file: string): KubectlResult {
  // kubectl diff reads the live objects, then dry-runs the apply: a controller
  // (cert-manager, the Deployment controller) writing an object's status between
  // the two shows as a difference that is not ours (seen in CI: an Issuer's Ready
  // condition). A difference the bundle makes is there on every try; one that a
  // controller's write makes is gone on the next. So: up to 5 tries, 1 s apart.
  const diff = () => kubectl(['diff', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', file]);
  let r = diff();
  for (let i = 1; i < 5 && r.stdout !== ''; i++) {
    pause(1_000);
    r = diff();
  }
  return r;
}

/** The live objects for the objects in `file`, in the file's order. */
export function liveObjects(file: string): any[] {
  const got = JSON.parse(kubectlClean(['get', '-f', file, '-o', 'json']));
  return got.kind === 'List' ? got.items : [got];
}

/**
 * Where the live object differs from what was rendered: every field the bundle
 * sets must read back with the same value (lists element by element, the same
 * length). The server may add fields (defaults, status); it must not rewrite or
 * drop ours, else a client-side diff (Argo CD's default) never settles.
 */
export function drift(rendered: unknown, live: unknown, path = ''): string[] {
  if (Array.isArray(rendered)) {
    if (!Array.isArray(live)) return [`${path}: rendered a list of ${rendered.length}, live ${JSON.stringify(live)}`];
    if (live.length !== rendered.length) return [`${path}: rendered ${rendered.length} items, live has ${live.length}: ${JSON.stringify(live)}`];
    return rendered.flatMap((r, i) => drift(r, live[i], `${path}[${i}]`));
  }
  if (rendered !== null && typeof rendered === 'object') {
    if (live === null || typeof live !== 'object' || Array.isArray(live)) return [`${path}: rendered an object, live ${JSON.stringify(live)}`];
    return Object.entries(rendered).flatMap(([k, v]) => drift(v, (live as any)[k], `${path}.${k}`));
  }
  return rendered === live ? [] : [`${path}: rendered ${JSON.stringify(rendered)}, live ${JSON.stringify(live)}`];
}

/**
 * The pods the workloads in `docs` would create, from their templates, to create
 * with `--dry-run=server` (the controllers create the real ones; this sees
 * PodSecurity's answer directly).
 */
export function podsOf(docs: any[]): any[] {
  return docs.filter(d => d.spec?.template?.spec?.containers).map(d => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `${d.metadata.name}-pod`.slice(0, 63), namespace: d.metadata.namespace, labels: d.spec.template.metadata?.labels, annotations: d.spec.template.metadata?.annotations },
    spec: d.spec.template.spec,
  }));
}
