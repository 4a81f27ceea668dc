/**
 * Live: backends that move (issue 18 §2). The whole rendered path (client -> frps -> frpc ->
 * HAProxy -> backend pods) runs while the backend pods the Service selects go 3 -> 5 -> 2,
 * under a bounded load of keep-alive and new-connection requests. Nothing restarts: frpc
 * forwards to the balancer's Service address, HAProxy fills its `server-template` slots from
 * the headless Service's DNS answer at run time (`resolvers`, `timeout resolve 1s`). A new
 * pod receives traffic, a removed one stops receiving it, and no request fails.
 *
 * A pod leaving is played as Kubernetes does it: it turns not ready (out of the EndpointSlice,
 * so out of DNS) and keeps serving for its termination grace period, then exits.
 */
import * as http from 'http';
import { Backends, bundleOf, fixtureSecrets, joinedProxies, vhostService } from './fixtures';
import { DiscoveryMode, ExposeType, LoadBalancingAlgorithm, ServiceProtocol } from '../../lib';
import { HttpBackend, httpRequest } from './harness/backends';
import { claimSubnet, LiveCluster, sleep, waitFor } from './harness/cluster';

jest.setTimeout(240_000);

/** One request of the load, as the client saw it. */
interface Outcome {
  readonly at: number;
  readonly ok: boolean;
  readonly instance?: string;
  readonly error?: string;
}

/**
 * A bounded client load on 127/8: `keepAlive` workers reuse their connections (one agent),
 * `fresh` workers open a new connection per request; each worker pauses `pauseMs` between
 * requests. Stops at `stop()`, after `maxRequests`, or at `deadlineMs`, whichever is first.
 */
class Load {
  public readonly outcomes: Outcome[] = [];
  private stopped = false;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  private readonly done: Promise<void[]>;

  constructor(private readonly target: { host: string; port: number; hostHeader: string; localAddress: string },
    o: { keepAlive: number; fresh: number; pauseMs: number; maxRequests: number; deadlineMs: number }) {
    const deadline = Date.now() + o.deadlineMs;
    const worker = async (agent: http.Agent | undefined) => {
      while (!this.stopped && this.outcomes.length < o.maxRequests && Date.now() < deadline) {
        this.outcomes.push(await this.one(agent));
        await sleep(o.pauseMs);
      }
    };
    this.done = Promise.all([
      ...Array.from({ length: o.keepAlive }, () => worker(this.agent)),
      ...Array.from({ length: o.fresh }, () => worker(undefined)),
    ]);
  }

  public async stop(): Promise<Outcome[]> {
    this.stopped = true;
    await this.done;
    this.agent.destroy();
    return this.outcomes;
  }

  public failures(): Outcome[] {
    return this.outcomes.filter((x) => !x.ok);
  }

  private async one(agent: http.Agent | undefined): Promise<Outcome> {
    const at = Date.now();
    const t = this.target;
    const r = await httpRequest({
      host: t.host, port: t.port, headers: { host: t.hostHeader }, localAddress: t.localAddress, agent, timeoutMs: 10_000,
    });
    const ok = r.status === 200 && r.answer !== undefined;
    return { at, ok, instance: r.answer?.instance, error: ok ? undefined : `status ${r.status}: ${r.body.slice(0, 120)}` };
  }
}

