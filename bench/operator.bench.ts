/**
 * `npx projen bench:operator`: how `cdk8s-frp operator` converges as the
 * number of DistributedServices grows (issue 17 §5): for 50, 100 and 200
 * services spread over 20 namespaces, on the test cluster
 * (scripts/test-cluster.sh), the time from `kubectl apply` of every service
 * until each has status ConfigurationApplied True at its generation
 * ("applied") and until each is Running (only with the control plane's
 * controllers: KWOK nodes and cert-manager), and the API requests the
 * operator sent (its frp_operator_api_requests_total) per service. Each size
 * gets a fresh operator and its own namespaces; everything is deleted after.
 * A benchmark, not a test: it prints a table and asserts nothing.
 */
import { ChildProcess, execFileSync, spawn } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { get } from 'http';
import { cpus, tmpdir } from 'os';
import { join } from 'path';
import { stringify } from 'yaml';

const SIZES = (process.env.BENCH_SIZES ?? '50,100,200').split(',').map(Number);
const NAMESPACES = 20;
const ROOT = join(__dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'cdk8s-frp-operator-bench-'));

let ownCluster = false;
if (!process.env.CDK8S_FRP_CLUSTER_DIR) {
  process.env.CDK8S_FRP_CLUSTER_DIR = join(work, 'cluster');
  ownCluster = true;
}
const script = join(ROOT, 'scripts', 'test-cluster.sh');
const kubeconfig = execFileSync(script, ['start'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
const kubectl = (args: string[], input?: string) => execFileSync(script, ['kubectl', ...args], { encoding: 'utf8', input, maxBuffer: 256 * 1024 * 1024 });

function manifests(size: number): any[] {
  return Array.from({ length: size }, (_, i) => ({
    apiVersion: 'frp.io/v1beta1',
    kind: 'DistributedService',
    metadata: { name: `svc-${i}`, namespace: `bench-${size}-${i % NAMESPACES}` },
    spec: {
      serviceType: 'tcp',
      backends: { endpoints: [{ host: `backend-${i}-a.internal`, port: 5000 }, { host: `backend-${i}-b.internal`, port: 5000 }] },
      expose: { type: 'port', port: 20_000 + i },
    },
  }));
}

function metric(address: string, name: string): Promise<number> {
  return new Promise((resolve, reject) => {
    get(`http://${address}/metrics`, res => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', c => { text += c; });
      res.on('end', () => resolve(text.split('\n').filter(l => l.startsWith(name)).reduce((sum, l) => sum + Number(l.split(' ').pop()), 0)));
    }).on('error', reject);
  });
}

function startOperator(namespaces: string[]): { child: ChildProcess; metrics: Promise<string> } {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'cdk8s-frp'), 'operator', '--kubeconfig', kubeconfig, '--no-leader-election',
    '--metrics-address', '127.0.0.1:0', '--health-address', '0', '--frps-namespace', namespaces[0], '--insecure-skip-verify', ...namespaces.flatMap(n => ['--namespace', n])], { stdio: ['ignore', 'ignore', 'pipe'] });
  const metrics = new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (c: string) => {
      buf += c;
      const m = /"msg":"metrics listening","address":"([^"]+)"/.exec(buf);
      if (m) resolve(m[1]);
      if (buf.length > 1024 * 1024) buf = buf.slice(-4096);
    });
    child.once('exit', code => reject(new Error(`operator exited ${code}`)));
  });
  return { child, metrics };
}

const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));

async function run(size: number): Promise<string> {
  const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `bench-${size}-${i}`);
  kubectl(['apply', '--server-side', '--field-manager=bench', '-f', '-'], namespaces.map(name => stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })).join('---\n'));
  const { child, metrics } = startOperator(namespaces);
  try {
    const address = await metrics;
    const file = join(work, `services-${size}.yaml`);
    writeFileSync(file, manifests(size).map(d => stringify(d)).join('---\n'));
    const start = Date.now();
    kubectl(['apply', '--server-side', '--field-manager=bench', '-f', file]);
    const controllers = JSON.parse(kubectl(['get', 'nodes', '-o', 'json'])).items.length > 0;
    let appliedMs: number | undefined;
    let runningMs: number | undefined;
    for (let i = 0; i < 1200 && (appliedMs === undefined || (controllers && runningMs === undefined)); i++) {
      await sleep(1_000);
      const items: any[] = JSON.parse(kubectl(['get', 'dsvc', '-A', '-o', 'json'])).items.filter((d: any) => d.metadata.namespace.startsWith(`bench-${size}-`));
      const applied = items.filter(d => d.status?.observedGeneration === d.metadata.generation && (d.status?.conditions ?? []).some((c: any) => c.type === 'ConfigurationApplied' && c.status === 'True'));
      if (appliedMs === undefined && applied.length === size) appliedMs = Date.now() - start;
      if (controllers && runningMs === undefined && items.filter(d => d.status?.state === 'Running').length === size) runningMs = Date.now() - start;
    }
    const requests = await metric(address, 'frp_operator_api_requests_total');
    const reconciles = await metric(address, 'frp_operator_reconcile_total');
    return `| ${size} | ${appliedMs === undefined ? 'not within 20 min' : (appliedMs / 1000).toFixed(1)} | ${controllers ? (runningMs === undefined ? 'not within 20 min' : (runningMs / 1000).toFixed(1)) : 'no controllers'} | ${requests} | ${(requests / size).toFixed(1)} | ${reconciles} |`;
  } finally {
    kubectl(['delete', 'dsvc', '--all', '-A', '--wait=true', '--timeout=600s']);
    child.kill('SIGTERM');
    await new Promise(r => child.once('exit', r));
    kubectl(['delete', 'namespace', ...namespaces, '--wait=false']);
  }
}

async function main(): Promise<void> {
  const rows = ['| services | applied (s) | Running (s) | API requests | requests per service | reconciles |', '|---:|---:|---:|---:|---:|---:|'];
  try {
    for (const size of SIZES) {
      rows.push(await run(size));
      console.error(rows[rows.length - 1]);
    }
  } finally {
    if (ownCluster) execFileSync(script, ['stop'], { stdio: 'inherit' });
  }
  console.log(rows.join('\n'));
  console.log(`\n${NAMESPACES} namespaces; one operator per size (fresh caches); node ${process.version}, ${cpus().length} cores`);
}

void main().catch(e => {
  console.error(e);
  process.exitCode = 1;
});
