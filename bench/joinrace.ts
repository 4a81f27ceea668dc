/**
 * `npm run bench:joinrace`: do requests fail while an frpc member JOINS its group?
 *
 * For each configuration (http by domain or tcp by remote port; the bundle's pool of 5
 * or the pool off), the live harness (test/live/harness) runs the rendered bundle with 3
 * frpc members in front of one backend. A few clients send a steady, bounded stream of
 * requests (a new connection each) while members are made to leave and join again, one at
 * a time: an frpc container is killed (SIGKILL; the kubelet restarts it after a short
 * back-off) or a pod is deleted (its containers' preStop hooks run, then SIGTERM; its
 * replacement, with a new name, joins as a new member).
 *
 * A failed request is counted against the event whose window it overlaps: `leave` from
 * the kill/delete until the new frpc process starts (a deleted pod's replacement starts
 * 1 s after frps has dropped the old member), `join` from there until 2 s after
 * frps reports the member online. For each join the frp logs give the window frp leaves
 * open: from frps' "new proxy [..] success" (frps has registered the proxy and routes to
 * it) to frpc's "start proxy success" (frpc has read NewProxyResp; before that it closes
 * every work connection it is handed). frps' "do http proxy request" warnings are counted.
 *
 * Settings (environment): JOINS (20 per configuration), CLIENTS (4), MAX_REQUESTS (40000
 * per configuration, a bound), CONFIGS (comma list, default all of http-pool5,
 * http-pool-off, tcp-pool5, tcp-pool-off), BENCH_OUT (bench/results).
 */
import * as fs from 'fs';
import * as path from 'path';
import { DistributedServiceProps, ExposeType, ServiceProtocol } from '../lib';
import { bundleOf, fixtureSecrets, onlineProxies, remotePortService, vhostService } from '../test/live/fixtures';
import { HttpBackend, httpRequest, tcpAsk, TcpBackend } from '../test/live/harness/backends';
import { Closeable, claimSubnet, LiveCluster, LivePod, sleep, waitFor } from '../test/live/harness/cluster';

const JOINS = Number(process.env.JOINS ?? 20);
const CLIENTS = Number(process.env.CLIENTS ?? 4);
const MAX_REQUESTS = Number(process.env.MAX_REQUESTS ?? 40_000);
const OUT = path.resolve(process.env.BENCH_OUT ?? path.join(__dirname, 'results'));
const AFTER_JOIN_MS = 2_000;
const BACK_OFF_MS = 1_000;

interface Config {
  readonly name: string;
  readonly protocol: 'http' | 'tcp';
  readonly pool: boolean;
}

const ALL: Config[] = [
  { name: 'http-pool5', protocol: 'http', pool: true },
  { name: 'http-pool-off', protocol: 'http', pool: false },
  { name: 'tcp-pool5', protocol: 'tcp', pool: true },
  { name: 'tcp-pool-off', protocol: 'tcp', pool: false },
];

interface Request { readonly start: number; readonly end: number; readonly ok: boolean; readonly what: string }

interface JoinEvent {
  readonly kind: 'restart' | 'new pod';
  readonly pod: string;
  readonly left: number;
  /** When the new frpc process started. */
  started: number;
  /** When frps first reported the member online (metrics poll). */
  online: number;
  /** frps' "new proxy success" to frpc's "start proxy success", ms (from the logs). */
  windowMs?: number;
  /** frps' "new proxy success" and frpc's "start proxy success" (ISO times, from the logs). */
  registered?: string;
  answered?: string;
  leaveFailures: string[];
  joinFailures: string[];
}

interface ConfigResult {
  readonly config: Config;
  readonly poolCountRendered: string;
  readonly requests: number;
  readonly seconds: number;
  readonly joins: JoinEvent[];
  readonly otherFailures: string[];
  readonly frpsProxyErrors: number;
}

const TS = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)/;

/** A frp log line's time (local time of this machine, as frp writes it), ms. */
function logTime(line: string): number | undefined {
  const m = TS.exec(line);
  return m ? new Date(m[1].replace(' ', 'T')).getTime() : undefined;
}

function props(config: Config, host: string): Omit<DistributedServiceProps, 'auth'> {
  const advanced = config.pool ? {} : { advanced: { connectionPool: { enabled: false } } };
  return config.protocol === 'http'
    ? {
      serviceType: ServiceProtocol.HTTP,
      backends: { replicas: 3, endpoints: [{ host, port: 8000 }] },
      expose: { type: ExposeType.DOMAIN, domain: 'api.example.test' },
      ...advanced,
    }
    : {
      serviceType: ServiceProtocol.TCP,
      backends: { replicas: 3, endpoints: [{ host, port: 5432 }] },
      expose: { type: ExposeType.PORT, port: 25432 },
      ...advanced,
    };
}

