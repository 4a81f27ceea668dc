import { readFileSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { RESTRICTED_POD, drift, ensureNamespaces, kubectl, kubectlClean, startCluster, writeManifests } from './cluster';
import { OperatorProcess, StateHistory, eventually, operatorLock } from './operator-process';
import { main } from '../../lib/cli/render';

/**
 * issue 17's tests of record for `cdk8s-frp operator` on the test cluster: the
 * four seed manifests applied as custom resources, edits, an invalid edit, a
 * hand edit, deletion, a kill mid-reconcile, two replicas. The operator runs
 * as a child process (bin/cdk8s-frp operator --kubeconfig ...) and is always
 * stopped. The seeds' namespaces get an `op-` prefix so that no other test of
 * the cluster shares an object with them.
 */
jest.setTimeout(600_000);

const ROOT = join(__dirname, '..', '..');
const NS: Record<string, string> = { 'ai-services': 'op-ai', 'databases': 'op-db', 'microservices': 'op-micro', 'web': 'op-web' };
const FRPS_NS = 'op-frp';
// the CA goes to cert-manager's cluster resource namespace (scripts/test-cluster.sh runs it with cert-manager)
const CA_NS = 'cert-manager';
const SERVED = Object.values(NS);
const OPERATOR_ARGS = [...SERVED.flatMap(n => ['--namespace', n]), '--frps-namespace', FRPS_NS, '--cert-manager-namespace', CA_NS];
const RENDER_ARGS = ['--namespace', FRPS_NS, '--cert-manager-namespace', CA_NS];
const KINDS = 'configmaps,services,deployments.apps,statefulsets.apps,daemonsets.apps,networkpolicies.networking.k8s.io,ingresses.networking.k8s.io,poddisruptionbudgets.policy,certificates.cert-manager.io,issuers.cert-manager.io,clusterissuers.cert-manager.io';
const MANAGER = 'cdk8s-frp-operator';

/** The seed manifests (examples/manifests), in the op- namespaces. */
function seeds(): Record<string, any> {
  const out: Record<string, any> = {};
  for (const name of ['ollama-cluster', 'postgres-proxy', 'user-service', 'webapp-frontend']) {
    const doc = parseAllDocuments(readFileSync(join(ROOT, 'examples', 'manifests', `${name}.yaml`), 'utf8'))[0].toJS();
    doc.metadata.namespace = NS[doc.metadata.namespace];
    const d = doc.spec.backends?.discovery;
    if (d?.namespace) d.namespace = NS[d.namespace];
    out[name] = doc;
  }
  return out;
}

function applyServices(docs: any[]): void {
  kubectlClean(['apply', '--server-side', '--field-manager=test-user', '-f', writeManifests('operator-dsvc', docs)]);
}

/** The DistributedServices as the API server holds them. */
function services(): any[] {
  return SERVED.flatMap(ns => JSON.parse(kubectlClean(['get', 'dsvc', '-n', ns, '-o', 'json'])).items)
    .sort((a: any, b: any) => `${a.metadata.namespace}/${a.metadata.name}` < `${b.metadata.namespace}/${b.metadata.name}` ? -1 : 1);
}

function service(name: string): any {
  return services().find(s => s.metadata.name === name);
}

/** `cdk8s-frp render` of `docs` (the CLI's main, in-process: what it writes for the same objects and options). */
function cliRender(docs: any[]): { objects: any[]; status: number | null; stderr: string } {
  const file = writeManifests('operator-render', docs);
  let stdout = '';
  let stderr = '';
  const status = main(['render', ...RENDER_ARGS, file], s => { stdout += s; }, s => { stderr += s; });
  return { objects: status === 0 ? parseAllDocuments(stdout).map(d => d.toJS()).filter(Boolean) : [], status, stderr };
}

/** A live DistributedService as a file holds it. */
const asFile = (d: any) => ({
  apiVersion: d.apiVersion, kind: d.kind, metadata: { name: d.metadata.name, namespace: d.metadata.namespace }, spec: d.spec,
});

const key = (o: any) => `${o.apiVersion} ${o.kind} ${o.metadata.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata.name}`;

/** Every object the operator applied (an Apply entry of its field manager), by key. */
function applied(): Map<string, any> {
  const items: any[] = JSON.parse(kubectlClean(['get', KINDS, '-A', '-l', 'app.kubernetes.io/managed-by=cdk8s', '--show-managed-fields', '-o', 'json'])).items;
  return new Map(items.filter(o => (o.metadata.managedFields ?? []).some((f: any) => f.manager === MANAGER && f.operation === 'Apply'))
    .filter(o => !o.metadata.deletionTimestamp).map(o => [key(o), o]));
}

/**
 * The owner references the rule gives: the services of the object's namespace that use it (its own
 * service by label, else the one it is named after, else every one there).
 */
function expectedOwners(obj: any, dss: any[]): any[] | undefined {
  const own = obj.metadata.labels?.['frp.io/distributed-service'];
  const here = dss.filter(d => d.metadata.namespace === obj.metadata.namespace);
  const named = here.filter(d => obj.metadata.name.startsWith(`${d.metadata.name}-`));
  const owners = own !== undefined ? here.filter(d => d.metadata.name === own) : named.length > 0 ? named : here;
  if (owners.length === 0) return undefined;
  return owners.map(d => ({ apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', name: d.metadata.name, uid: d.metadata.uid, ...(own !== undefined ? { controller: true } : {}) }));
}

/** What differs between the CLI's render of the live services and what the operator applied (empty: equal). */
function differencesFromRender(): string[] {
  const dss = services();
  const { objects, status, stderr } = cliRender(dss.map(asFile));
  if (status !== 0) return [`render failed: ${stderr}`];
  const live = applied();
  const problems: string[] = [];
  for (const o of objects) {
    const l = live.get(key(o));
    if (!l) {
      problems.push(`${key(o)}: not applied`);
      continue;
    }
    problems.push(...drift(o, l, key(o)));
    const want = expectedOwners(o, dss);
    if (canonical(l.metadata.ownerReferences) !== canonical(want)) problems.push(`${key(o)}: ownerReferences ${JSON.stringify(l.metadata.ownerReferences)}, want ${JSON.stringify(want)}`);
  }
  const rendered = new Set(objects.map(key));
  for (const k of live.keys()) if (!rendered.has(k)) problems.push(`${k}: applied, not in the render`);
  return problems;
}

/** JSON with sorted keys. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([a], [b]) => (a < b ? -1 : 1))) : x));
}

const cond = (ds: any, type: string) => (ds?.status?.conditions ?? []).find((c: any) => c.type === type);

/** Waits until the operator applied the current generation of every service and the cluster equals the render. */
async function converged(): Promise<void> {
  let last: string[] = [];
  await eventually(() => {
    const dss = services();
    const settled = dss.every(d => d.status?.observedGeneration === d.metadata.generation && cond(d, 'ConfigurationValid')?.status === 'True' && cond(d, 'ConfigurationApplied')?.status === 'True');
    if (!settled) return undefined;
    last = differencesFromRender();
    return last.length === 0 ? true : undefined;
  }, () => `differences: ${last.join('\n')}\nstatus: ${JSON.stringify(services().map(s => [s.metadata.name, s.status?.state, s.status?.observedGeneration, s.metadata.generation]))}`, 180_000, 1_000);
  // the operator's log lines that came while kubectl ran (synchronously) are read now
  await new Promise(r => setTimeout(r, 1_000));
}

/** Events of a service (events.k8s.io/v1, as kubectl shows them). */
function events(ns: string, name: string): any[] {
  return JSON.parse(kubectlClean(['get', 'events.v1.events.k8s.io', '-n', ns, '-o', 'json'])).items
    .filter((e: any) => e.regarding?.name === name && e.regarding?.kind === 'DistributedService')
    .sort((a: any, b: any) => (a.eventTime < b.eventTime ? -1 : a.eventTime > b.eventTime ? 1 : 0));
}

/**
 * What the users of the three seeds with discovered backends run themselves (the operator
 * creates none of it): the backends' Deployments, whose pods carry the labels and the port
 * their discovery selects (KWOK makes them Running and Ready, the endpointslice controller
 * lists them), and for postgres-proxy's dns discovery the Service it names
 * (spec.backends.discovery.serviceName, by default <name>-backends, in the discovery namespace).
 */
function userBackends(): any[] {
  const out: any[] = [];
  const deployment = (namespace: string, name: string, labels: Record<string, string>, port: number, replicas: number) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: { ...RESTRICTED_POD, containers: RESTRICTED_POD.containers.map(c => ({ ...c, ports: [{ name: 'serve', containerPort: port }] })) },
      },
    },
  });
  // selector and auto discovery: the labels of the backends Service the bundle renders
  const rendered = cliRender(Object.values(seeds())).objects;
  for (const ds of Object.values(seeds())) {
    const d = ds.spec.backends.discovery;
    if (!d) continue;
    const replicas = BACKEND_REPLICAS[ds.metadata.name];
    if (d.mode === 'dns') {
      const labels = { app: ds.metadata.name };
      out.push(deployment(d.namespace ?? ds.metadata.namespace, ds.metadata.name, labels, d.port, replicas), {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: d.serviceName ?? `${ds.metadata.name}-backends`, namespace: d.namespace ?? ds.metadata.namespace },
        spec: { clusterIP: 'None', selector: labels, ports: [{ name: 'serve', port: d.port, targetPort: d.port }] },
      });
      continue;
    }
    const svc = rendered.find(o => o.kind === 'Service' && o.metadata.name === `${ds.metadata.name}-backends`);
    out.push(deployment(svc.metadata.namespace, ds.metadata.name, svc.spec.selector, d.port, replicas));
  }
  return out;
}

