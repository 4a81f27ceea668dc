import { spawnSync } from 'child_process';
import { readFileSync } from 'fs';
import { get } from 'http';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { parse as parseYaml } from 'yaml';
import { ensureNamespaces, kubectl, kubectlClean, startCluster, writeManifests } from './cluster';
import { OperatorProcess, eventually, operatorLock } from './operator-process';
import { OPERATOR_METRICS, DISTRIBUTED_SERVICE_STATES } from '../../lib/operator-metrics-names';
import { promtool, testRules } from '../monitoring/promtool';
import { byKind, renderOperator } from '../operator-deploy/fixtures';

/**
 * issue 18 §2 and §3's test of record for backends that move, on the test cluster: a
 * DistributedService discovers its backends by selector; KWOK plays the backends'
 * Deployment, scaled 3 -> 5 -> 2 -> 0. At each step status.activeBackends, the
 * BackendsAvailable condition, the events (BackendDiscovered, BackendRemoved naming
 * each removed backend and why, a Warning over maxBackends) and the running operator's
 * /metrics (scraped over HTTP, parsed with a port of Prometheus' text parser and
 * checked by promtool) follow the Deployment's ready pods, and promtool evaluates the
 * FrpOperator construct's alerts and dashboard queries on those series (quiet at 2
 * backends; no healthy backend and not Ready fire at 0); the membership the balancer
 * resolves (the headless backends Service's EndpointSlices, which its DNS answers
 * with) follows too, while nothing the operator applied changes (HAProxy takes
 * membership live, no frpc or balancer pod rolls). The operator runs as a child
 * process and is always stopped; waits are bounded polls.
 */
jest.setTimeout(600_000);

const NS = 'scale-ai';
const FRPS_NS = 'scale-frp';
/** The operator's own namespace (its ServiceAccount and Lease). */
const OPERATOR_NS = 'scale-system';
/** A namespace this operator does not serve, where another operator (the same field manager) applied an object. */
const OTHER_NS = 'scale-other';
const FOREIGN = {
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'other-operator-frpc-config', namespace: OTHER_NS, labels: { 'app.kubernetes.io/managed-by': 'cdk8s' } },
  data: { 'frpc.toml': '# applied by another cdk8s-frp operator' },
};
const NAME = 'llm';
const PORT = 11434;
/** The balancer's server slots (spec.backends.discovery.maxBackends): 5 ready pods are one too many. */
const MAX_BACKENDS = 4;
const POD_LABELS = { app: 'llm', tier: 'inference' };
const KINDS = 'configmaps,services,deployments.apps,networkpolicies.networking.k8s.io,ingresses.networking.k8s.io';

const service = {
  apiVersion: 'frp.io/v1beta1',
  kind: 'DistributedService',
  metadata: { name: NAME, namespace: NS },
  spec: {
    serviceType: 'http',
    backends: { discovery: { mode: 'selector', selector: { matchLabels: POD_LABELS }, port: PORT, maxBackends: MAX_BACKENDS } },
    expose: { type: 'domain', domain: 'llm.example.com' },
    // least-conn: frp cannot, so the HAProxy balancer resolves the pods (headless backends Service)
    loadBalancing: { algorithm: 'least-conn', healthCheck: { type: 'tcp' } },
  },
};

/** The backends: pods KWOK runs and readies (PodSecurity restricted, as the namespace enforces). */
function backendsDeployment(replicas: number): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'llm-inference', namespace: NS },
    spec: {
      replicas,
      selector: { matchLabels: POD_LABELS },
      template: {
        metadata: { labels: POD_LABELS },
        spec: {
          securityContext: { runAsNonRoot: true, runAsUser: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          terminationGracePeriodSeconds: 5,
          containers: [{
            name: 'inference',
            image: 'registry.k8s.io/pause:3.9',
            ports: [{ containerPort: PORT }],
            resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { memory: '16Mi' } },
            securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
          }],
        },
      },
    },
  };
}

const getJson = (args: string[]) => JSON.parse(kubectlClean([...args, '-o', 'json']));
const ds = () => getJson(['get', 'dsvc', NAME, '-n', NS]);
const cond = (d: any, type: string) => (d?.status?.conditions ?? []).find((c: any) => c.type === type);