async function run(config: Config): Promise<ConfigResult> {
  const subnet = await claimSubnet();
  const ip = `127.${subnet.base}.4.1`;
  const backend: Closeable = config.protocol === 'http' ? await HttpBackend.start('b0', ip, 8000) : await TcpBackend.start('b0', ip, 5432);
  const manifests = bundleOf({ svc: props(config, ip) });
  const frpcToml: string = manifests.find((o) => o.kind === 'ConfigMap' && o.data?.['frpc.toml']).data['frpc.toml'];
  const poolCountRendered = /poolCount = (\d+)/.exec(frpcToml)?.[1] ?? 'not rendered (frp v0.70.1 then uses 1)';
  const c = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
  try {
    await c.waitAllReady();
    await waitFor('3 members online', async () => (await onlineProxies(c)).length === 3, 30_000);
    const ask: () => Promise<{ ok: boolean; what: string }> = config.protocol === 'http'
      ? async () => {
        const r = await httpRequest({ ...c.address(vhostService(c), 'http'), path: '/', headers: { host: 'api.example.test' }, timeoutMs: 5000 });
        return { ok: r.status === 200, what: `${r.status} ${r.body.slice(0, 60)}`.trim() };
      }
      : async () => {
        const r = await tcpAsk({ ...c.address(remotePortService(c, 25432), 25432), timeoutMs: 5000 });
        return { ok: /^b0 /.test(r), what: r };
      };
    await waitFor('the service answering', async () => (await ask()).ok, 20_000);

    const requests: Request[] = [];
    let stop = false;
    const client = async () => {
      while (!stop && requests.length < MAX_REQUESTS) {
        const start = Date.now();
        const r = await ask();
        requests.push({ start, end: Date.now(), ...r });
      }
    };
    const began = Date.now();
    const clients = Array.from({ length: CLIENTS }, () => client());
    await sleep(1000);

    const joins: JoinEvent[] = [];
    const joiners = new Map<JoinEvent, LivePod>();
    // frps names a member's proxy `<namespace>.<pod>.<proxy>`
    const memberOf = (p: LivePod) => `${p.namespace}.${p.name}.`;
    const isOnline = async (p: LivePod) => (await onlineProxies(c)).some((m) => m.startsWith(memberOf(p)));
    for (let j = 0; j < JOINS && requests.length < MAX_REQUESTS; j++) {
      const pods = c.podsWithImage('frpc').filter((p) => !p.deleted).sort((a, b) => a.name.localeCompare(b.name));
      const victim = pods[j % pods.length];
      const left = Date.now();
      let joiner: LivePod;
      let kind: JoinEvent['kind'];
      if (j % 2 === 0) {
        kind = 'restart';
        const before = victim.containers.find((x) => x.spec.name === 'frpc')!.startedAt;
        c.killContainer(victim, 'frpc', BACK_OFF_MS);
        await waitFor('the restarted frpc process', () => victim.containers.find((x) => x.spec.name === 'frpc')!.startedAt !== before, 15_000, 20);
        joiner = victim;
      } else {
        // the pod goes, then (once frps has dropped it and a back-off has passed) its replacement joins,
        // so that a failure is told to belong to the leave or to the join by its time
        kind = 'new pod';
        await c.deletePod(victim, false);
        await waitFor(`${victim.name} gone`, async () => !(await isOnline(victim)), 15_000, 50);
        await sleep(BACK_OFF_MS);
        joiner = await c.addPod(victim.workload);
      }
      const started = joiner.containers.find((x) => x.spec.name === 'frpc')!.startedAt ?? Date.now();
      await waitFor(`${joiner.name} online`, () => isOnline(joiner), 30_000, 50);
      const event: JoinEvent = { kind, pod: joiner.name, left, started, online: Date.now(), leaveFailures: [], joinFailures: [] };
      joins.push(event);
      joiners.set(event, joiner);
      await sleep(AFTER_JOIN_MS);
    }
    stop = true;
    await Promise.all(clients);
    const seconds = (Date.now() - began) / 1000;

    // the window frp leaves open at each join, from the logs
    const frps = c.podsWithImage('frps').map((p) => c.logs(p)).join('\n').split('\n');
    for (const e of joins) {
      const pod = joiners.get(e)!;
      const frpcLines = c.logs(pod, 'frpc').split('\n');
      const registered = frps.filter((l) => l.includes(`new proxy [${memberOf(pod)}`) && l.includes('success')).map(logTime).filter((t): t is number => t !== undefined && t >= e.started - 1000);
      const answered = frpcLines.filter((l) => l.includes('start proxy success')).map(logTime).filter((t): t is number => t !== undefined && t >= e.started - 1000);
      if (registered.length > 0 && answered.length > 0) {
        e.windowMs = answered[0] - registered[0];
        e.registered = new Date(registered[0]).toISOString();
        e.answered = new Date(answered[0]).toISOString();
      }
    }

    const otherFailures: string[] = [];
    const warnings = frps.filter((l) => / \[W\] /.test(l)).map((l) => ({ t: logTime(l) ?? 0, l: l.replace(/^.*?\] \[[^\]]*\] /, '') }));
    for (const r of requests.filter((x) => !x.ok)) {
      // frps' warning as the request failed (log times have ms resolution)
      const why = warnings.filter((w) => w.t >= r.start - 2 && w.t <= r.end + 2).map((w) => w.l).join(' | ');
      const line = `${new Date(r.start).toISOString()} +${r.end - r.start}ms ${r.what.split('\n')[0]}${why ? ` (frps: ${why})` : ''}`;
      // the last event begun when the request ended
      const e = [...joins].reverse().find((x) => r.end >= x.left);
      if (!e || r.start > e.online + AFTER_JOIN_MS) otherFailures.push(line);
      else if (r.end < e.started) e.leaveFailures.push(line);
      else e.joinFailures.push(line);
    }
    const frpsProxyErrors = frps.filter((l) => l.includes('do http proxy request')).length;
    return { config, poolCountRendered, requests: requests.length, seconds, joins, otherFailures, frpsProxyErrors };
  } catch (e) {
    console.error(c.allLogs());
    throw e;
  } finally {
    await c.stop();
    await backend.close();
  }
}