/** Replicas of the user's backends, by service (what BackendDiscovered reports). */
const BACKEND_REPLICAS: Record<string, number> = { 'ollama-cluster': 3, 'postgres-proxy': 2, 'webapp-frontend': 2 };

let operator: OperatorProcess | undefined;
const others: OperatorProcess[] = [];
let history: StateHistory | undefined;
let releaseLock: (() => void) | undefined;

beforeAll(async () => {
  startCluster();
  releaseLock = await operatorLock();
  ensureNamespaces([...SERVED, FRPS_NS, CA_NS].map(namespace => ({ metadata: { namespace } })));
  // what an earlier run on a kept cluster (CDK8S_FRP_CLUSTER_DIR) left behind
  for (const ns of SERVED) {
    for (const name of kubectlClean(['get', 'dsvc', '-n', ns, '-o', 'name']).split('\n').filter(Boolean)) {
      kubectlClean(['patch', name, '-n', ns, '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
      kubectlClean(['delete', name, '-n', ns]);
    }
  }
  // (the garbage collector may take an owned one first, once its service is gone)
  for (const o of applied().values()) kubectlClean(['delete', '--ignore-not-found', o.kind.toLowerCase() + '.' + (o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : ''), o.metadata.name, ...(o.metadata.namespace ? ['-n', o.metadata.namespace] : [])].map(a => a.replace(/\.$/, '')));
  for (const ns of [...SERVED, FRPS_NS]) kubectl(['delete', 'events.v1.events.k8s.io', '--all', '-n', ns]);
  kubectl(['delete', 'lease', 'cdk8s-frp-operator', '-n', FRPS_NS, '--ignore-not-found']);
}, 1_800_000);

afterAll(async () => {
  for (const o of [operator, ...others]) await o?.stop('SIGKILL');
  await history?.stop();
  releaseLock?.();
});

describe('cdk8s-frp operator on the test cluster', () => {
  test('the four seed manifests as custom resources: the applied objects equal the CLI render plus owner references; each walks Pending, Provisioning, Running; kubectl get and the events show it', async () => {
    // what the users run already: their backends (and postgres-proxy's backends Service)
    const backends = userBackends();
    ensureNamespaces(backends);
    kubectlClean(['apply', '--server-side', '--field-manager=test-user', '-f', writeManifests('operator-user-backends', backends)]);
    history = new StateHistory();
    operator = new OperatorProcess([...OPERATOR_ARGS, '--no-leader-election']);
    await operator.waitFor('started');
    applyServices(Object.values(seeds()));
    await converged();
    const dss = services();
    expect(dss.map(d => d.metadata.name)).toEqual(['ollama-cluster', 'postgres-proxy', 'user-service', 'webapp-frontend']);
    for (const d of dss) expect(d.metadata.finalizers).toEqual(['frp.io/cleanup']);
    // the listed endpoints of user-service count as present
    expect(service('user-service').status).toMatchObject({ activeBackends: 2, totalBackends: 2 });
    expect(cond(service('user-service'), 'BackendsAvailable')).toMatchObject({ status: 'True', reason: 'Listed' });
    // discovered backends: the selector of the backends Service (for the scale subresource)
    expect(service('ollama-cluster').status.selector).toBe('app=ollama,tier=inference');
    expect(service('webapp-frontend').status.selector).toBe('app.kubernetes.io/name=webapp-frontend');
    // KWOK readies the pods (frps, frpc, balancers and the users' backends) and cert-manager issues:
    // every service Running, with every condition true
    const all = await eventually(() => {
      const now = services();
      return now.length === 4 && now.every(d => d.status?.state === 'Running') ? now : undefined;
    }, () => JSON.stringify(services().map(s => [s.metadata.name, s.status?.state, s.status?.conditions])), 300_000, 2_000);
    for (const d of all) {
      for (const type of ['Ready', 'ConfigurationValid', 'ConfigurationApplied', 'CertificatesReady', 'BackendsAvailable']) {
        expect([d.metadata.name, type, cond(d, type)?.status]).toEqual([d.metadata.name, type, 'True']);
      }
      // the states the API server held, in order (the watch saw every write, up to the one read here)
      await history!.caughtUp(`${d.metadata.namespace}/${d.metadata.name}`, d.metadata.resourceVersion);
      expect([d.metadata.name, history!.walk(`${d.metadata.namespace}/${d.metadata.name}`)]).toEqual([d.metadata.name, ['Pending', 'Provisioning', 'Running']]);
    }
    for (const [name, replicas] of Object.entries(BACKEND_REPLICAS)) {
      expect([name, service(name).status.activeBackends, service(name).status.totalBackends]).toEqual([name, replicas, replicas]);
      expect(cond(service(name), 'BackendsAvailable')).toMatchObject({ reason: 'BackendsReady', message: `${replicas} of ${replicas} backends ready` });
    }
    // dns discovery: the backends Service is the user's, with no selector of the bundle's to report
    expect(service('postgres-proxy').status.selector).toBeUndefined();
    // kubectl get dsvc: the Type, Backends and State columns filled
    const table = kubectlClean(['get', 'dsvc', '-A']);
    console.log(`$ kubectl get dsvc -A\n${table}`);
    const rows = table.trim().split('\n');
    expect(rows[0]).toMatch(/^NAMESPACE\s+NAME\s+TYPE\s+BACKENDS\s+STATE\s+AGE$/);
    // other tests share the cluster and leave services of their own in other namespaces: only this test's rows are judged
    expect(rows.slice(1).map(r => r.split(/\s+/).slice(0, 5)).filter(([ns]) => SERVED.includes(ns))).toEqual([
      ['op-ai', 'ollama-cluster', 'http', '3', 'Running'],
      ['op-db', 'postgres-proxy', 'tcp', '2', 'Running'],
      ['op-micro', 'user-service', 'grpc', '2', 'Running'],
      ['op-web', 'webapp-frontend', 'http', '2', 'Running'],
    ]);
    // events, once each (not per resync): created, applied, the discovered backends
    for (const d of all) {
      const ev = events(d.metadata.namespace, d.metadata.name);
      const reasons = ev.map(e => e.reason);
      expect([d.metadata.name, reasons.filter(r => r === 'ServiceCreated').length]).toEqual([d.metadata.name, 1]);
      expect([d.metadata.name, reasons]).toEqual([d.metadata.name, expect.arrayContaining(['ServiceCreated', 'ConfigurationApplied'])]);
      for (const e of ev) expect(e).toMatchObject({ reportingController: 'frp.io/distributed-controller', type: 'Normal' });
      const discovered = ev.filter(e => e.reason === 'BackendDiscovered').map(e => e.note);
      const replicas = BACKEND_REPLICAS[d.metadata.name];
      // listed endpoints are not discovered; the others end at every replica discovered
      if (replicas === undefined) expect(discovered).toEqual([]);
      else expect([d.metadata.name, discovered[discovered.length - 1]]).toEqual([d.metadata.name, `Discovered ${replicas} backends`]);
    }
    console.log(`$ kubectl describe dsvc ollama-cluster -n op-ai\n${kubectlClean(['describe', 'dsvc', 'ollama-cluster', '-n', 'op-ai'])}`);
  });

  test('an edit (algorithm, endpoints, exposure): Updating, then Running; only the changed objects applied again, the removed ones pruned', async () => {
    const before = cliRender(services().map(asFile)).objects;
    const edited = seeds();
    // algorithm, backends (listed endpoints instead of discovery: no backends Service any more) and exposure (another domain)
    edited['webapp-frontend'].spec.loadBalancing.algorithm = 'least-conn';
    edited['webapp-frontend'].spec.backends = { endpoints: [{ host: 'web-1.internal', port: 3000 }, { host: 'web-2.internal', port: 3000 }] };
    edited['webapp-frontend'].spec.expose.domain = 'www.example.com';
    const after = cliRender(Object.values(edited)).objects;
    const beforeByKey = new Map(before.map(o => [key(o), JSON.stringify(o)]));
    const changed = after.filter(o => beforeByKey.get(key(o)) !== JSON.stringify(o)).map(key).sort();
    const removed = [...beforeByKey.keys()].filter(k => !after.some(o => key(o) === k)).sort();
    expect(removed).toContain('v1 Service op-web/webapp-frontend-backends');
    expect(changed).toEqual(expect.arrayContaining([
      'v1 ConfigMap op-web/webapp-frontend-balancer-config', 'networking.k8s.io/v1 Ingress op-frp/webapp-frontend-op-web',
    ]));
    // when the operator last applied each object (its Apply entry in managedFields) and the object's version
    const stamp = (o: any) => `${o.metadata.managedFields.find((f: any) => f.manager === MANAGER && f.operation === 'Apply').time} ${o.metadata.resourceVersion}`;
    const stampsBefore = new Map([...applied()].map(([k, o]) => [k, stamp(o)]));
    const running = service('webapp-frontend');
    expect(running.status.state).toBe('Running');
    const rest = services().filter(x => x.metadata.name !== 'webapp-frontend');
    for (const d of [running, ...rest]) await history!.caughtUp(`${d.metadata.namespace}/${d.metadata.name}`, d.metadata.resourceVersion);
    const from = operator!.lines.length;
    const seen = history!.seen.length;
    applyServices([edited['webapp-frontend']]);
    await converged();
    expect(operator!.logged('applied', () => true, from).map(l => l.object).sort()).toEqual(changed);
    expect(operator!.logged('pruning', () => true, from).map(l => l.object).sort()).toEqual(removed);
    for (const k of removed) expect(applied().has(k)).toBe(false);
    // seed 000: Running (the edit itself) -> Updating -> Running, as the API server held it
    const again = await eventually(() => {
      const d = service('webapp-frontend');
      return d.status.state === 'Running' ? d : undefined;
    }, () => JSON.stringify(service('webapp-frontend').status), 300_000, 2_000);
    await history!.caughtUp('op-web/webapp-frontend', again.metadata.resourceVersion);
    expect(history!.walk('op-web/webapp-frontend', seen)).toEqual(['Running', 'Updating', 'Running']);
    // the others stayed Running throughout
    for (const d of services().filter(x => x.metadata.name !== 'webapp-frontend')) {
      await history!.caughtUp(`${d.metadata.namespace}/${d.metadata.name}`, d.metadata.resourceVersion);
      expect([d.metadata.name, history!.walk(`${d.metadata.namespace}/${d.metadata.name}`, seen).filter(state => state !== 'Running')]).toEqual([d.metadata.name, []]);
    }
    // on the API server: the unchanged objects were not applied again (same apply time, same version), the changed ones were
    const now = applied();
    for (const [k, was] of stampsBefore) {
      if (removed.includes(k)) continue;
      if (changed.includes(k)) expect([k, now.get(k).metadata.resourceVersion]).not.toEqual([k, was.split(' ')[1]]);
      else if (!['Deployment', 'StatefulSet', 'DaemonSet', 'Certificate'].includes(now.get(k).kind)) expect([k, stamp(now.get(k))]).toEqual([k, was]);
      // workloads and Certificates: their controllers write their status, so only the operator's apply time is compared
      else expect([k, stamp(now.get(k)).split(' ')[0]]).toEqual([k, was.split(' ')[0]]);
    }
    expect(service('webapp-frontend').status).toMatchObject({ activeBackends: 2, totalBackends: 2, externalEndpoint: 'http://www.example.com/frontend' });
  });

  test('an invalid edit: Failed with the CLI\'s message, nothing applied or pruned, the last good objects intact', async () => {
    const good = applied();
    const from = operator!.lines.length;
    const invalid = service('webapp-frontend');
    const doc = { apiVersion: invalid.apiVersion, kind: invalid.kind, metadata: { name: 'webapp-frontend', namespace: 'op-web' }, spec: { ...invalid.spec, expose: { type: 'subdomain', subdomain: 'web' } } };
    applyServices([doc]);
    const failed = await eventually(() => {
      const d = service('webapp-frontend');
      return d.status?.state === 'Failed' && d.status.observedGeneration === d.metadata.generation ? d : undefined;
    }, () => JSON.stringify(service('webapp-frontend').status));
    // what the CLI prints for the same document, less its file and document number
    const cli = cliRender([doc]);
    expect(cli.status).toBe(1);
    const message = cond(failed, 'ConfigurationValid').message;
    expect(message).toMatch(/spec\.expose\.subdomain: needs a server with subDomainHost/);
    expect(cli.stderr).toContain(message);
    expect(cond(failed, 'ConfigurationApplied')).toMatchObject({ status: 'False', reason: 'InvalidSpec' });
    expect(events('op-web', 'webapp-frontend').find(e => e.reason === 'InvalidSpec')).toMatchObject({ type: 'Warning', note: message });
    expect(operator!.logged('applied', () => true, from)).toEqual([]);
    expect(operator!.logged('pruning', () => true, from)).toEqual([]);
    const now = applied();
    expect([...now.keys()].sort()).toEqual([...good.keys()].sort());
    for (const [k, o] of good) expect([k, now.get(k).spec ?? now.get(k).data]).toEqual([k, o.spec ?? o.data]);
    // fixed again: back to the last good spec, nothing to apply
    applyServices([seeds()['webapp-frontend']]);
    await converged();
  });

  test('a hand edit (kubectl edit/patch/scale) is put back; another applier\'s conflict is reported, not forced', async () => {
    const from = operator!.lines.length;
    kubectlClean(['patch', 'configmap', 'user-service-frpc-config', '-n', 'op-micro', '--type', 'merge', '-p', '{"data":{"frpc.toml":"# edited by hand"}}']);
    kubectlClean(['scale', 'deployment', 'user-service-frpc', '-n', 'op-micro', '--replicas', '7']);
    await operator!.waitFor('reverting a hand edit', l => l.object === 'v1 ConfigMap op-micro/user-service-frpc-config', from);
    await operator!.waitFor('reverting a hand edit', l => l.object === 'apps/v1 Deployment op-micro/user-service-frpc', from);
    await converged();
    // an applier (server-side apply, as Argo CD does) taking a field: reported, never forced
    const cm = applied().get('v1 ConfigMap op-micro/user-service-frpc-config');
    const theirs = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: cm.metadata.name, namespace: 'op-micro' }, data: { 'frpc.toml': '# applied by argocd' } };
    kubectlClean(['apply', '--server-side', '--force-conflicts', '--field-manager=argocd-controller', '-f', writeManifests('operator-conflict', [theirs])]);
    const failed = await eventually(() => {
      const d = service('user-service');
      return cond(d, 'ConfigurationApplied')?.reason === 'ApplyFailed' ? d : undefined;
    }, () => JSON.stringify(service('user-service').status));
    expect(failed.status.state).toBe('Failed');
    expect(cond(failed, 'ConfigurationApplied').message).toMatch(/v1 ConfigMap op-micro\/user-service-frpc-config: conflict with another field manager \(not forced\): .*argocd-controller/);
    expect(events('op-micro', 'user-service').find(e => e.reason === 'ApplyFailed')).toMatchObject({ type: 'Warning' });
    expect(JSON.parse(kubectlClean(['get', 'configmap', cm.metadata.name, '-n', 'op-micro', '-o', 'json'])).data['frpc.toml']).toBe('# applied by argocd');
    // the applier lets go of the field: the operator applies its own again
    kubectlClean(['apply', '--server-side', '--field-manager=argocd-controller', '-f', writeManifests('operator-conflict', [{ ...theirs, data: undefined }])]);
    await converged();
  });

  test('killed mid-reconcile and restarted: the same end state, nothing twice', async () => {
    const extra = { ...seeds()['webapp-frontend'], metadata: { name: 'shop', namespace: 'op-web' } };
    extra.spec = { ...extra.spec, expose: { ...extra.spec.expose, path: '/shop' } };
    const from = operator!.lines.length;
    applyServices([extra]);
    await operator!.waitFor('applied', l => String(l.object).includes('shop'), from);
    expect(await operator!.stop('SIGKILL')).toBeNull();
    operator = new OperatorProcess([...OPERATOR_ARGS, '--no-leader-election']);
    await operator.waitFor('started');
    await converged();
    const names = [...applied().keys()];
    expect(new Set(names).size).toBe(names.length);
    expect(events('op-web', 'shop').filter(e => e.reason === 'ServiceCreated')).toHaveLength(1);
  });

  test('two operators with leader election: one leads, the other waits and takes over when the first stops', async () => {
    await operator!.stop();
    operator = undefined;
    const args = [...OPERATOR_ARGS, '--leader-election-namespace', FRPS_NS];
    const a = new OperatorProcess(args);
    const b = new OperatorProcess(args);
    others.push(a, b);
    await a.waitFor('waiting for the Lease');
    await b.waitFor('waiting for the Lease');
    const first = await eventually(() => [a, b].find(o => o.logged('leading').length > 0), () => `${a.tail(5)}\n${b.tail(5)}`, 60_000);
    const second = first === a ? b : a;
    const lease = JSON.parse(kubectlClean(['get', 'lease', 'cdk8s-frp-operator', '-n', FRPS_NS, '-o', 'json']));
    expect(lease.spec.holderIdentity).toBe(first.logged('leading')[0].identity);
    await converged();
    expect(second.logged('leading')).toEqual([]);
    expect(second.logged('applied')).toEqual([]);
    expect(await first.stop()).toBe(0); // SIGTERM: graceful, the Lease released
    await second.waitFor('leading', () => true, 0, 30_000);
    await converged();
    operator = second;
  });

  test('delete: each service\'s objects go with it, the shared ones with the last; the finalizer is removed', async () => {
    kubectlClean(['delete', 'dsvc', 'shop', '-n', 'op-web', '--wait=true', '--timeout=120s']);
    expect([...applied().keys()].filter(k => k.includes('shop'))).toEqual([]);
    await converged();
    for (const ns of SERVED) kubectlClean(['delete', 'dsvc', '--all', '-n', ns, '--wait=true', '--timeout=120s']);
    expect(services()).toEqual([]);
    await eventually(() => (applied().size === 0 ? true : undefined), () => [...applied().keys()].join('\n'), 120_000);
  });
});
