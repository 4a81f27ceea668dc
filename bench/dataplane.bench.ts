/**
 * `npm run bench:dataplane`: what the data plane carries, side by side, in one run.
 *
 * Everything runs on this machine on 127.0.0.0/8 with the real programs: nginx backends,
 * frps/frpc v0.70.1 as frp's README configures them ("frp defaults"), the rendered bundle
 * run by the live harness (test/live/harness) with and without the balancer tier, and the
 * bundle with 3 HA frps replicas. Debian's wrk generates the load. The cells are measured
 * interleaved over several rounds (each round runs every path of a cell back to back, in
 * a rotating order), and ratios are taken within a round, so that other load on the
 * machine hits the compared paths alike. See README "Capacity guide".
 *
 * Settings (environment): BENCH_ROUNDS (4), BENCH_SECONDS (2, the window of one cell),
 * BENCH_OUT (bench/results).
 *
 * The harness's kube-proxy is a userspace forwarder in this process; the benchmark
 * bypasses it (the client connects to the pods behind a Service, and Service names
 * resolve to pod addresses: LiveOptions.directEndpoints), as the kernel's DNAT costs
 * next to nothing in a cluster.
 */
import { execSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ExposeType, LoadBalancingAlgorithm, ServiceProtocol } from '../lib';
import { BACKEND_PORT, BULK_BYTES, BULK_PATH, PlainProxy, PlainSetting, Proc, SMALL_PATH, startNginx, startPlainFrp } from './dataplane/plain';
import { cpuTotal, median, Results, Row, Sample, ratio, throughput } from './dataplane/report';
import { Wrk } from './dataplane/wrk';
import { bundleOf, fixtureSecrets, onlineProxies, remotePortService, vhostService } from '../test/live/fixtures';
import { httpRequest } from '../test/live/harness/backends';
import { claimSubnet, LiveCluster, LivePod, waitFor } from '../test/live/harness/cluster';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const OUT = path.resolve(process.env.BENCH_OUT ?? path.join(__dirname, 'results'));
const TOKEN = 'bench-token';
const CLK_TCK = Number(execSync('getconf CLK_TCK', { encoding: 'utf8' }).trim());

/** Where a path is reached and which processes carry it (for CPU seconds). */
interface Target {
  readonly addresses: { host: string; port: number }[];
  readonly host?: string;
  readonly cpu: Record<string, number[]>;
}