/** The backend pods, by name: their IP and whether they are Ready and not being deleted. */
function pods(): { name: string; ip: string; ready: boolean }[] {
  const selector = Object.entries(POD_LABELS).map(([k, v]) => `${k}=${v}`).join(',');
  return getJson(['get', 'pods', '-n', NS, '-l', selector]).items
    .filter((p: any) => !p.metadata.deletionTimestamp)
    .map((p: any) => ({
      name: p.metadata.name,
      ip: p.status?.podIP ?? '',
      ready: (p.status?.conditions ?? []).some((c: any) => c.type === 'Ready' && c.status === 'True'),
    }));
}

/** The endpoints of the backends Service's EndpointSlices that are ready: what a DNS lookup of the headless Service answers. */
function resolvedMembers(): string[] {
  const slices = getJson(['get', 'endpointslices.discovery.k8s.io', '-n', NS, '-l', `kubernetes.io/service-name=${NAME}-backends`]).items;
  return slices.flatMap((s: any) => (s.endpoints ?? []).filter((e: any) => e.conditions?.ready !== false).flatMap((e: any) => e.addresses)).sort();
}

/** Events about the service (events.k8s.io/v1). */
function events(): any[] {
  return getJson(['get', 'events.v1.events.k8s.io', '-n', NS]).items
    .filter((e: any) => e.regarding?.kind === 'DistributedService' && e.regarding?.name === NAME);
}

/** What the operator applied for the service and its frps: each object's key and resourceVersion (changes on any write). */
function appliedVersions(): Record<string, string> {
  const items: any[] = [NS, FRPS_NS].flatMap(ns => getJson(['get', KINDS, '-n', ns, '-l', 'app.kubernetes.io/managed-by=cdk8s', '--show-managed-fields']).items);
  return Object.fromEntries(items
    .filter(o => (o.metadata.managedFields ?? []).some((f: any) => f.manager === 'cdk8s-frp-operator' && f.operation === 'Apply'))
    // a workload's status moves on its own; its spec only with its generation
    .map(o => [`${o.kind} ${o.metadata.namespace}/${o.metadata.name}`, o.status ? `generation ${o.metadata.generation}` : o.metadata.resourceVersion]));
}

/** GET http://address/metrics. */
function scrape(address: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    // a connection per scrape (agent false): a kept-alive one may be closed by the server's keep-alive timeout as it is reused
    const req = get(`http://${address}/metrics`, { timeout: 10_000, agent: false }, res => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
    });
    req.on('timeout', () => req.destroy(new Error('scrape timed out')));
    req.on('error', reject);
  });
}

/** One scrape, parsed: the value of a sample by metric name and labels. */
class Scrape {
  constructor(readonly families: parsePrometheusTextFormat.ParsedFamily[]) {}

  family(name: string): parsePrometheusTextFormat.ParsedFamily | undefined {
    return this.families.find(f => f.name === name);
  }

  /** The value of the sample of `name` whose labels include `labels`; undefined when none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const sample = this.family(name)?.metrics.find(m => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
    return sample?.value === undefined ? undefined : Number(sample.value);
  }

  /** The label sets of `name`'s samples. */
  labels(name: string): Record<string, string>[] {
    return (this.family(name)?.metrics ?? []).map(m => m.labels ?? {});
  }

  histogramCount(name: string): number {
    return Number(this.family(name)?.metrics[0]?.count ?? NaN);
  }
}

