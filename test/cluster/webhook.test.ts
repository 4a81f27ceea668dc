import { readFileSync, readdirSync } from 'fs';
import { join } from 'path';
import { Chart, Testing } from 'cdk8s';
import { parseAllDocuments } from 'yaml';
import { ensureNamespaces, kubectl, kubectlClean, serverSideApply, startCluster, toYaml, writeManifests } from './cluster';
import { OperatorProcess, eventually, operatorLock } from './operator-process';
import { DistributedServiceCrd } from '../../lib';
import { withDefaults } from '../../lib/operator/admission';
import { WEBHOOK_CONFIGURATION_NAME, WEBHOOK_FIELD_MANAGER, WEBHOOK_NAMES } from '../../lib/operator/webhook-configuration';
import { useLoopback } from '../helpers/loopback';
import { INVALID_SPECS, httpSpec } from '../service/invalid-specs';

/**
 * issue 18 §1's tests of record outside the cluster: `cdk8s-frp operator
 * --webhook-address 127.B.x.y:PORT` (a child process, as operator.test.ts runs
 * it: jest cannot load @kubernetes/client-node) registers its webhooks with a
 * URL to itself, and the test API server calls them on every kubectl apply.
 */

jest.setTimeout(300_000);
const loopback = useLoopback();

// The webhooks serve this namespace only (namespaceSelector), so the other cluster
// tests, which apply DistributedServices elsewhere, never meet them.
const NS = 'webhook-test';
const MANIFESTS = join(__dirname, '..', '..', 'examples', 'manifests');
const examples: any[] = readdirSync(MANIFESTS).filter(f => f.endsWith('.yaml')).sort()
  .flatMap(f => parseAllDocuments(readFileSync(join(MANIFESTS, f), 'utf8')).map(d => d.toJS()))
  .map(d => ({ ...d, metadata: { ...d.metadata, namespace: NS } }));
const cr = (name: string, spec: any) => ({ apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: { name, namespace: NS }, spec });
const apply = (docs: any[]) => kubectl(['apply', '--server-side', '--field-manager=argocd-controller', '-f', '-'], toYaml(docs));
const CONFIGURATION = WEBHOOK_CONFIGURATION_NAME;
const configurations = () => ['validatingwebhookconfiguration', 'mutatingwebhookconfiguration']
  .map(kind => kubectl(['get', kind, CONFIGURATION, '-o', 'json', '--show-managed-fields']))
  .filter(r => r.status === 0).map(r => JSON.parse(r.stdout));
let operator: OperatorProcess | undefined;
let port = 0;
/** The operator's command line: it serves the webhooks and runs its controller for NS (one replica: no Lease). */
const operatorArgs = () => ['--no-leader-election', '--namespace', NS, '--webhook-address', `${loopback.host}:${port}`];

/**
 * Waits (bounded) until the API server calls this operator's webhooks (it picks a new
 * configuration up from its informer): a dry-run create the operator logs.
 */
async function webhooksCalled(): Promise<void> {
  const probe = cr('probe', httpSpec({ backends: { endpoints: [{ host: 'a', port: 70000 }] } }));
  const from = operator!.lines.length;
  await eventually(() => {
    kubectl(['create', '--dry-run=server', '-f', '-'], toYaml([probe]));
    return operator!.logged('admission', l => l.object === `${NS}/probe`, from).length > 0 ? true : undefined;
  }, () => `the API server does not call the webhooks:\n${operator!.tail()}`, 60_000);
}

let releaseLock: (() => void) | undefined;

beforeAll(async () => {
  const kubeconfig = startCluster();
  releaseLock = await operatorLock();
  const chart = new Chart(Testing.app(), 'frp');
  new DistributedServiceCrd(chart, 'crd');
  const crd = serverSideApply(writeManifests('webhook-crd', Testing.synth(chart)));
  expect(crd.status).toBe(0);
  kubectlClean(['wait', '--for=condition=Established', '--timeout=60s', 'crd/distributedservices.frp.io']);
  ensureNamespaces([cr('x', {})]);
  kubectlClean(['delete', 'dsvc', '--all', '-n', NS, '--ignore-not-found']); // an earlier run's
  expect(kubeconfig).toBeTruthy();
  [port] = await loopback.ports(1);
  operator = new OperatorProcess(operatorArgs());
  await operator.waitFor('webhook listening');
  await webhooksCalled();
}, 1_800_000);

