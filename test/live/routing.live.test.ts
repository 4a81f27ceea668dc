/**
 * Live: the rendered bundle runs (real frps/frpc v0.70.1) and carries traffic: http by
 * domain + path and by subdomain through the frps vhost, tcp by remote port, udp; the
 * group spreads requests over every member, and weights give their ratio.
 */
import { Backends, bundleOf, fixtureSecrets, NS, remotePortService, vhostService } from './fixtures';
import { DiscoveryMode, ServiceProtocol, ExposeType, LoadBalancingAlgorithm } from '../../lib';
import { HttpBackend, httpRequest, tally, TcpBackend, tcpAsk, UdpBackend, udpAsk } from './harness/backends';
import { claimSubnet, LiveCluster, waitFor } from './harness/cluster';

jest.setTimeout(120_000);

describe('live: routing through real frp', () => {
  let cluster: LiveCluster | undefined;
  let backends: Backends;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    await backends?.closeAll();
  });

  test('http by domain + path and by subdomain; every group member serves', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const api = [backends.address(), backends.address()];
    const web = backends.address();
    for (const [i, ip] of api.entries()) await backends.add(HttpBackend.start(`api-${i}`, ip, 8000));
    await backends.add(HttpBackend.start('web-0', web, 8000));
    const manifests = bundleOf({
      api: {
        subDomainHost: 'apps.example.test',
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 1, endpoints: api.map((host) => ({ host, port: 8000 })) },
        expose: { type: ExposeType.PATH, domain: 'api.example.test', path: '/v1' },
      },
      web: {
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 2, discovery: { mode: DiscoveryMode.SELECTOR, selector: { matchLabels: { app: 'web' } }, port: 8000 } },
        expose: { type: ExposeType.SUBDOMAIN, subdomain: 'www' },
      },
    }, undefined);
    cluster = await LiveCluster.start(manifests, {
      subnet,
      secrets: fixtureSecrets(),
      externalPods: [backends.pod('web-0', web, { app: 'web' })],
    });
    await cluster.waitAllReady();
    const vhost = cluster.address(vhostService(cluster), 'http');

    const ask = (host: string, path: string) => httpRequest({ ...vhost, path, headers: { host } });
    // the route works once frpc has registered (the group fills as members log in)
    const seen = new Set<string>();
    for (let i = 0; i < 100 && seen.size < 2; i++) {
      const r = await ask('api.example.test', '/v1/models');
      if (r.answer) seen.add(r.answer.instance);
      else await new Promise((res) => setTimeout(res, 200));
    }
    expect([...seen].sort()).toEqual(['api-0', 'api-1']);
    // a path outside the location is not routed to the service
    expect((await ask('api.example.test', '/other')).status).toBe(404);
    // an unknown host is not routed
    expect((await ask('nope.example.test', '/v1')).status).toBe(404);
    // http round robin per request: 40 requests, 20 each
    const replies = [];
    for (let i = 0; i < 40; i++) replies.push(await ask('api.example.test', '/v1/x'));
    expect(replies.every((r) => r.status === 200)).toBe(true);
    expect(tally(replies.map((r) => r.answer!.instance))).toEqual({ 'api-0': 20, 'api-1': 20 });

    // subdomain: <subdomain>.<subDomainHost>
    const frps = cluster.manifests.find((o) => o.kind === 'ConfigMap' && o.data?.['frps.toml']).data['frps.toml'];
    const subDomainHost = /subDomainHost = "([^"]+)"/.exec(frps)?.[1];
    expect(subDomainHost).toBeDefined();
    const www = await ask(`www.${subDomainHost}`, '/');
    expect(www.answer?.instance).toBe('web-0');
  });

  test('tcp by remote port: weighted 3:1 gives 75 % ± 5 % of 400 connections', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const heavy = backends.address();
    const light = backends.address();
    await backends.add(TcpBackend.start('heavy', heavy, 5432));
    await backends.add(TcpBackend.start('light', light, 5432));
    const manifests = bundleOf({
      pg: {
        serviceType: ServiceProtocol.TCP,
        backends: { replicas: 1, endpoints: [{ host: heavy, port: 5432, weight: 3 }, { host: light, port: 5432, weight: 1 }] },
        expose: { type: ExposeType.PORT, port: 15432 },
        loadBalancing: { algorithm: LoadBalancingAlgorithm.WEIGHTED },
      },
    });
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    await cluster.waitAllReady();
    const svc = cluster.address(remotePortService(cluster, 15432), 15432);
    // wait until all four members (3 + 1) have registered: frps logs each
    const frpsPod = cluster.podsWithImage('frps')[0];
    await waitFor('4 group members registered', () => (cluster!.logs(frpsPod).match(/new proxy \[.*pg-/g) ?? []).length >= 4, 30_000)
      .catch((e) => { throw new Error(`${e.message}\n${cluster!.allLogs()}`); });
    // every connection answered by a member (15 s each: CI runs this beside other suites on
    // 2 cores); on a failure, the answers that were not a member's and frp's logs say why
    const replies: string[] = [];
    for (let i = 0; i < 400; i++) replies.push(await tcpAsk({ ...svc, timeoutMs: 15_000 }));
    const t = tally(replies.map((r) => r.split(' ')[0]));
    const others = replies.map((r, i) => `#${i}: ${r}`).filter((r) => !/^#\d+: (heavy|light) /.test(r));
    if (others.length > 0) throw new Error(`${others.length} of 400 connections not answered by a member: ${others.join(', ')}\n${cluster.allLogs()}`);
    expect(t.heavy / 400).toBeGreaterThanOrEqual(0.70);
    expect(t.heavy / 400).toBeLessThanOrEqual(0.80);
  });

  test('udp by remote port', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const dnsIp = backends.address();
    await backends.add(UdpBackend.start('dns-0', dnsIp, 5353));
    const manifests = bundleOf({
      dns: {
        serviceType: ServiceProtocol.UDP,
        backends: { endpoints: [{ host: dnsIp, port: 5353 }] },
        expose: { type: ExposeType.PORT, port: 15353 },
      },
    });
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    await cluster.waitAllReady();
    const svc = cluster.address(remotePortService(cluster, 15353), 15353);
    let answer = 'timeout';
    for (let i = 0; i < 50 && answer === 'timeout'; i++) answer = await udpAsk({ ...svc, timeoutMs: 500 });
    expect(answer.split(' ')[0]).toBe('dns-0');
    void NS;
  });
});

