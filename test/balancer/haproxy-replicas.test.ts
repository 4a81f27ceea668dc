// Issue 9, defect 10: two HAProxy replicas of one balancer must treat a client alike.
// Real Debian haproxy 2.6, two processes on 127.B.0.2 and 127.B.0.3 in front of three
// backends at 127.B.4.1-3 that DNS discovery finds (127.B.0.0/16: the test's own,
// test/helpers/loopback.ts); each replica's DNS answers in another order (as CoreDNS'
// loadbalance plugin shuffles them), so `server-template` fills its slots differently in
// each. Clients come from their own addresses (127.B.3.x) and reach both replicas in turn,
// as kube-proxy spreads connections over the balancer's pods.
import * as dgram from 'dgram';
import * as net from 'net';
import { join } from 'path';
import { Duration } from 'cdk8s';
import { HaproxyHarness, RunningProcess, sleep } from './haproxy-harness';
import { dnsAnswer, HttpBackend, request } from './net-helpers';
import { HaproxyAffinity, HaproxyBalance, HaproxyConfig, HaproxyConfigProps, HaproxyMode, HaproxyServiceOptions, HaproxyTargets } from '../../lib/balancer';
import { useLoopback } from '../helpers/loopback';

jest.setTimeout(30_000);

const h = HaproxyHarness.create();
afterAll(() => h.cleanup());

const loopback = useLoopback();
let REPLICAS: string[] = [];
let BACKENDS: string[] = [];
beforeAll(() => {
  REPLICAS = [loopback.ip(0, 2), loopback.ip(0, 3)];
  BACKENDS = [loopback.ip(4, 1), loopback.ip(4, 2), loopback.ip(4, 3)];
});

/** A DNS server that answers every A query for any name with `answer.addresses`. */
interface Dns { readonly port: number; addresses: string[]; close(): void }
async function dnsServer(addresses: string[]): Promise<Dns> {
  const socket = dgram.createSocket('udp4');
  await new Promise<void>(resolve => socket.bind(0, '127.0.0.1', () => resolve()));
  const dns: Dns = { port: socket.address().port, addresses, close: () => socket.close() };
  socket.on('message', (msg, rinfo) => socket.send(dnsAnswer(msg, dns.addresses), rinfo.port, rinfo.address));
  return dns;
}

interface Replicas {
  readonly port: number;
  readonly processes: RunningProcess[];
  readonly configs: string[];
}

/**
 * Starts one haproxy per replica address on the same props, each with its own DNS server
 * (first answering `answers[i]`); the text differs only in the addresses it listens on and
 * asks DNS at, as two pods of one ConfigMap would. Waits until each resolved its answer.
 */
async function startReplicas(
  service: Partial<HaproxyServiceOptions>, backendPort: number, answers: string[][],
  extra: (i: number) => Partial<HaproxyConfigProps> = () => ({}), env: (i: number) => NodeJS.ProcessEnv = () => ({}),
): Promise<Replicas & { dns: Dns[]; resolved: (i: number, n: number) => Promise<void> }> {
  const [port, metricsPort, healthPort] = await loopback.ports(3);
  const dns = await Promise.all(answers.map(dnsServer));
  const configs = REPLICAS.map((address, i) => new HaproxyConfig({
    services: [{
      name: 'web',
      port,
      bindAddress: address,
      targets: HaproxyTargets.dns({ hostname: 'web-backends.apps.svc.cluster.local', port: backendPort, maxServers: 4 }),
      ...service,
    }],
    resolvers: { nameservers: [{ address: '127.0.0.1', port: dns[i].port }], holdValid: Duration.seconds(1), resolveInterval: Duration.millis(200) },
    metrics: { port: metricsPort },
    healthEndpoint: { port: healthPort },
    adminBindAddress: address,
    scriptDir: h.dir,
    statsSocket: join(h.dir, `admin-${i}.sock`),
    timeouts: { connect: Duration.seconds(1), client: Duration.seconds(5), server: Duration.seconds(5) },
    ...extra(i),
  }));
  for (const cfg of configs) for (const [file, text] of Object.entries(cfg.scripts())) h.writeFile(file, text);
  const processes: RunningProcess[] = [];
  for (const [i, cfg] of configs.entries()) processes.push(await h.start(cfg.render(), healthPort, REPLICAS[i], env(i)));
  const resolved = (i: number, n: number) => until(`${REPLICAS[i]} resolved ${n} backends`, async () => {
    const body = (await request({ port: metricsPort, host: REPLICAS[i], path: '/metrics' })).body;
    return (body.match(/^haproxy_server_status\{proxy="be_web",server="srv\d",state="UP"\} 1$/mg) ?? []).length === n;
  });
  for (const [i, a] of answers.entries()) await resolved(i, a.length);
  return { port, processes, configs: configs.map(c => c.render()), dns, resolved };
}

async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 8_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(25);
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
}

/** Which backend answered `client` through `replica`. */
async function ask(port: number, replica: string, client: string): Promise<string> {
  const r = await request({ port, host: replica, localAddress: client, path: '/' });
  expect(r.status).toBe(200);
  return r.backend!;
}

