/**
 * Live: members come and go. A dead frpc pod leaves the group at once (frps drops its
 * control connection) and no request fails after that; the restarted container and a
 * replacement pod rejoin. An unhealthy backend leaves the group through frp's health
 * check and returns when it recovers.
 */
import { Backends, bundleOf, fixtureSecrets, joinedProxies, onlineProxies, vhostService } from './fixtures';
import { ServiceProtocol, ExposeType } from '../../lib';
import { HttpBackend, httpRequest, tally } from './harness/backends';
import { claimSubnet, LiveCluster, waitFor } from './harness/cluster';

jest.setTimeout(180_000);

describe('live: failover and health', () => {
  let cluster: LiveCluster | undefined;
  let backends: Backends;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    await backends?.closeAll();
  });

  test('a killed frpc pod leaves the group without failed requests, then rejoins; a replacement pod joins', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const ip = backends.address();
    await backends.add(HttpBackend.start('api-0', ip, 8000));
    const manifests = bundleOf({
      api: {
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 3, endpoints: [{ host: ip, port: 8000 }] },
        expose: { type: ExposeType.DOMAIN, domain: 'api.example.test' },
      },
    });
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    const c = cluster;
    await c.waitAllReady();
    const frpcPods = c.podsWithImage('frpc');
    expect(frpcPods).toHaveLength(3);
    const members = () => onlineProxies(c);
    const joined = () => joinedProxies(c);
    await waitFor('3 members joined', async () => (await joined()).length === 3, 30_000)
      .catch((e) => { throw new Error(`${e.message}: ${JSON.stringify(c.allLogs())}`); });
    // frps names members <namespace>.<pod>.<proxy>
    expect((await members()).map((m) => m.split('.').slice(0, 2).join('.')).sort()).toEqual(frpcPods.map((p) => `${p.namespace}.${p.name}`).sort());

    const vhost = c.address(vhostService(c), 'http');
    const ask = () => httpRequest({ ...vhost, path: '/', headers: { host: 'api.example.test' }, timeoutMs: 5000 });

    // kill one member's frpc (SIGKILL: no goodbye); frps notices the closed control connection.
    // The kubelet's back-off keeps it down for 20 s: the 60 requests run while it is gone, not
    // while it joins again (a member that joins can lose a request in frp itself: frps routes
    // to a proxy as it registers it, and frpc closes a work connection that arrives before it
    // has the registration's answer; README "Limits and decisions").
    const victim = frpcPods[0];
    c.killContainer(victim, 'frpc', 20_000);
    await waitFor('the dead member to leave the group', async () => !(await members()).some((m) => m.startsWith(`${victim.namespace}.${victim.name}.`)), 15_000);
    const during = [];
    for (let i = 0; i < 60; i++) during.push(await ask());
    const failed = during.map((r, i) => `#${i}: ${r.status} ${r.body.slice(0, 80)}`.trim()).filter((r) => !/^#\d+: 200\b/.test(r));
    if (failed.length > 0) throw new Error(`${failed.length} of 60 requests failed with the dead member gone: ${failed.join(', ')}\n${c.allLogs()}`);
    expect((await members()).some((m) => m.startsWith(`${victim.namespace}.${victim.name}.`))).toBe(false);

    // the kubelet restarts it; it logs in again as the same pod and rejoins
    await waitFor('the restarted member to rejoin', async () => (await joined()).some((m) => m.startsWith(`${victim.namespace}.${victim.name}.`)), 45_000);

    // a deleted pod is replaced by one with a new name, which joins as a new member
    const fresh = await c.deletePod(frpcPods[1]);
    await waitFor('the replacement pod to join', async () => {
      const m = await joined();
      return m.some((x) => x.startsWith(`${fresh!.namespace}.${fresh!.name}.`)) && !m.some((x) => x.startsWith(`${frpcPods[1].namespace}.${frpcPods[1].name}.`));
    }, 30_000);
    const after = [];
    for (let i = 0; i < 30; i++) after.push((await ask()).status);
    expect(tally(after.map(String))).toEqual({ 200: 30 });
  });

  test('an unhealthy backend leaves the group (frp health check) and returns on recovery', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const ips = [backends.address(), backends.address()];
    const b = [await backends.add(HttpBackend.start('api-0', ips[0], 8000)), await backends.add(HttpBackend.start('api-1', ips[1], 8000))];
    const manifests = bundleOf({
      api: {
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 1, endpoints: ips.map((host) => ({ host, port: 8000 })) },
        expose: { type: ExposeType.DOMAIN, domain: 'api.example.test' },
        loadBalancing: { healthCheck: { enabled: true, path: '/health', interval: '1s', timeout: '1s', failureThreshold: 2 } },
      },
    });
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    const c = cluster;
    await c.waitAllReady();
    const vhost = c.address(vhostService(c), 'http');
    const ask = () => httpRequest({ ...vhost, path: '/', headers: { host: 'api.example.test' }, timeoutMs: 5000 });
    const serving = async (n: number) => {
      const got = [];
      for (let i = 0; i < n; i++) got.push(await ask());
      return got;
    };
    await waitFor('both members joined', async () => (await joinedProxies(c)).length === 2, 30_000);
    expect(Object.keys(tally((await serving(10)).map((r) => r.answer?.instance ?? String(r.status)))).sort()).toEqual(['api-0', 'api-1']);

    b[1].healthy = false;
    await waitFor('the unhealthy member to leave', async () => (await onlineProxies(c)).length === 1, 20_000);
    const only = await serving(20);
    expect(tally(only.map((r) => r.answer?.instance ?? String(r.status)))).toEqual({ 'api-0': 20 });

    b[1].healthy = true;
    await waitFor('the recovered member to return', async () => (await joinedProxies(c)).length === 2, 20_000);
    expect(Object.keys(tally((await serving(10)).map((r) => r.answer?.instance ?? String(r.status)))).sort()).toEqual(['api-0', 'api-1']);
  });
});