describe('live: udp over several endpoints (nginx stream balancer)', () => {
  let cluster: LiveCluster | undefined;
  let backends: Backends;
  afterAll(async () => {
    await cluster?.stop();
    await backends?.closeAll();
  });

  test('datagrams through frps and frpc reach every endpoint via the nginx tier', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const ips = [backends.address(), backends.address()];
    for (const [i, ip] of ips.entries()) await backends.add(UdpBackend.start(`u${i}`, ip, 5353));
    const manifests = bundleOf({
      dns: {
        serviceType: ServiceProtocol.UDP,
        backends: { endpoints: ips.map((host) => ({ host, port: 5353 })) },
        expose: { type: ExposeType.PORT, port: 15353 },
      },
    });
    expect(manifests.some((o) => o.kind === 'Deployment' && o.spec.template.spec.containers.some((x: any) => /nginx/.test(x.image)))).toBe(true);
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    const c = cluster;
    await c.waitAllReady();
    const svc = c.address(remotePortService(c, 15353), 15353);
    const seen = new Set<string>();
    for (let i = 0; i < 80 && seen.size < 2; i++) {
      const a = await udpAsk({ ...svc, localAddress: c.clientAddress(), timeoutMs: 500 });
      if (a !== 'timeout') seen.add(a.split(' ')[0]);
    }
    expect([...seen].sort()).toEqual(['u0', 'u1']);
  });
});
