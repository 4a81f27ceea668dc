/**
 * Live: HA frps. Three frps replicas (a Deployment and a control Service each); every
 * frpc pod runs one frpc per replica, so every replica holds every group with all its
 * members. With load running, one replica's frps is killed (SIGKILL; the kubelet
 * restarts it): once it is out of the Services' endpoints (the readiness window), no
 * request fails, every group is still served by all its members, and the restarted
 * replica takes traffic again only after its members have logged in again (readiness
 * initialDelaySeconds), so its return fails no request either. A deleted frpc pod then
 * leaves every replica gracefully (each container's preStop stops its own frpc).
 */
import { Backends, bundleOf, fixtureSecrets, remotePortService, vhostService } from './fixtures';
import { ServiceProtocol, ExposeType } from '../../lib';
import { HttpBackend, httpRequest, tally, TcpBackend, tcpAsk } from './harness/backends';
import { claimSubnet, LivePod, LiveCluster, sleep, waitFor } from './harness/cluster';

jest.setTimeout(180_000);

/** Online proxies (`<pod>.<proxy>`) of one frps replica, from its own /metrics. */
async function onlineOn(pod: LivePod): Promise<string[]> {
  const r = await httpRequest({ host: pod.ip, port: 7500, path: '/metrics', timeoutMs: 3000 }).catch(() => undefined);
  const out: string[] = [];
  for (const m of (r?.body ?? '').matchAll(/^frp_server_proxy_counts_detailed\{([^}]*)\} (\S+)$/gm)) {
    const name = /name="([^"]*)"/.exec(m[1])?.[1];
    if (name && Number(m[2]) > 0) out.push(name);
  }
  return out.sort();
}

describe('live: HA frps (3 replicas)', () => {
  let cluster: LiveCluster | undefined;
  let backends: Backends | undefined;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    await backends?.closeAll();
  });

  test('members attach to every replica; killing one under load fails no request after the readiness window, nor does its return', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const web = [backends.address(), backends.address()];
    const db = [backends.address(), backends.address()];
    for (const [i, ip] of web.entries()) await backends.add(HttpBackend.start(`web-${i}`, ip, 8000));
    for (const [i, ip] of db.entries()) await backends.add(TcpBackend.start(`db-${i}`, ip, 5432));
    const manifests = bundleOf({
      web: {
        serverReplicas: 3,
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 2, endpoints: web.map((host) => ({ host, port: 8000 })) },
        expose: { type: ExposeType.DOMAIN, domain: 'web.example.test' },
      },
      db: {
        serviceType: ServiceProtocol.TCP,
        backends: { replicas: 2, endpoints: db.map((host) => ({ host, port: 5432 })) },
        expose: { type: ExposeType.PORT, port: 15432 },
      },
    });
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    const c = cluster;
    await c.waitAllReady(60_000); // HA replicas wait 25 s for their members (readiness initialDelaySeconds)
    const frps = c.podsWithImage('frps');
    expect(frps).toHaveLength(3);
    const frpcPods = c.podsWithImage('frpc');
    expect(frpcPods).toHaveLength(4); // 2 per service, each with 3 frpc containers
    for (const p of frpcPods) expect(p.containers.map((x) => x.spec.name)).toEqual(['frpc-0', 'frpc-1', 'frpc-2']);

    // every replica holds every group with all its members: 2 pods x 2 endpoints per service
    const expected = frpcPods.flatMap((p) => {
      const svc = p.workload.metadata.labels['frp.io/distributed-service'];
      return [0, 1].map((i) => `${p.namespace}.${p.name}.${svc}-${i}`); // frpc logs in as <namespace>.<pod>
    }).sort();
    for (const pod of frps) {
      await waitFor(`all 8 members on ${pod.name}`, async () => JSON.stringify(await onlineOn(pod)) === JSON.stringify(expected), 45_000)
        .catch(async (e) => { throw new Error(`${e.message}: has ${JSON.stringify(await onlineOn(pod))}\n${c.allLogs()}`); });
    }

    // load: http requests one after another, each recorded with when it started
    const vhost = c.address(vhostService(c), 'http');
    const results: { at: number; status: number; instance?: string }[] = [];
    let running = true;
    const load = (async () => {
      while (running) {
        const at = Date.now();
        const r = await httpRequest({ ...vhost, path: '/', headers: { host: 'web.example.test' }, timeoutMs: 5000 });
        results.push({ at, status: r.status, instance: r.answer?.instance });
      }
    })();
    try {
      await sleep(2_000);
      const victim = frps[1];
      c.killContainer(victim, 'frps');
      // the readiness window: the harness probes every 500 ms and marks an exited container unready at once
      await waitFor('the killed replica out of the endpoints', () => !c.isReady(victim), 5_000);
      const windowEnd = Date.now() + 1_000;
      // it restarts at once but stays unready for 25 s while its members log in again, then serves
      await waitFor('the restarted replica ready again', () => c.isReady(victim), 60_000);
      expect(await onlineOn(victim)).toEqual(expected);
      await sleep(3_000);
      running = false;
      await load;
      const before = results.filter((r) => r.at < windowEnd - 1_000);
      const after = results.filter((r) => r.at >= windowEnd);
      expect(before.length).toBeGreaterThan(20);
      expect(after.length).toBeGreaterThan(20);
      expect(tally(after.map((r) => String(r.status)))).toEqual({ 200: after.length });
      // the group still has all its members: both backends answer, in equal turns (frp http round robin)
      const t = tally(after.map((r) => r.instance ?? 'none'));
      expect(Object.keys(t).sort()).toEqual(['web-0', 'web-1']);
      expect(Math.abs(t['web-0'] - t['web-1'])).toBeLessThanOrEqual(Math.ceil(after.length * 0.2));
      // and so does the tcp group, on the remaining replicas
      const svc = c.address(remotePortService(c, 15432), 15432);
      const answers: string[] = [];
      for (let i = 0; i < 40; i++) answers.push((await tcpAsk({ ...svc, timeoutMs: 3000 })).split(' ')[0]);
      const tt = tally(answers);
      expect(Object.keys(tt).sort()).toEqual(['db-0', 'db-1']);
      expect((tt['db-0'] ?? 0) + (tt['db-1'] ?? 0)).toBe(40);
      // every replica holds every member again
      for (const pod of frps) expect(await onlineOn(pod)).toEqual(expected);
      // a deleted frpc pod leaves every replica gracefully: each container's preStop stops its own
      // frpc (its own config file and admin port), which closes its proxies on its replica
      const leaving = frpcPods.find((p) => p.workload.metadata.labels['frp.io/distributed-service'] === 'web')!;
      await c.deletePod(leaving, false);
      for (const x of leaving.containers) expect(c.logs(leaving, x.spec.name)).toContain('harness: preStop exited 0');
      for (const pod of frps) {
        const log = c.logs(pod);
        for (const i of [0, 1]) expect(log).toContain(`close proxy [${leaving.namespace}.${leaving.name}.web-${i}] success`);
      }
    } finally {
      running = false;
      await load;
    }
  });
});