function report(results: ConfigResult[]): string {
  const lines = [
    '# Joining a group: failed requests (`npm run bench:joinrace`)',
    '',
    `Run ${new Date().toISOString().slice(0, 16)}Z; frp v0.70.1; ${CLIENTS} clients, a new connection per request; 3 frpc members, one backend.`,
    '"window": frps\' "new proxy success" to frpc\'s "start proxy success" (log times, ms resolution), per join.',
    '',
    '| configuration | rendered poolCount | joins (restart / new pod) | requests | req/s | failed at a join | joins with a failure '
      + '| failed at a leave (kill / deletion) | other failures | frps "do http proxy request" | window ms (min / median / max) |',
    '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    const joinFailed = r.joins.reduce((n, e) => n + e.joinFailures.length, 0);
    const leaveFailed = (kind: JoinEvent['kind']) => r.joins.filter((e) => e.kind === kind).reduce((n, e) => n + e.leaveFailures.length, 0);
    const w = r.joins.map((e) => e.windowMs).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    const restarts = r.joins.filter((e) => e.kind === 'restart').length;
    lines.push(`| ${r.config.name} | ${r.poolCountRendered} | ${r.joins.length} (${restarts} / ${r.joins.length - restarts}) | ${r.requests} | ${(r.requests / r.seconds).toFixed(0)} | `
      + `${joinFailed} | ${r.joins.filter((e) => e.joinFailures.length > 0).length} | ${leaveFailed('restart')} / ${leaveFailed('new pod')} | ${r.otherFailures.length} | ${r.frpsProxyErrors} | `
      + `${w.length ? `${w[0]} / ${w[Math.floor(w.length / 2)]} / ${w[w.length - 1]}` : 'n/a'} |`);
  }
  lines.push('', '## Failed requests', '');
  for (const r of results) {
    for (const e of r.joins) {
      for (const f of e.joinFailures) lines.push(`- ${r.config.name}, join of ${e.pod} (${e.kind}, window ${e.registered ?? '?'} to ${e.answered ?? '?'}): ${f}`);
      for (const f of e.leaveFailures) lines.push(`- ${r.config.name}, leave before ${e.pod} (${e.kind}): ${f}`);
    }
    for (const f of r.otherFailures) lines.push(`- ${r.config.name}, outside any event: ${f}`);
  }
  return `${lines.join('\n')}\n`;
}

async function main(): Promise<void> {
  const wanted = (process.env.CONFIGS ?? ALL.map((c) => c.name).join(',')).split(',');
  const results: ConfigResult[] = [];
  for (const config of ALL.filter((c) => wanted.includes(c.name))) {
    console.log(`${new Date().toISOString()} ${config.name}`);
    const r = await run(config);
    results.push(r);
    console.log(report([r]));
  }
  const md = report(results);
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'joinrace.md'), md);
  fs.writeFileSync(path.join(OUT, 'joinrace.json'), `${JSON.stringify(results, undefined, 1)}\n`);
  console.log(md);
}

main().then(() => process.exit(0), (e) => {
  console.error(e);
  process.exit(1);
});