const DIRECT = 'direct';
const FRP = 'frp defaults';
const BUNDLE = 'bundle';
const POOL_OFF = 'bundle, pool off';
const BALANCER = 'bundle + balancer';
const BALANCER_FQDN = 'bundle + balancer, frpc → balancer by absolute name';
const HA = 'HA frps ×3';
/** The bundle's settings that act per connection, each alone on frp's defaults (bench/dataplane/plain.ts). */
const SETTINGS: Record<string, PlainSetting> = {
  'frp defaults + pool 5': { frpc: ['transport.poolCount = 5'] },
  'frp defaults + NewWorkConns auth': { frps: ['auth.additionalScopes = ["HeartBeats", "NewWorkConns"]'], frpc: ['auth.additionalScopes = ["HeartBeats", "NewWorkConns"]'] },
  'frp defaults + Prometheus': { frps: ['enablePrometheus = true', 'webServer.addr = "{server}"', 'webServer.port = 7500'] },
  'frp defaults + group of 1': { proxy: ['loadBalancer.group = "g1"', 'loadBalancer.groupKey = "k"'] },
};
const FRP_VHOST = 'frp defaults, http vhost';
const BUNDLE_VHOST = 'bundle, http vhost';

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${msg}\n`);
}

/** utime + stime of a process, in clock ticks (0 when it is gone). */
function ticks(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // fields 14 and 15 of proc(5), counted from field 3
  } catch {
    return 0;
  }
}

const comm = (pid: number) => { try { return fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim(); } catch { return '?'; } };

function pidsOf(pods: LivePod[], program: string): number[] {
  const pids = pods.flatMap((p) => p.containers.filter((c) => String(c.spec.image).includes(`/${program}:`) || String(c.spec.image).startsWith(`${program}:`)).map((c) => c.proc?.pid ?? 0));
  for (const pid of pids) if (comm(pid) !== program) throw new Error(`pid ${pid} is ${comm(pid)}, not ${program}: the CPU figures would be wrong`);
  return pids;
}

async function answers(t: Target, urlPath = SMALL_PATH): Promise<boolean> {
  for (const a of t.addresses) {
    const r = await httpRequest({ ...a, path: urlPath, headers: t.host ? { host: t.host } : {}, timeoutMs: 2000 });
    if (r.status !== 200) return false;
  }
  return true;
}

function backendsAt(base: number, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `127.${base}.4.${i + 1}`);
}

/** The bundle: tcp services of 1, 3 and 10 members, one without a pool, one http vhost service, and balancer-tier services, on one frps. */
function bundleManifests(base: number): any[] {
  const tcp = (members: number, port: number, extra: object = {}) => ({
    serviceType: ServiceProtocol.TCP,
    backends: { replicas: 1, endpoints: backendsAt(base, members).map((host) => ({ host, port: BACKEND_PORT })) },
    expose: { type: ExposeType.PORT, port },
    ...extra,
  });
  const balanced = { loadBalancing: { algorithm: LoadBalancingAlgorithm.LEAST_CONN } };
  const manifests = bundleOf({
    t1: tcp(1, 18101),
    t3: tcp(3, 18103),
    t10: tcp(10, 18110),
    tnp: tcp(1, 18100, { advanced: { connectionPool: { enabled: false } } }),
    h1: {
      serviceType: ServiceProtocol.HTTP,
      backends: { replicas: 1, endpoints: [{ host: backendsAt(base, 1)[0], port: BACKEND_PORT }] },
      expose: { type: ExposeType.DOMAIN, domain: 'h1.bench.test' },
    },
    b1: tcp(1, 18201, balanced),
    b3: tcp(3, 18203, balanced),
    b10: tcp(10, 18210, balanced),
    bq1: tcp(1, 18221, balanced),
  } as any);
  // the experiment of BALANCER_FQDN: frpc reaches its balancer by an absolute name, so the
  // resolver (ndots:5) does not try the search domains first on every new connection
  for (const m of manifests) {
    if (m.kind === 'ConfigMap' && m.metadata.name === 'bq1-frpc-config') {
      const before = m.data['frpc.toml'];
      m.data['frpc.toml'] = before.replace('localIP = "bq1-balancer.apps.svc"', 'localIP = "bq1-balancer.apps.svc.cluster.local."');
      if (m.data['frpc.toml'] === before) throw new Error('bq1\'s frpc.toml does not name its balancer as expected');
    }
  }
  return manifests;
}

function haManifests(base: number): any[] {
  return bundleOf({
    t1: {
      serverReplicas: 3,
      serviceType: ServiceProtocol.TCP,
      backends: { replicas: 1, endpoints: [{ host: backendsAt(base, 1)[0], port: BACKEND_PORT }] },
      expose: { type: ExposeType.PORT, port: 18301 },
    },
  } as any);
}

async function main(): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frp-bench-'));
  fs.chmodSync(dir, 0o755);
  const clusters: LiveCluster[] = [];
  const procs: Proc[] = [];
  let claim: Awaited<ReturnType<typeof claimSubnet>> | undefined;
  const stopAll = async () => {
    await Promise.all(clusters.map((c) => c.stop()));
    await Promise.all(procs.map((p) => p.stop()));
    const dns = claim?.dns;
    claim = undefined;
    await dns?.close();
  };
  process.once('SIGINT', () => { void stopAll().finally(() => process.exit(130)); });
  process.once('SIGTERM', () => { void stopAll().finally(() => process.exit(143)); });
  try {
    // the addresses of the backends and of the README-style frp: a subnet of their own (held until the end)
    claim = await claimSubnet();
    const base = claim.base;
    const nginx = startNginx(dir, backendsAt(base, 10));
    procs.push(nginx);
    const server = `127.${base}.5.1`;
    const plainProxies: PlainProxy[] = [
      { name: 'p1', type: 'tcp', backends: backendsAt(base, 1), remotePort: 18001 },
      { name: 'p3', type: 'tcp', backends: backendsAt(base, 3), remotePort: 18003 },
      { name: 'p10', type: 'tcp', backends: backendsAt(base, 10), remotePort: 18010 },
      { name: 'ph', type: 'http', backends: backendsAt(base, 1), domain: 'h1.bench.test' },
    ];
    const plain = await startPlainFrp(dir, server, TOKEN, plainProxies);
    procs.push(plain.frps, plain.frpc);
    // frp's defaults plus one setting the bundle renders, each on its own frps and frpc
    const variants: Record<string, { frps: Proc; frpc: Proc; server: string }> = {};
    for (const [i, [name, setting]] of Object.entries(SETTINGS).entries()) {
      const at = `127.${base}.5.${i + 2}`;
      const v = await startPlainFrp(dir, at, TOKEN, [{ name: 'p1', type: 'tcp', backends: backendsAt(base, 1), remotePort: 18001 }], setting);
      procs.push(v.frps, v.frpc);
      variants[name] = { ...v, server: at };
    }

    log('starting the bundle and the HA bundle in the live harness');
    const [bundle, ha] = await Promise.all([
      LiveCluster.start(bundleManifests(base), { secrets: fixtureSecrets(), directEndpoints: true }),
      LiveCluster.start(haManifests(base), { secrets: fixtureSecrets(), directEndpoints: true }),
    ]);
    clusters.push(bundle, ha);
    await bundle.waitAllReady(60_000);
    await waitFor('20 frp members online on the bundle\'s frps', async () => (await onlineProxies(bundle)).length >= 20, 60_000)
      .catch(async (e) => { throw new Error(`${e.message}: ${JSON.stringify(await onlineProxies(bundle))}\n${bundle.allLogs()}`); });
    await ha.waitAllReady(90_000); // HA replicas are ready 25 s after they start (readiness initialDelaySeconds)

    const frps = (c: LiveCluster) => pidsOf(c.podsWithImage('frps'), 'frps');
    const frpcOf = (c: LiveCluster, svc: string) => pidsOf(c.podsOf(`${svc}-frpc`), 'frpc');
    const haproxyOf = (c: LiveCluster, svc: string) => pidsOf(c.podsOf(`${svc}-balancer`), 'haproxy');
    const remote = (c: LiveCluster, port: number) => c.endpointsOf(remotePortService(c, port), port).map((e) => ({ host: e.ip, port: e.port }));
    const targets: Record<string, (members: number) => Target | undefined> = {
      [DIRECT]: (m) => (m === 1 ? { addresses: [{ host: backendsAt(base, 1)[0], port: BACKEND_PORT }], cpu: {} } : undefined),
      [FRP]: (m) => ({ addresses: [{ host: server, port: 18000 + m }], cpu: { frps: [plain.frps.pid], frpc: [plain.frpc.pid] } }),
      [BUNDLE]: (m) => ({ addresses: remote(bundle, 18100 + m), cpu: { frps: frps(bundle), frpc: frpcOf(bundle, `t${m}`) } }),
      [POOL_OFF]: (m) => (m === 1 ? { addresses: remote(bundle, 18100), cpu: { frps: frps(bundle), frpc: frpcOf(bundle, 'tnp') } } : undefined),
      [BALANCER]: (m) => ({
        addresses: remote(bundle, 18200 + m),
        cpu: { frps: frps(bundle), frpc: frpcOf(bundle, `b${m}`), haproxy: haproxyOf(bundle, `b${m}`) },
      }),
      [BALANCER_FQDN]: (m) => (m === 1 ? {
        addresses: remote(bundle, 18221),
        cpu: { frps: frps(bundle), frpc: frpcOf(bundle, 'bq1'), haproxy: haproxyOf(bundle, 'bq1') },
      } : undefined),
      ...Object.fromEntries(Object.entries(variants).map(([name, v]) => [name, (m: number) => (m === 1 ? {
        addresses: [{ host: v.server, port: 18001 }], cpu: { frps: [v.frps.pid], frpc: [v.frpc.pid] },
      } : undefined)])),
      [HA]: (m) => (m === 1 ? { addresses: remote(ha, 18301), cpu: { frps: frps(ha), frpc: frpcOf(ha, 't1') } } : undefined),
      [FRP_VHOST]: (m) => (m === 1 ? { addresses: [{ host: server, port: plain.vhostPort }], host: 'h1.bench.test', cpu: { frps: [plain.frps.pid], frpc: [plain.frpc.pid] } } : undefined),
      [BUNDLE_VHOST]: (m) => (m === 1 ? {
        addresses: bundle.endpointsOf(vhostService(bundle), 'http').map((e) => ({ host: e.ip, port: e.port })),
        host: 'h1.bench.test',
        cpu: { frps: frps(bundle), frpc: frpcOf(bundle, 'h1') },
      } : undefined),
    };

    // the matrix (README "Capacity guide" says why this subset)
    const MAIN = [DIRECT, FRP, BUNDLE, BALANCER, HA];
    const cells: Omit<Row, 'samples'>[] = [];
    const add = (group: string, workload: Row['workload'], connections: number, members: number, paths: string[]) => {
      for (const p of paths) cells.push({ group, workload, connections, members, path: p });
    };
    for (const c of [1, 16, 64]) add(`keep-alive c${c}`, 'keep-alive', c, 1, c === 16 ? [...MAIN, FRP_VHOST, BUNDLE_VHOST] : MAIN);
    for (const c of [1, 16]) {
      add(`new connection c${c}`, 'new connection', c, 1, [...MAIN, POOL_OFF, BALANCER_FQDN, ...(c === 16 ? [FRP_VHOST, BUNDLE_VHOST, ...Object.keys(SETTINGS)] : [Object.keys(SETTINGS)[0]])]);
    }
    add('bulk c1', 'bulk', 1, 1, MAIN);
    for (const m of [3, 10]) add(`keep-alive c16 m${m}`, 'keep-alive', 16, m, [FRP, BUNDLE, BALANCER]);
    const resolved = cells.map((cell) => ({ cell, target: targets[cell.path](cell.members)! }));
    for (const { cell, target } of resolved) {
      if (!target) throw new Error(`no target for ${cell.path} with ${cell.members} members`);
      await waitFor(`${cell.path} (${cell.members} members) answering`, () => answers(target), 60_000)
        .catch((e) => { throw new Error(`${e.message}\n${cell.path.startsWith('HA') ? ha.allLogs() : bundle.allLogs()}`); });
    }
    log(`every path answers; ${cells.length} cells × ${ROUNDS} rounds × ${SECONDS} s`);

    const wrk = new Wrk(dir);
    const rows: Row[] = cells.map((c) => ({ ...c, samples: [] }));
    const groups = [...new Set(cells.map((c) => c.group))];
    const started = Date.now();
    for (let round = 0; round < ROUNDS; round++) {
      for (const group of groups) {
        const inGroup = resolved.map((x, i) => ({ ...x, row: rows[i] })).filter((x) => x.cell.group === group);
        const order = inGroup.map((_, i) => inGroup[(i + round) % inGroup.length]); // rotate: no path always first
        for (const { cell, target, row } of order) {
          const before = Object.fromEntries(Object.entries(target.cpu).map(([k, pids]) => [k, pids.reduce((n, p) => n + ticks(p), 0)]));
          const r = await wrk.run({
            addresses: target.addresses,
            host: target.host,
            path: cell.workload === 'bulk' ? BULK_PATH : SMALL_PATH,
            connections: cell.connections,
            seconds: SECONDS,
            close: cell.workload === 'new connection',
          }).catch((e) => { log(String(e.message)); return undefined; });
          const cpu: Record<string, number> = {};
          for (const [k, pids] of Object.entries(target.cpu)) {
            const used = (pids.reduce((n, p) => n + ticks(p), 0) - before[k]) / CLK_TCK;
            // per 10,000 requests; bulk rows: per GB carried
            if (r && r.requests > 0) cpu[k] = cell.workload === 'bulk' ? used / (r.bytes / 1e9) : (used / r.requests) * 10_000;
          }
          const sample: Sample = r ? {
            round,
            rps: r.requests / r.seconds,
            mbps: r.bytes / r.seconds / 1e6,
            p50Ms: r.p50Ms,
            p99Ms: r.p99Ms,
            errors: r.socketErrors + r.statusErrors,
            cpu,
          } : { round, rps: NaN, mbps: NaN, p50Ms: NaN, p99Ms: NaN, errors: 1, cpu };
          row.samples.push(sample);
          log(`round ${round + 1}/${ROUNDS} ${group} ${cell.path}: ${Math.round(sample.rps)} req/s ${sample.mbps.toFixed(1)} MB/s p50 ${sample.p50Ms.toFixed(2)} ms p99 ${sample.p99Ms.toFixed(2)} ms errors ${sample.errors}`);
        }
      }
    }
    const minutes = (Date.now() - started) / 60_000;
    await stopAll();

    const results = new Results(rows);
    const md = render(results, minutes);
    fs.mkdirSync(OUT, { recursive: true });
    fs.writeFileSync(path.join(OUT, 'dataplane.md'), md);
    fs.writeFileSync(path.join(OUT, 'dataplane.svg'), results.svg(FRP, `cdk8s-frp data plane, ${machine()}`));
    fs.writeFileSync(path.join(OUT, 'dataplane.json'), `${JSON.stringify({ date: new Date().toISOString(), machine: machine(), rounds: ROUNDS, seconds: SECONDS, rows }, null, 1)}\n`);
    process.stdout.write(md);
    log(`wrote ${path.join(OUT, 'dataplane.md')}, dataplane.svg and dataplane.json`);
  } finally {
    await stopAll();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The load average before the benchmark started anything (at the end it includes the benchmark's own processes). */
const LOAD_BEFORE = os.loadavg();

function machine(): string {
  const cpu = os.cpus();
  const load = (l: number[]) => l.map((x) => x.toFixed(1)).join('/');
  return `${cpu.length} × ${cpu[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, `
    + `load ${load(LOAD_BEFORE)} when it started and ${load(os.loadavg())} at the end (with the benchmark's own wrk, nginx, frp and HAProxy)`;
}

function versions(): string {
  // wrk -v and nginx -v answer on stderr (wrk with exit code 1)
  const v = (cmd: string, args: string[]) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0].trim();
  };
  return `${v('wrk', ['-v']).split(' ').slice(0, 2).join(' ')}, ${v('haproxy', ['-v']).split(' ').slice(0, 3).join(' ')}, ${v('nginx', ['-v']).replace(/^nginx version: /, '')}`;
}