describe('two replicas, DNS answers in another order in each', () => {
  let backends: HttpBackend[] = [];
  beforeAll(async () => {
    const first = await HttpBackend.start('pod-a', BACKENDS[0]);
    backends = [first, await HttpBackend.start('pod-b', BACKENDS[1], first.port), await HttpBackend.start('pod-c', BACKENDS[2], first.port)];
  });
  afterAll(async () => {
    await Promise.all(backends.map(b => b.close()));
  });
  /**
   * Replica 0 started while the first two backend pods ran and saw the third arrive later;
   * replica 1 started while only the third ran and saw the other two arrive (a restart, a
   * scale-up): their slots differ, the third pod's address in a slot of its own in each.
   * (Started with all three, a replica fills its slots in an order of its own: on a busy
   * machine both replicas came out alike.)
   */
  async function replicasWithHistory(
    service: Partial<HaproxyServiceOptions>, extra?: (i: number) => Partial<HaproxyConfigProps>, env?: (i: number) => NodeJS.ProcessEnv,
  ) {
    const r = await startReplicas(service, backends[0].port, [BACKENDS.slice(0, 2), BACKENDS.slice(2)], extra, env);
    for (const [i, dns] of r.dns.entries()) {
      dns.addresses = BACKENDS;
      await r.resolved(i, 3);
    }
    return r;
  }

  test.each([
    ['tcp, balance source', { mode: HaproxyMode.TCP, balance: HaproxyBalance.SOURCE }, {}],
    ['http, balance hdr(X-Forwarded-For)', { balance: HaproxyBalance.FORWARDED_FOR_HASH }, { 'x-forwarded-for': 'CLIENT' }],
  ])('ip-hash over server-template (%s) sends each client to the same backend through either replica', async (_name, service, headers) => {
    const r = await replicasWithHistory(service);
    try {
      // the replicas really did fill their slots differently
      const slots = await Promise.all(REPLICAS.map((_a, i) => slotAddresses(i)));
      expect(slots[0]).not.toEqual(slots[1]);
      const seen = new Map<string, Set<string>>();
      for (let i = 1; i <= 16; i++) {
        const client = loopback.ip(3, i);
        const answers = new Set<string>();
        for (let k = 0; k < 4; k++) {
          const replica = REPLICAS[(i + k) % 2];
          const hdrs = Object.fromEntries(Object.entries(headers).map(([n, v]) => [n, v.replace('CLIENT', `203.0.113.${i}`)]));
          const res = await request({ port: r.port, host: replica, localAddress: client, path: '/', headers: hdrs });
          expect(res.status).toBe(200);
          answers.add(res.backend!);
        }
        seen.set(client, answers);
      }
      expect([...seen].filter(([, a]) => a.size !== 1).map(([c, a]) => `${c}: ${[...a].join(',')}`)).toEqual([]);
      // and the clients are spread over the backends
      expect(new Set([...seen.values()].map(a => [...a][0])).size).toBeGreaterThanOrEqual(2);
    } finally {
      await Promise.all(r.processes.map(p => p.stop()));
      r.dns.forEach(d => d.close());
    }
  });

  test('source affinity: a client pinned through one replica stays pinned through the other (peers, srvkey addr)', async () => {
    const [peersPort] = await loopback.ports(1);
    const peers = { peers: [{ name: 'haproxy-0', host: REPLICAS[0] }, { name: 'haproxy-1', host: REPLICAS[1] }], port: peersPort };
    const r = await replicasWithHistory(
      { mode: HaproxyMode.TCP, affinity: HaproxyAffinity.sourceAddress({ expire: Duration.minutes(5) }) },
      () => ({ peers }), i => ({ POD_NAME: `haproxy-${i}` }),
    );
    try {
      expect(r.configs[0]).toMatch(/srvkey addr peers frp$/m);
      const pinned = new Map<string, Set<string>>();
      for (let i = 1; i <= 12; i++) {
        const client = loopback.ip(3, 100 + i);
        // round robin picks the first server; it alternates which replica sees the client first
        const first = await ask(r.port, REPLICAS[i % 2], client);
        const other = REPLICAS[(i + 1) % 2];
        // the other replica learns the entry from its peer (pushed at once), before the client comes back
        await until(`${other} to learn ${client} from its peer`, async () => (await runtime(REPLICAS.indexOf(other), 'show table be_web')).includes(`key=::ffff:${client} `));
        const answers = new Set([first]);
        for (let k = 0; k < 4; k++) answers.add(await ask(r.port, REPLICAS[k % 2], client));
        pinned.set(client, answers);
      }
      expect([...pinned].filter(([, a]) => a.size !== 1).map(([c, a]) => `${c}: ${[...a].join(',')}`)).toEqual([]);
      expect(new Set([...pinned.values()].map(a => [...a][0])).size).toBeGreaterThanOrEqual(2);
    } finally {
      await Promise.all(r.processes.map(p => p.stop()));
      r.dns.forEach(d => d.close());
    }
  });
});

/** One command on a replica's runtime API. */
function runtime(replica: number, command: string): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    const sock = net.connect({ path: join(h.dir, `admin-${replica}.sock`) });
    let data = '';
    sock.on('data', b => (data += b));
    sock.once('error', reject);
    sock.once('end', () => resolve(data));
    sock.end(`${command}\n`);
  });
}

/** The address each slot srv1.. holds in one replica (`show servers state`). */
async function slotAddresses(replica: number): Promise<string[]> {
  const out = await runtime(replica, 'show servers state be_web');
  // columns: be_id be_name srv_id srv_name srv_addr ...
  return out.split('\n').filter(l => /^\d+ be_web /.test(l)).map(l => l.split(' ')).map(c => `${c[3]}=${c[4]}`).sort();
}