afterAll(async () => {
  try {
    // the operator removes its finalizers: delete while it runs (a bounded wait)
    kubectl(['delete', 'dsvc', '--all', '-n', NS, '--ignore-not-found', '--timeout=60s']);
  } finally {
    await operator?.stop();
    // whatever happened to the operator, no configuration pointing at a stopped server stays
    kubectl(['delete', 'validatingwebhookconfiguration,mutatingwebhookconfiguration', CONFIGURATION, '--ignore-not-found']);
    releaseLock?.();
  }
});

describe('the API server calls the webhooks (cdk8s-frp operator --webhook-address, outside the cluster)', () => {
  test('the configurations are registered with a URL to the operator and its CA, for its namespaces', () => {
    const [validating, mutating] = configurations();
    expect([validating?.kind, mutating?.kind]).toEqual(['ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration']);
    for (const c of [validating, mutating]) {
      expect(c.webhooks[0].clientConfig.url).toMatch(new RegExp(`^https://${loopback.host.replace(/\./g, '\\.')}:${port}/`));
      expect(c.webhooks[0].clientConfig.caBundle).toBeTruthy();
      expect(c.webhooks[0].failurePolicy).toBe('Fail');
      expect(c.webhooks[0].namespaceSelector).toEqual({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [NS] }] });
      expect(c.metadata.managedFields.map((f: any) => f.manager)).toEqual([WEBHOOK_FIELD_MANAGER]);
    }
    expect(operator!.logged('webhooks registered')[0].url).toBe(`https://${loopback.host}:${port}`);
  });

  /**
   * Server-side apply (Argo CD's) converts the object to its schema's typed form before
   * admission: an unknown field or a string for an integer is refused there, naming the
   * field. A client-side apply (a create) reaches admission with the string; an unknown
   * field meets the API server's strict field validation first.
   */
  const BEFORE_ADMISSION: Record<string, { ssa: string; clientSide?: string }> = {
    'a typo in a field name': { ssa: '.spec.loadBalancing.algoritm: field not declared in schema', clientSide: 'unknown field "spec.loadBalancing.algoritm"' },
    'a string where a number belongs': { ssa: '.spec.advanced.connectionPool.size: expected numeric (int or float), got string' },
  };
  describe.each(INVALID_SPECS.map(([what, spec, message]) => [what, spec, message]))('invalid: %s', (what, spec, message) => {
    test('refused at kubectl apply with the CLI\'s messages, each at its field', () => {
      const lines = (message as string).split('\n').map(l => l.replace(/^app\/svc: /, ''));
      const cliMessage = (stderr: string) => {
        // kubectl prints the Invalid status' causes: one inline, several as "* " lines
        expect(stderr).toContain('The DistributedService "invalid" is invalid:');
        for (const line of lines) {
          if (!stderr.includes(`is invalid: ${line}`) && !stderr.includes(`* ${line}`)) expect(stderr).toContain(`* ${line}`);
        }
      };
      const ssa = apply([cr('invalid', spec)]);
      expect(ssa.status).toBe(1);
      const early = BEFORE_ADMISSION[what as string];
      if (early) expect(ssa.stderr).toContain(early.ssa);
      else cliMessage(ssa.stderr);
      const clientSide = kubectl(['apply', '-f', '-'], toYaml([cr('invalid', spec)]));
      expect(clientSide.status).toBe(1);
      if (early?.clientSide) expect(clientSide.stderr).toContain(early.clientSide);
      else cliMessage(clientSide.stderr);
    });
  });

  test('the defaults are in the stored object', () => {
    const bare = cr('bare', { serviceType: 'tcp', backends: { endpoints: [{ host: 'db-1.internal', port: 5432 }] }, expose: { port: 15432 }, security: { mtls: { enabled: true } } });
    const r = apply([bare]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const stored = JSON.parse(kubectlClean(['get', 'dsvc', 'bare', '-n', NS, '-o', 'json']));
    expect(stored.spec.expose.type).toBe('port');
    expect(stored.spec.loadBalancing.algorithm).toBe('random');
    expect(stored.spec.loadBalancing.healthCheck.type).toBe('tcp');
    expect(stored.spec.security.mtls.mode).toBe('auto');
    // the CRD's own defaults apply below what the webhook added (the API server defaults after mutation)
    expect(stored.spec.loadBalancing.healthCheck).toMatchObject({ enabled: true, interval: '10s', timeout: '3s', path: '/health' });
    kubectlClean(['delete', 'dsvc', 'bare', '-n', NS]);
  });

  test('the examples are accepted, and the defaults are in the stored objects', () => {
    const r = apply(examples);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const live = JSON.parse(kubectlClean(['get', 'dsvc', '-n', NS, '-o', 'json'])).items;
    expect(live.map((o: any) => o.metadata.name).sort()).toEqual(examples.map(e => e.metadata.name).sort());
    for (const e of examples) {
      const stored = live.find((o: any) => o.metadata.name === e.metadata.name);
      const http = e.spec.serviceType === 'http';
      expect(stored.spec.loadBalancing.algorithm).toBe(e.spec.loadBalancing?.algorithm ?? 'random');
      if (stored.spec.loadBalancing.healthCheck?.enabled !== false) expect(stored.spec.loadBalancing.healthCheck.type).toBe(e.spec.loadBalancing?.healthCheck?.type ?? (http ? 'http' : 'tcp'));
      expect(stored.spec.expose.type).toBe(e.spec.expose.type ?? (http ? 'domain' : 'port'));
      // every field the defaulter sets is stored as it set it
      const defaulted = withDefaults(e).spec;
      expect(stored.spec).toMatchObject(defaulted);
    }
  });

  test('a second DistributedService claiming an existing domain is refused, naming both', () => {
    const web = examples.find(e => e.spec.serviceType === 'http' && e.spec.expose?.domain);
    expect(web).toBeDefined();
    const r = apply([cr('domain-thief', { ...httpSpec(), expose: web.spec.expose })]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/spec\.expose\.domain\+spec\.expose\.path: clashes with webhook-test\/ollama-cluster/);
    expect(r.stderr).toContain(`${NS}/domain-thief`);
    expect(r.stderr).toContain(`${NS}/${web.metadata.name}`);
  });

  test('an update that breaks a stored object is refused; removing a finalizer of an unchanged spec is not', () => {
    const name = examples[0].metadata.name;
    const r = kubectl(['patch', 'dsvc', name, '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { backends: { replicas: 0 } } })]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('spec.backends.replicas');
    kubectlClean(['patch', 'dsvc', name, '-n', NS, '--type=merge', '-p', JSON.stringify({ metadata: { finalizers: ['frp.io/cleanup'] } })]);
    kubectlClean(['patch', 'dsvc', name, '-n', NS, '--type=merge', '-p', JSON.stringify({ metadata: { finalizers: null } })]);
  });

  test('the refusals came from the operator\'s mutating webhook, which logged them', async () => {
    // two applies per invalid spec, less three refused before admission (BEFORE_ADMISSION: two server-side, one client-side)
    const calls = 2 * INVALID_SPECS.length - 3;
    const answered = (name: string) => operator!.logged('admission', l => l.object === `${NS}/${name}` && l.webhook === 'mutate');
    // the sync tests above kept the event loop from reading the operator's log: let it (bounded)
    const refused = await eventually(() => {
      const got = answered('invalid');
      return got.length >= calls ? got : undefined;
    }, () => `${answered('invalid').length} of ${calls} refusals logged`, 30_000);
    expect(refused).toHaveLength(calls);
    expect(refused.filter(l => l.allowed !== false || !(l.causes >= 1))).toEqual([]);
  });

  test('the operator\'s controller renders what the webhooks let in: the stored examples become Ready', async () => {
    // ConfigurationValid: the render of every stored service succeeded (nothing refused at admission fails later)
    const valid = await eventually(() => {
      const items: any[] = JSON.parse(kubectlClean(['get', 'dsvc', '-n', NS, '-o', 'json'])).items;
      const ok = items.filter(o => (o.status?.conditions ?? []).some((c: any) => c.type === 'ConfigurationValid' && c.status === 'True'));
      return ok.length === examples.length ? ok : undefined;
    }, () => kubectl(['get', 'dsvc', '-n', NS, '-o', 'yaml']).stdout);
    expect(valid.map((o: any) => o.metadata.name).sort()).toEqual(examples.map(e => e.metadata.name).sort());
  });
});

describe('frps remote ports: a stored service keeps its own', () => {
  test('a second service that would take a stored one\'s remote port is refused naming both; with the same exposed port sorting after it, accepted and rendered', async () => {
    const db = examples.find(e => e.spec.expose?.type === 'port');
    expect(db).toBeDefined();
    const twin = (name: string) => cr(name, { serviceType: db.spec.serviceType, backends: { endpoints: [{ host: 'db-2.internal', port: 5432 }] }, expose: db.spec.expose });
    // the render hands out remote ports in namespace/name order: "a-port-twin" would take the stored one's
    const first = apply([twin('a-port-twin')]);
    expect(first.status).toBe(1);
    expect(first.stderr).toContain(`spec.expose.port: clashes with ${NS}/${db.metadata.name}, stored already: ${NS}/a-port-twin would take frps remote port ${db.spec.expose.port} of ${NS}/${db.metadata.name}`);
    // sorting after it, the next free remote port: nobody moves
    expect(db.metadata.name < 'z-port-twin').toBe(true);
    const r = apply([twin('z-port-twin')]);
    expect([r.status, r.stderr]).toEqual([0, '']);
    const valid = (name: string) => (JSON.parse(kubectlClean(['get', 'dsvc', name, '-n', NS, '-o', 'json'])).status?.conditions ?? [])
      .some((c: any) => c.type === 'ConfigurationValid' && c.status === 'True');
    await eventually(() => (valid('z-port-twin') && valid(db.metadata.name) ? true : undefined), () => kubectl(['get', 'dsvc', '-n', NS, '-o', 'yaml']).stdout);
  });
});

describe('stopping the operator', () => {
  test('killed (SIGKILL), its registration stays: fail closed, a create or change is refused, a delete is not; started again, it registers anew', async () => {
    // a stored service with the controller's finalizer (the test above took examples[0]'s off)
    const name = examples[1].metadata.name;
    expect(JSON.parse(kubectlClean(['get', 'dsvc', name, '-n', NS, '-o', 'json'])).metadata.finalizers).toContain('frp.io/cleanup');
    await operator!.stop('SIGKILL');
    expect(configurations()).toHaveLength(2);
    const created = apply([cr('while-down', httpSpec())]);
    expect(created.status).toBe(1);
    expect(created.stderr).toContain(`failed calling webhook "${WEBHOOK_NAMES.mutate}"`);
    expect(created.stderr).toContain('connection refused');
    const changed = kubectl(['patch', 'dsvc', name, '-n', NS, '--type=merge', '-p', JSON.stringify({ spec: { backends: { replicas: 3 } } })]);
    expect(changed.status).toBe(1);
    expect(changed.stderr).toContain('failed calling webhook');
    // DELETE is not a rule of the webhooks: the object is marked for deletion, its finalizer waits for the operator
    kubectlClean(['delete', 'dsvc', name, '-n', NS, '--wait=false']);

    operator = new OperatorProcess(operatorArgs());
    await operator.waitFor('webhooks registered');
    await webhooksCalled();
    const again = apply([cr('while-down', httpSpec())]);
    expect([again.status, again.stderr]).toEqual([0, '']);
    // and its controller finishes the deletion
    await eventually(() => (kubectl(['get', 'dsvc', name, '-n', NS]).status === 1 ? true : undefined), () => kubectl(['get', 'dsvc', name, '-n', NS, '-o', 'yaml']).stdout);
  });

  test('SIGTERM removes the registration (a URL to a stopped process would refuse every change) and exits 0', async () => {
    // delete the services while the operator runs: their finalizers are its
    kubectlClean(['delete', 'dsvc', '--all', '-n', NS, '--timeout=60s']);
    expect(configurations()).toHaveLength(2);
    expect(await operator!.stop()).toBe(0);
    expect(operator!.logged('webhooks unregistered')).toHaveLength(1);
    expect(configurations()).toEqual([]);
    // and nothing is in the way of the next apply
    const r = apply([cr('after', httpSpec())]);
    expect([r.status, r.stderr]).toEqual([0, '']);
  });
});