/** The Markdown report: the table, then the goals of issue 20 checked against it. */
function render(results: Results, minutes: number): string {
  const goals: string[] = ['| goal | figure (median, range over rounds) | met |', '|---|---|---|'];
  /** A goal (ok given) or a figure the tuning reads (ok undefined: "info"). */
  const check = (what: string, r: ReturnType<typeof ratio>, ok?: (x: number) => boolean) => {
    // the range over the rounds decides: met in every round, in none, or within the spread either way
    const met = !r ? '–' : !ok ? 'info' : ok(r.min) && ok(r.max) ? 'yes' : !ok(r.min) && !ok(r.max) ? 'no' : `within the spread (median ${ok(r.median) ? 'meets it' : 'misses it'})`;
    goals.push(`| ${what} | ${r ? `${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})` : 'not measured'} | ${met} |`);
  };
  const p50 = (_: Row, s: Sample) => s.p50Ms;
  const p99 = (_: Row, s: Sample) => s.p99Ms;
  for (const row of results.rows.filter((r) => r.path === BUNDLE)) {
    const frp = results.find(row, FRP);
    const label = `${row.workload} c${row.connections} m${row.members}`;
    check(`bundle ≥ 1.0× frp defaults, ${row.workload === 'bulk' ? 'MB/s' : 'req/s'}, ${label}`, ratio(row, frp, throughput), (x) => x >= 1.0);
    check(`bundle's CPU per ${row.workload === 'bulk' ? 'GB' : 'request'} ≤ 1.0× frp defaults', ${label}`, ratio(row, frp, cpuTotal), (x) => x <= 1.0);
    if (row.workload !== 'bulk') check(`bundle p99 ≤ frp defaults' p99, ${label}`, ratio(row, frp, p99), (x) => x <= 1.0);
  }
  for (const row of results.rows.filter((r) => r.path === BALANCER && r.workload !== 'bulk')) {
    check(`balancer tier p50 ≤ 1.10× the bundle's, ${row.workload} c${row.connections} m${row.members}`, ratio(row, results.find(row, BUNDLE), p50), (x) => x <= 1.10);
  }
  for (const row of results.rows.filter((r) => r.path === BALANCER_FQDN)) {
    check(`balancer tier reached by absolute name: p50 vs by search-list name (new connection c${row.connections}; < 1 is faster)`, ratio(row, results.find(row, BALANCER), p50));
    check(`balancer tier reached by absolute name: p50 ≤ 1.10× the bundle's (new connection c${row.connections})`, ratio(row, results.find(row, BUNDLE), p50), (x) => x <= 1.10);
  }
  for (const row of results.rows.filter((r) => r.path === HA)) {
    check(`HA ×3 ≥ 1.0× the bundle (one frps), ${row.workload} c${row.connections}`, ratio(row, results.find(row, BUNDLE), throughput), (x) => x >= 1.0);
  }
  for (const row of results.rows.filter((r) => r.path === FRP_VHOST)) {
    check(`http over the bundle's tcp proxy ≥ 1.5× frp's http vhost, ${row.workload} c${row.connections}`, ratio(results.find(row, BUNDLE), row, throughput), (x) => x >= 1.5);
    check(`bundle's http vhost ≥ 1.0× frp defaults' http vhost, ${row.workload} c${row.connections}`, ratio(results.find(row, BUNDLE_VHOST), row, throughput), (x) => x >= 1.0);
  }
  for (const row of results.rows.filter((r) => r.path in SETTINGS)) {
    check(`CPU per request of ${row.path} vs frp defaults (new connection c${row.connections}; what the setting costs)`, ratio(row, results.find(row, FRP), cpuTotal));
    check(`p50 of ${row.path} vs frp defaults (new connection c${row.connections})`, ratio(row, results.find(row, FRP), p50));
  }
  const pool = results.rows.filter((r) => r.path === POOL_OFF);
  for (const row of pool) {
    check(`pool of 5 vs pool off, p50 (new connection c${row.connections}; < 1 is faster)`, ratio(results.find(row, BUNDLE), row, p50));
  }
  const cpuPerCore = (pathName: string, prog: string) => {
    const row = results.rows.find((r) => r.path === pathName && r.workload === 'keep-alive' && r.connections === 16 && r.members === 1);
    const x = median((row?.samples ?? []).map((s) => s.cpu[prog] ?? NaN));
    return Number.isFinite(x) && x > 0 ? Math.round(10_000 / x) : NaN;
  };
  return [
    '# Data-plane benchmark (`npm run bench:dataplane`)',
    '',
    `Run ${new Date().toISOString().slice(0, 16)}Z on ${machine()}; ${versions()}; frp v0.70.1.`,
    `${ROUNDS} interleaved rounds of ${SECONDS} s per cell, ${minutes.toFixed(1)} min of measuring. Figures are medians over the rounds;`,
    '"spread" is half the range of the throughput over the rounds; ratios are taken within each round (median, and range in brackets).',
    'c = concurrent connections (wrk), m = members of the frp group (nginx backends behind it). CPU s/10k req: utime+stime of the',
    'path\'s frps, frpc and HAProxy processes (/proc/PID/stat) over the window, per 10,000 requests (bulk rows: per GB carried;',
    'HA: the sum of the 3 replicas).',
    '',
    results.table(FRP, DIRECT),
    '',
    '## Goals (issue 20)',
    '',
    goals.join('\n'),
    '',
    `Requests/s one CPU core of frps carries (keep-alive c16, from the CPU column): bundle ${cpuPerCore(BUNDLE, 'frps').toLocaleString('en-US')}, frp defaults ${cpuPerCore(FRP, 'frps').toLocaleString('en-US')}; of frpc: bundle ${cpuPerCore(BUNDLE, 'frpc').toLocaleString('en-US')}; of HAProxy: ${cpuPerCore(BALANCER, 'haproxy').toLocaleString('en-US')}.`,
    `Bulk file: ${BULK_BYTES / 2 ** 20} MiB per request.`,
    '',
  ].join('\n');
}

main().catch((e) => {
  process.stderr.write(`${e.stack ?? e}\n`);
  process.exitCode = 1;
});