describe('live: backends that move', () => {
  let cluster: LiveCluster | undefined;
  let backends: Backends | undefined;
  let load: Load | undefined;
  afterEach(async () => {
    await load?.stop();
    load = undefined;
    await cluster?.stop();
    cluster = undefined;
    await backends?.closeAll();
  });

  test('balancer tier over selected pods: 3 -> 5 -> 2 under load, new pods get traffic, removed pods stop getting it, no failed request, nothing restarts', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const ips = Array.from({ length: 5 }, () => backends!.address());
    const servers: HttpBackend[] = [];
    for (const [i, ip] of ips.entries()) servers.push(await backends.add(HttpBackend.start(`pod-${i}`, ip, 8000)));
    /** The pods that exist and are ready (the Deployment's pods, as its ReplicaSet and readiness make them). */
    const ready = new Set([0, 1, 2]);

    const manifests = bundleOf({
      web: {
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 2, discovery: { mode: DiscoveryMode.SELECTOR, selector: { matchLabels: { app: 'web' } }, port: 8000 } },
        expose: { type: ExposeType.DOMAIN, domain: 'web.example.test' },
        loadBalancing: { algorithm: LoadBalancingAlgorithm.LEAST_CONN },
      },
    });
    // the rendered membership: a headless Service, and HAProxy slots filled from its DNS name at run time
    const headless = manifests.find((o) => o.kind === 'Service' && o.metadata.name === 'web-backends');
    expect(headless.spec).toMatchObject({ clusterIP: 'None', selector: { app: 'web' } });
    const cfg: string = manifests.find((o) => o.kind === 'ConfigMap' && o.data?.['haproxy.cfg']).data['haproxy.cfg'];
    expect(cfg).toContain('server-template srv 32 web-backends.apps.svc.cluster.local:8000 resolvers dns init-addr none');
    expect(cfg).toMatch(/^\s*timeout resolve 1s$/m);

    cluster = await LiveCluster.start(manifests, {
      subnet,
      secrets: fixtureSecrets(),
      externalPods: ips.map((ip, i) => backends!.pod(`web-${i}`, ip, { app: 'web' }, () => ready.has(i))),
    });
    const c = cluster;
    await c.waitAllReady();
    await waitFor('2 frp members joined', async () => (await joinedProxies(c)).length >= 2, 30_000)
      .catch((e) => { throw new Error(`${e.message}\n${c.allLogs()}`); });
    const vhost = c.address(vhostService(c), 'http');
    const client = c.clientAddress();
    await waitFor('the three pods answering through the tunnel', async () => {
      for (let k = 0; k < 6; k++) await httpRequest({ ...vhost, headers: { host: 'web.example.test' }, localAddress: client, timeoutMs: 2000 });
      return [0, 1, 2].every((i) => servers[i].hits > 0);
    }, 30_000).catch((e) => { throw new Error(`${e.message}\n${c.allLogs()}`); });
    const containerStarts = () => c.pods.map((p) => `${p.name}:${p.containers.map((x) => x.restarts).join(',')}`).join(' ');
    const startsBefore = containerStarts();
    const podsBefore = c.pods.filter((p) => !p.deleted).map((p) => p.name).sort();

    // GIVEN a bounded load: 4 keep-alive and 2 new-connection clients, 10 ms apart, at most 180 s / 40 000 requests.
    // Each phase lasts a number of requests, not a time, so a busy machine makes it slower, not different.
    load = new Load({ ...vhost, hostHeader: 'web.example.test', localAddress: client }, { keepAlive: 4, fresh: 2, pauseMs: 10, maxRequests: 40_000, deadlineMs: 180_000 });
    const l = load;
    const PHASE = 150;
    /** Waits until `n` requests sent from now on have completed. */
    const more = async (what: string, n: number) => {
      const since = Date.now();
      await waitFor(`${n} more requests (${what})`, () => l.outcomes.filter((x) => x.at >= since).length >= n, 60_000, 20);
    };
    const hitsAt = () => servers.map((s) => s.hits);
    await more('three pods', PHASE);

    // WHEN the Deployment scales 3 -> 5: two pods turn ready
    const upAt = Date.now();
    ready.add(3);
    ready.add(4);
    const firstTraffic: number[] = [];
    await waitFor('both new pods receiving traffic', () => {
      for (const i of [3, 4]) if (firstTraffic[i - 3] === undefined && servers[i].hits > 0) firstTraffic[i - 3] = Date.now() - upAt;
      return firstTraffic.filter((x) => x !== undefined).length === 2;
    }, 20_000, 20).catch((e) => { throw new Error(`${e.message}; hits ${hitsAt()}\n${c.allLogs()}`); });
    await more('five pods', PHASE);
    const atFive = hitsAt();

    // WHEN it scales 5 -> 2: three pods leave the endpoints (not ready, out of DNS) and keep serving, as a
    // terminating pod does through its grace period, until the balancer has stopped sending to them
    const downAt = Date.now();
    for (const i of [2, 3, 4]) ready.delete(i);
    const lastTraffic: Record<number, number> = {};
    const seen = hitsAt();
    let quietSince = { requests: l.outcomes.length, hits: [2, 3, 4].map((i) => seen[i]).join() };
    await waitFor('the removed pods getting no request while 60 others complete', () => {
      const now = hitsAt();
      for (const i of [2, 3, 4]) if (now[i] > seen[i]) { lastTraffic[i] = Date.now() - downAt; seen[i] = now[i]; }
      const hits = [2, 3, 4].map((i) => now[i]).join();
      if (hits !== quietSince.hits) quietSince = { requests: l.outcomes.length, hits };
      return l.outcomes.length - quietSince.requests >= 60;
    }, 30_000, 20).catch((e) => { throw new Error(`${e.message}; hits ${hitsAt()}\n${c.allLogs()}`); });
    const atRemoval = hitsAt();
    // then they exit
    const exitAt = Date.now();
    await Promise.all([2, 3, 4].map((i) => servers[i].close()));
    await more('two pods', PHASE);
    const outcomes = await l.stop();
    load = undefined;

    // what the balancers counted: a request sent to a pod that had gone would show as a connection error and a retry
    const balancerCounters = { connection_errors: 0, retry_warnings: 0, redispatch_warnings: 0 };
    for (const pod of c.podsWithImage('haproxy')) {
      const text = (await httpRequest({ host: pod.ip, port: 8404, path: '/metrics', timeoutMs: 3000 })).body;
      for (const k of Object.keys(balancerCounters) as Array<keyof typeof balancerCounters>) {
        const m = new RegExp(`^haproxy_backend_${k}_total\\{proxy="be_web"\\} (\\d+)$`, 'm').exec(text);
        if (!m) throw new Error(`no haproxy_backend_${k}_total for be_web in ${pod.name}'s metrics`);
        balancerCounters[k] += Number(m[1]);
      }
    }
    const figures = {
      requests: outcomes.length,
      balancerCounters,
      failed: outcomes.filter((x) => !x.ok).length,
      timeToFirstTrafficMs: firstTraffic,
      lastTrafficAfterRemovalMs: [2, 3, 4].map((i) => lastTraffic[i] ?? 0),
      hits: { atFive, atRemoval },
    };
    // the figures for the record (issue 18 §2: what a membership change costs)
    console.log(`membership 3 -> 5 -> 2: ${JSON.stringify(figures)}`);

    // THEN no request failed, over a load that spanned both changes
    expect(outcomes.filter((x) => !x.ok).slice(0, 5)).toEqual([]);
    expect(outcomes.filter((x) => x.at < upAt).length).toBeGreaterThanOrEqual(PHASE);
    expect(outcomes.filter((x) => x.at >= exitAt).length).toBeGreaterThanOrEqual(PHASE);
    // no request even tried a pod that had gone (no connection error, nothing retried on another pod)
    expect(balancerCounters).toEqual({ connection_errors: 0, retry_warnings: 0, redispatch_warnings: 0 });
    // the new pods took part: each got traffic while there were five
    expect(atFive[3]).toBeGreaterThan(0);
    expect(atFive[4]).toBeGreaterThan(0);
    // the removed pods had served before they left, and stopped getting traffic before they exited
    for (const i of [2, 3, 4]) expect(atRemoval[i]).toBeGreaterThan(0);
    // the two that stay carried everything after the exit
    const after = outcomes.filter((x) => x.at >= exitAt).map((x) => x.instance);
    expect(new Set(after)).toEqual(new Set(['pod-0', 'pod-1']));
    // and nothing restarted or was replaced: membership changed at run time only
    expect(containerStarts()).toBe(startsBefore);
    expect(c.pods.filter((p) => !p.deleted).map((p) => p.name).sort()).toEqual(podsBefore);
  });
});