/** `promtool check metrics` on the exposition: findings by metric name; throws on what is not valid exposition. */
function promtoolFindings(text: string): string[] {
  const r = spawnSync(promtool(), ['check', 'metrics'], { input: text, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  // 0: clean; 3: lint findings only; anything else: the exposition does not parse
  if (r.status !== 0 && r.status !== 3) throw new Error(`promtool check metrics failed (${r.status}): ${r.stdout}${r.stderr}`);
  return `${r.stdout}${r.stderr}`.split('\n').filter(Boolean);
}

let operator: OperatorProcess | undefined;
let metricsAddress = '';

async function scrapeParsed(): Promise<Scrape> {
  const got = await scrape(metricsAddress);
  expect(got.status).toBe(200);
  expect(got.type).toMatch(/^text\/plain; version=0\.0\.4/);
  // the real Prometheus parser and linter: only prom-client's own process gauges named *_total are findings
  const findings = promtoolFindings(got.body);
  expect(findings.filter(f => !/^nodejs_active_\w+_total non-counter metrics should not have "_total" suffix$/.test(f))).toEqual([]);
  return new Scrape(parsePrometheusTextFormat(got.body));
}

const ours = { namespace: NS, name: NAME };

/** Scales the backends to `replicas` and waits (bounded) until its pods are exactly that many, all Ready. */
async function scaleTo(replicas: number): Promise<{ name: string; ip: string }[]> {
  kubectlClean(['scale', 'deployment', 'llm-inference', '-n', NS, `--replicas=${replicas}`]);
  return eventually(() => {
    const now = pods();
    const d = getJson(['get', 'deployment', 'llm-inference', '-n', NS]);
    // a Deployment's status leaves out counts of 0
    const settled = (d.status?.readyReplicas ?? 0) === replicas && (d.status?.replicas ?? 0) === replicas;
    return settled && now.length === replicas && now.every(p => p.ready && p.ip) ? now : undefined;
  }, () => JSON.stringify(pods()), 180_000, 500);
}

/** Waits (bounded) until the service's status, its EndpointSlices and the scraped metrics show `pods` as its backends. */
async function followed(ready: { ip: string }[]): Promise<{ status: any; scrape: Scrape }> {
  const n = ready.length;
  const status = await eventually(() => {
    const d = ds();
    return d.status?.activeBackends === n && d.status?.totalBackends === n ? d : undefined;
  }, () => JSON.stringify(ds().status), 120_000, 500);
  // what HAProxy's DNS resolution of the headless Service returns: exactly the ready pods
  await eventually(() => (JSON.stringify(resolvedMembers()) === JSON.stringify(ready.map(p => p.ip).sort()) ? true : undefined),
    () => `slices ${resolvedMembers().join(',')}, pods ${ready.map(p => p.ip).sort().join(',')}`, 60_000, 500);
  let last: Scrape | undefined;
  const scraped = await eventually(async () => {
    last = await scrapeParsed();
    return last.value(OPERATOR_METRICS.backends, { ...ours, state: 'healthy' }) === n && last.value(OPERATOR_METRICS.backends, { ...ours, state: 'unhealthy' }) === 0 ? last : undefined;
  }, () => JSON.stringify(last?.family(OPERATOR_METRICS.backends)), 60_000, 500);
  return { status, scrape: scraped };
}

/** The FrpOperator construct for this test's namespaces (lib/operator-deploy): what it renders. */
function operatorConstruct() {
  return renderOperator({ name: 'scale-operator', watchNamespaces: [NS], serverNamespace: FRPS_NS, insecureSkipVerify: true, crd: false }, OPERATOR_NS);
}

/** RBAC kinds of the construct, applied to run the operator with its permissions. */
const RBAC_KINDS = ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding'];

/**
 * The operator as the FrpOperator construct runs it: its container's args (less the listen
 * addresses, which OperatorProcess sets to free loopback ports) under its ServiceAccount and
 * RBAC, through a kubeconfig with a token of that ServiceAccount (kubectl create token).
 */
function constructOperatorArgs(): string[] {
  const { manifests } = operatorConstruct();
  kubectlClean(['apply', '--server-side', '--field-manager=test-setup', '-f', writeManifests('scale-operator-rbac', manifests.filter(m => RBAC_KINDS.includes(m.kind)))]);
  const token = kubectlClean(['create', 'token', 'scale-operator', '-n', OPERATOR_NS, '--duration=2h']).trim();
  const admin = parseYaml(readFileSync(startCluster(), 'utf8'));
  const kubeconfig = writeManifests('scale-operator-kubeconfig', [{
    ...admin,
    'users': [{ name: 'scale-operator', user: { token } }],
    'contexts': [{ name: 'scale-operator', context: { cluster: admin.clusters[0].name, user: 'scale-operator' } }],
    'current-context': 'scale-operator',
  }]);
  const [container] = byKind(manifests, 'Deployment')[0].spec.template.spec.containers;
  const args: string[] = container.args.slice(1); // after `operator`
  const own = args.flatMap((a, i) => (a === '--metrics-address' || a === '--health-address' ? [i, i + 1] : []));
  return [...args.filter((_a, i) => !own.includes(i)), '--kubeconfig', kubeconfig];
}

/** The FrpOperator construct's PrometheusRule and dashboard (lib/operator-deploy), and the job its ServiceMonitor's series carry. */
function operatorMonitoring(): { rules: { groups: any[] }; panels: any[]; job: string } {
  const { manifests, operator: construct } = operatorConstruct();
  expect(byKind(manifests, 'ServiceMonitor')).toHaveLength(1);
  const [dashboard] = byKind(manifests, 'ConfigMap').filter(m => m.metadata.labels?.grafana_dashboard !== undefined);
  const json = JSON.parse(Object.values(dashboard.data)[0] as string);
  return { rules: byKind(manifests, 'PrometheusRule')[0].spec, panels: json.panels, job: construct.metricsService.name };
}

/**
 * promtool evaluates the operator's alert rules and the dashboard's backends and state panels on
 * the series of one live scrape (held for 30 minutes, with the labels a ServiceMonitor adds):
 * `firing` are the alerts expected at 20m (each with the service's labels), every other alert is quiet.
 */
function evaluateMonitoring(s: Scrape, firing: Record<string, string>, healthy: number, notRunning: number): void {
  const { rules, panels, job } = operatorMonitoring();
  const target = { job, pod: 'cdk8s-frp-operator-0', instance: metricsAddress };
  const series = (name: string, labels: Record<string, string>) =>
    `${name}{${Object.entries({ ...labels, ...target }).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(', ')}}`;
  const input = [
    { series: series('up', {}), values: '1x30' },
    ...s.families.filter(f => f.name.startsWith('frp_') && (f.type === 'GAUGE' || f.type === 'COUNTER'))
      .flatMap(f => f.metrics.map(m => ({ series: series(f.name, m.labels ?? {}), values: `${Number(m.value)}x30` }))),
  ];
  const alerts: any[] = rules.groups.flatMap(g => g.rules).filter(r => r.alert);
  const fill = (text: string) => text.replace(/\{\{ \$labels\.namespace \}\}/g, NS).replace(/\{\{ \$labels\.name \}\}/g, NAME);
  const query = (title: string) => panels.find(p => p.title === title).targets[0].expr;
  testRules(rules, {
    tests: [{
      interval: '1m',
      input_series: input,
      alert_rule_test: alerts.map(r => ({
        eval_time: '20m',
        alertname: r.alert,
        exp_alerts: r.alert in firing ? [{
          exp_labels: { ...ours, severity: firing[r.alert] },
          exp_annotations: Object.fromEntries(Object.entries(r.annotations).map(([k, v]) => [k, fill(v as string)])),
        }] : [],
      })),
      promql_expr_test: [
        { expr: query('Healthy backends per service'), eval_time: '20m', exp_samples: [{ labels: `{namespace="${NS}", name="${NAME}"}`, value: healthy }] },
        { expr: query('DistributedServices'), eval_time: '20m', exp_samples: [{ labels: '{}', value: 1 }] },
        { expr: query('Not Running'), eval_time: '20m', exp_samples: [{ labels: '{}', value: notRunning }] },
      ],
    }],
  });
}

/** Waits (bounded) until status.state is `state` and the state metric says so; returns both. */
async function inState(state: string, timeoutMs: number): Promise<{ status: any; scrape: Scrape }> {
  const status = await eventually(() => (ds().status?.state === state ? ds() : undefined), () => JSON.stringify(ds().status), timeoutMs, 1_000);
  const scraped = await eventually(async () => {
    const x = await scrapeParsed();
    return x.value(OPERATOR_METRICS.state, { ...ours, state }) === 1 ? x : undefined;
  }, () => `the state metric never said ${state}`, 60_000, 500);
  return { status, scrape: scraped };
}

let releaseLock: (() => void) | undefined;

beforeAll(async () => {
  startCluster();
  releaseLock = await operatorLock();
  ensureNamespaces([NS, FRPS_NS, OPERATOR_NS, OTHER_NS].map(namespace => ({ metadata: { namespace } })));
  // as an operator serving other namespaces leaves it: applied under cdk8s-frp-operator, not this operator's to prune
  kubectlClean(['apply', '--server-side', '--field-manager=cdk8s-frp-operator', '-f', writeManifests('scale-foreign', [FOREIGN])]);
  // what an earlier run on a kept cluster (CDK8S_FRP_CLUSTER_DIR) left behind
  if (kubectl(['get', 'dsvc', NAME, '-n', NS]).status === 0) {
    kubectlClean(['patch', 'dsvc', NAME, '-n', NS, '--type', 'merge', '-p', '{"metadata":{"finalizers":null}}']);
    kubectlClean(['delete', 'dsvc', NAME, '-n', NS, '--wait=true']);
  }
  kubectl(['delete', 'deployment', 'llm-inference', '-n', NS, '--ignore-not-found', '--wait=true']);
  kubectl(['delete', 'lease', 'cdk8s-frp-operator', '-n', OPERATOR_NS, '--ignore-not-found']);
  for (const ns of [NS, FRPS_NS]) {
    kubectl(['delete', KINDS, '--all', '-n', ns, '-l', 'app.kubernetes.io/managed-by=cdk8s', '--wait=true']);
    kubectl(['delete', 'events.v1.events.k8s.io', '--all', '-n', ns]);
  }
}, 1_800_000);

afterAll(async () => {
  await operator?.stop('SIGKILL');
  releaseLock?.();
});

describe('backends that move: KWOK scales the backends 3 -> 5 -> 2 -> 0', () => {
  test('status, conditions, events, resolved membership and /metrics follow each step; nothing applied rolls', async () => {
    kubectlClean(['apply', '--server-side', '--field-manager=test-user', '-f', writeManifests('scale-backends', [backendsDeployment(3)])]);
    const three = await scaleTo(3);
    const args = constructOperatorArgs();
    expect(args.slice(0, -2)).toEqual(['--leader-election-namespace', OPERATOR_NS, '--namespace', NS, '--frps-namespace', FRPS_NS, '--insecure-skip-verify']);
    operator = new OperatorProcess(args);
    await operator.waitFor('leading');
    await operator.waitFor('started');
    metricsAddress = await operator.address('metrics');
    kubectlClean(['apply', '--server-side', '--field-manager=test-user', '-f', writeManifests('scale-dsvc', [service])]);

    // 3 backends: found at the first reconcile
    let { status, scrape: s } = await followed(three);
    expect(status.status.selector).toBe('app=llm,tier=inference');
    expect(cond(status, 'BackendsAvailable')).toMatchObject({ status: 'True', reason: 'BackendsReady', message: '3 of 3 backends ready' });
    // the balancer resolves the headless backends Service into maxBackends server slots (what HAProxy fills from DNS at run time)
    const backendsSvc = getJson(['get', 'service', `${NAME}-backends`, '-n', NS]);
    expect(backendsSvc.spec.clusterIP).toBe('None');
    const haproxy = Object.values(getJson(['get', 'configmap', `${NAME}-balancer-config`, '-n', NS]).data).join('\n');
    expect(haproxy).toMatch(new RegExp(`^\\s*server-template srv ${MAX_BACKENDS} ${NAME}-backends\\.${NS}\\.svc\\.cluster\\.local:${PORT} resolvers dns `, 'm'));
    await eventually(() => events().find(e => e.reason === 'BackendDiscovered'), () => JSON.stringify(events().map(e => e.note)));
    expect(events().filter(e => e.reason === 'BackendDiscovered').map(e => e.note)).toEqual(['Discovered 3 backends']);
    // Running (KWOK readies frps, frpc and the balancer): the state metric says so, one state at a time
    const running = await inState('Running', 300_000);
    expect(cond(running.status, 'Ready')).toMatchObject({ status: 'True' });
    s = running.scrape;
    for (const st of DISTRIBUTED_SERVICE_STATES) expect(s.value(OPERATOR_METRICS.state, { ...ours, state: st })).toBe(st === 'Running' ? 1 : 0);
    // reconcile totals, errors and durations: present, with their conventional types
    expect(s.family(OPERATOR_METRICS.reconcileTotal)?.type).toBe('COUNTER');
    expect(s.family(OPERATOR_METRICS.reconcileErrorsTotal)?.type).toBe('COUNTER');
    expect(s.family(OPERATOR_METRICS.reconcileDurationSeconds)?.type).toBe('HISTOGRAM');
    expect(s.value(OPERATOR_METRICS.reconcileTotal, { result: 'success' })).toBeGreaterThan(0);
    expect(s.value(OPERATOR_METRICS.reconcileErrorsTotal)).toBe(0);
    expect(s.histogramCount(OPERATOR_METRICS.reconcileDurationSeconds)).toBeGreaterThan(0);

    // 5 backends: one more than the balancer's slots
    const versions = appliedVersions();
    expect(Object.keys(versions)).toEqual(expect.arrayContaining([`ConfigMap ${NS}/${NAME}-balancer-config`, `Deployment ${NS}/${NAME}-frpc`, `Deployment ${NS}/${NAME}-balancer`]));
    const logFrom = operator.lines.length;
    const before5 = { reconciles: s.value(OPERATOR_METRICS.reconcileTotal, { result: 'success' })!, durations: s.histogramCount(OPERATOR_METRICS.reconcileDurationSeconds) };
    const five = await scaleTo(5);
    ({ status, scrape: s } = await followed(five));
    const over = cond(status, 'BackendsAvailable');
    expect(over).toMatchObject({ status: 'True', reason: 'MaxBackendsExceeded' });
    expect(over.message).toBe(`5 of 5 backends ready, but the balancer spreads over at most ${MAX_BACKENDS} (spec.backends.discovery.maxBackends): 1 gets no traffic from it; raise maxBackends to at least 5`);
    expect(cond(status, 'Ready')).toMatchObject({ status: 'True' }); // 4 serve: not down, a warning
    await eventually(() => events().find(e => e.note === 'Discovered 5 backends'), () => JSON.stringify(events().map(e => e.note)));
    // each BackendDiscovered says how many are ready after it (one pod may turn Ready before the others)
    expect(events().filter(e => e.reason === 'BackendDiscovered').map(e => e.note).sort()).toEqual(expect.arrayContaining(['Discovered 3 backends', 'Discovered 5 backends']));
    for (const e of events().filter(x => x.reason === 'BackendDiscovered')) expect(e.note).toMatch(/^Discovered [345] backends$/);
    const warning = await eventually(() => events().find(e => e.reason === 'MaxBackendsExceeded'), () => JSON.stringify(events().map(e => e.note)));
    expect(warning).toMatchObject({ type: 'Warning', note: over.message });
    expect(s.value(OPERATOR_METRICS.reconcileTotal, { result: 'success' })).toBeGreaterThan(before5.reconciles);
    expect(s.histogramCount(OPERATOR_METRICS.reconcileDurationSeconds)).toBeGreaterThan(before5.durations);

    // 2 backends: the three removed, each named with why
    const before2 = { reconciles: s.value(OPERATOR_METRICS.reconcileTotal, { result: 'success' })!, durations: s.histogramCount(OPERATOR_METRICS.reconcileDurationSeconds) };
    const two = await scaleTo(2);
    ({ status, scrape: s } = await followed(two));
    expect(cond(status, 'BackendsAvailable')).toMatchObject({ status: 'True', reason: 'BackendsReady', message: '2 of 2 backends ready' });
    const removedPods = five.filter(p => !two.some(q => q.name === p.name));
    expect(removedPods).toHaveLength(3);
    const removedEvents = await eventually(() => {
      const got = events().filter(e => e.reason === 'BackendRemoved');
      return got.length >= 3 ? got : undefined;
    }, () => JSON.stringify(events().map(e => e.note)));
    expect(removedEvents.map(e => e.type)).toEqual(['Normal', 'Normal', 'Normal']);
    const named = removedEvents.map(e => {
      const m = /^Removed backend (\S+):(\d+) \(pod ([^)]+)\): (not ready|terminating|gone from the EndpointSlices)$/.exec(e.note);
      expect(m).not.toBeNull();
      return { ip: m![1], port: Number(m![2]), pod: m![3] };
    });
    expect(named.map(x => x.pod).sort()).toEqual(removedPods.map(p => `${NS}/${p.name}`).sort());
    for (const x of named) {
      expect(x.port).toBe(PORT);
      expect(x.ip).toBe(removedPods.find(p => `${NS}/${p.name}` === x.pod)!.ip);
    }
    expect(s.value(OPERATOR_METRICS.reconcileTotal, { result: 'success' })).toBeGreaterThan(before2.reconciles);
    expect(s.histogramCount(OPERATOR_METRICS.reconcileDurationSeconds)).toBeGreaterThan(before2.durations);
    expect(s.value(OPERATOR_METRICS.reconcileErrorsTotal)).toBe(0);

    // the operator's alerts and dashboard on these series: Running with 2 healthy backends, nothing fires
    evaluateMonitoring(s, {}, 2, 0);

    // 0 backends: BackendsAvailable False, Degraded; promtool sees the no-healthy-backends and not-Ready alerts fire
    const none = await scaleTo(0);
    ({ status, scrape: s } = await followed(none));
    expect(cond(status, 'BackendsAvailable')).toMatchObject({ status: 'False', reason: 'NoReadyBackends', message: '0 of 0 backends ready' });
    const degraded = await inState('Degraded', 60_000);
    expect(cond(degraded.status, 'Ready')).toMatchObject({ status: 'False' });
    s = degraded.scrape;
    const lastTwo = await eventually(() => {
      const got = events().filter(e => e.reason === 'BackendRemoved' && two.some(p => e.note.includes(`(pod ${NS}/${p.name})`)));
      return got.length >= 2 ? got : undefined;
    }, () => JSON.stringify(events().map(e => e.note)));
    for (const p of two) expect(lastTwo.filter(e => e.note.startsWith(`Removed backend ${p.ip}:${PORT} (pod ${NS}/${p.name}): `))).toHaveLength(1);
    evaluateMonitoring(s, { FrpDistributedServiceNoHealthyBackends: 'critical', FrpDistributedServiceNotReady: 'warning' }, 0, 1);

    // another operator's object, outside what this one serves and writes to: left alone
    expect(getJson(['get', 'configmap', FOREIGN.metadata.name, '-n', OTHER_NS]).data).toEqual(FOREIGN.data);
    expect(operator.logged('pruning', l => String(l.object).includes(OTHER_NS))).toEqual([]);

    // membership moved without the operator writing anything: no frpc or balancer pod rolled
    expect(appliedVersions()).toEqual(versions);
    expect(operator.logged('applied', l => l.changed === true, logFrom)).toEqual([]);
    // events are not repeated per resync: each note once (a repeat is a series on the first)
    const notes = events().map(e => `${e.reason} ${e.note}`);
    expect(new Set(notes).size).toBe(notes.length);
  });

  test('without its permission in the namespace for a while: failed reconciles are counted and retried, and it recovers', async () => {
    let s = await scrapeParsed();
    const before = { errors: s.value(OPERATOR_METRICS.reconcileErrorsTotal)!, failed: s.value(OPERATOR_METRICS.reconcileTotal, { result: 'error' }) ?? 0 };
    expect(before.errors).toBe(0);
    const binding = operatorConstruct().manifests.find(m => m.kind === 'RoleBinding' && m.metadata.namespace === NS);
    kubectlClean(['delete', 'rolebinding', binding.metadata.name, '-n', NS]);
    try {
      // a backend comes: the status patch is forbidden, the reconcile fails and is retried
      await scaleTo(1);
      s = await eventually(async () => {
        const x = await scrapeParsed();
        return x.value(OPERATOR_METRICS.reconcileErrorsTotal)! > before.errors ? x : undefined;
      }, () => operator!.tail(5), 60_000, 500);
      expect(s.value(OPERATOR_METRICS.reconcileTotal, { result: 'error' })).toBeGreaterThan(before.failed);
      expect(s.family(OPERATOR_METRICS.reconcileErrorsTotal)?.metrics).toHaveLength(1);
      expect(operator!.logged('reconcile failed, retrying').some(l => /forbidden/i.test(l.error))).toBe(true);
      expect(ds().status.activeBackends).toBe(0);
    } finally {
      kubectlClean(['apply', '--server-side', '--field-manager=test-setup', '-f', writeManifests('scale-operator-binding', [binding])]);
    }
    const { status } = await followed(pods());
    expect(status.status.activeBackends).toBe(1);
    await inState('Running', 60_000);
    // the event it could not record while forbidden is recorded once it may
    await eventually(() => events().find(e => e.reason === 'BackendDiscovered' && e.note === 'Discovered 1 backend'), () => JSON.stringify(events().map(e => e.note)), 60_000);
  });

  test('a deleted service leaves no series behind: its state and backends metrics go with it', async () => {
    kubectlClean(['delete', 'dsvc', NAME, '-n', NS, '--wait=true', '--timeout=120s']);
    let last: Scrape | undefined;
    await eventually(async () => {
      last = await scrapeParsed();
      const left = [OPERATOR_METRICS.state, OPERATOR_METRICS.backends].flatMap(m => last!.labels(m))
        .filter(l => l.namespace === NS && l.name === NAME);
      return left.length === 0 ? true : undefined;
    }, () => JSON.stringify([last?.family(OPERATOR_METRICS.state), last?.family(OPERATOR_METRICS.backends)]), 60_000, 500);
    await operator!.stop();
    operator = undefined;
    kubectl(['delete', 'deployment', 'llm-inference', '-n', NS, '--ignore-not-found']);
  });
});
