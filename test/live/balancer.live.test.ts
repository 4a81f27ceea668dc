/**
 * Live: the balancer tier end to end (client -> frps -> frpc -> HAProxy -> backends), all
 * from the rendered bundle. ip-hash pins each client address to one backend (so the real
 * client address crosses frp: X-Forwarded-For on http, PROXY v2 on tcp); cookie affinity
 * pins a session; least-conn avoids a busy backend; API keys answer 401/200; JWT roles
 * answer 401/403/200.
 */
import { generateKeyPairSync } from 'crypto';
import { Backends, bundleOf, fixtureSecrets, NS, joinedProxies, remotePortService, vhostService } from './fixtures';
import {
  AuthenticationType, DiscoveryMode, ServiceProtocol, ExposeServiceType, ExposeType, ExternalTrafficPolicy, HttpMethod, LoadBalancingAlgorithm,
} from '../../lib';
import { HttpBackend, httpRequest, TcpBackend, tcpAsk } from './harness/backends';
import { claimSubnet, LiveCluster, waitFor } from './harness/cluster';
import { signJwt } from '../balancer/net-helpers';

jest.setTimeout(180_000);

describe('live: balancer tier', () => {
  let cluster: LiveCluster | undefined;
  let backends: Backends;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    await backends?.closeAll();
  });

  async function httpBackends(n: number, subnetBase: number): Promise<{ ips: string[]; servers: HttpBackend[] }> {
    backends = new Backends(subnetBase);
    const ips = Array.from({ length: n }, () => backends.address());
    const servers = [];
    for (const [i, ip] of ips.entries()) servers.push(await backends.add(HttpBackend.start(`b${i}`, ip, 8000)));
    return { ips, servers };
  }

  async function tunnelUp(c: LiveCluster, members: number): Promise<void> {
    await c.waitAllReady();
    await waitFor(`${members} frp members joined`, async () => (await joinedProxies(c)).length >= members, 30_000)
      .catch((e) => { throw new Error(`${e.message}\n${c.allLogs()}`); });
  }

  test('http ip-hash pins each client address to one backend; API keys answer 401 without a valid key', async () => {
    const subnet = await claimSubnet();
    const { ips } = await httpBackends(3, subnet.base);
    const manifests = bundleOf({
      api: {
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 2, endpoints: ips.map((host) => ({ host, port: 8000 })) },
        expose: { type: ExposeType.DOMAIN, domain: 'api.example.test' },
        loadBalancing: { algorithm: LoadBalancingAlgorithm.IP_HASH },
        security: { authentication: { type: AuthenticationType.API_KEY, tokenSecret: 'api-keys' } },
      },
    });
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets({ [`${NS}/api-keys`]: { keys: 'key-one\nkey-two\n' } }) });
    const c = cluster;
    await tunnelUp(c, 2);
    const vhost = c.address(vhostService(c), 'http');
    const ask = (headers: Record<string, string>, localAddress?: string) => httpRequest({ ...vhost, headers: { host: 'api.example.test', ...headers }, localAddress });
    await waitFor('the balancer answering', async () => (await ask({ 'x-api-key': 'key-one' })).status === 200, 20_000)
      .catch((e) => { throw new Error(`${e.message}\n${c.allLogs()}`); });

    expect((await ask({})).status).toBe(401);
    expect((await ask({ 'x-api-key': 'wrong' })).status).toBe(401);
    expect((await ask({ 'x-api-key': 'key-two' })).status).toBe(200);

    const pinned = new Map<string, Set<string>>();
    for (let i = 0; i < 12; i++) {
      const client = c.clientAddress();
      const seen = new Set<string>();
      for (let k = 0; k < 5; k++) {
        const r = await ask({ 'x-api-key': 'key-one' }, client);
        expect(r.status).toBe(200);
        seen.add(r.answer!.instance);
      }
      pinned.set(client, seen);
    }
    // every client stays on one backend, and the clients are spread (the hash sees their own addresses)
    expect([...pinned.values()].every((s) => s.size === 1)).toBe(true);
    expect(new Set([...pinned.values()].map((s) => [...s][0])).size).toBeGreaterThanOrEqual(2);
  });

  test('cookie affinity pins a session; JWT roles answer 401, 403 and 200', async () => {
    const subnet = await claimSubnet();
    const { ips } = await httpBackends(3, subnet.base);
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const manifests = bundleOf({
      web: {
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 1, endpoints: ips.map((host) => ({ host, port: 8000 })) },
        expose: { type: ExposeType.DOMAIN, domain: 'web.example.test' },
        loadBalancing: { sessionAffinity: { enabled: true, timeout: '10m', cookieName: 'sticky' } },
        security: {
          authentication: { type: AuthenticationType.OAUTH2, tokenSecret: 'jwt-key' },
          authorization: { enabled: true, rules: [{ path: '/admin', methods: [HttpMethod.GET], roles: ['admin'] }, { path: '/', methods: [HttpMethod.GET], roles: ['user', 'admin'] }] },
        },
      },
    });
    cluster = await LiveCluster.start(manifests, {
      subnet,
      secrets: fixtureSecrets({ [`${NS}/jwt-key`]: { 'public-key.pem': publicKey.export({ type: 'spki', format: 'pem' }).toString() } }),
    });
    const c = cluster;
    await tunnelUp(c, 1);
    const vhost = c.address(vhostService(c), 'http');
    const now = Math.floor(Date.now() / 1000);
    const token = (roles: string[]) => signJwt(privateKey, { sub: 'u', roles, exp: now + 600 });
    const ask = (path: string, headers: Record<string, string> = {}) => httpRequest({ ...vhost, path, headers: { host: 'web.example.test', ...headers } });
    const user = { authorization: `Bearer ${token(['user'])}` };
    await waitFor('the balancer answering', async () => (await ask('/', user)).status === 200, 20_000)
      .catch((e) => { throw new Error(`${e.message}\n${c.allLogs()}`); });

    expect((await ask('/')).status).toBe(401);
    expect((await ask('/', { authorization: 'Bearer not.a.jwt' })).status).toBe(401);
    expect((await ask('/admin', user)).status).toBe(403);
    expect((await ask('/admin', { authorization: `Bearer ${token(['admin'])}` })).status).toBe(200);

    // each new session gets a cookie; with it, every request lands on the same backend
    const sessions: string[] = [];
    for (let i = 0; i < 9; i++) {
      const first = await ask('/', user);
      const cookie = String(first.headers['set-cookie'] ?? '').split(';')[0];
      expect(cookie).toMatch(/^sticky=/);
      const seen = new Set<string>([first.answer!.instance]);
      for (let k = 0; k < 5; k++) seen.add((await ask('/', { ...user, cookie })).answer!.instance);
      expect(seen.size).toBe(1);
      sessions.push([...seen][0]);
    }
    expect(new Set(sessions).size).toBeGreaterThanOrEqual(2);
  });

  test('http least-conn sends new requests away from a busy backend (one balancer replica)', async () => {
    const subnet = await claimSubnet();
    const { ips, servers } = await httpBackends(2, subnet.base);
    const manifests = bundleOf({
      llm: {
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 1, endpoints: ips.map((host) => ({ host, port: 8000 })) },
        expose: { type: ExposeType.DOMAIN, domain: 'llm.example.test' },
        loadBalancing: { algorithm: LoadBalancingAlgorithm.LEAST_CONN },
      },
    });
    // least-conn counts connections per HAProxy process: observe it in one replica
    const balancer = manifests.find((o) => o.kind === 'Deployment' && o.spec.template.spec.containers.some((x: any) => /haproxy/.test(x.image)));
    balancer.spec.replicas = 1;
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    const c = cluster;
    await tunnelUp(c, 1);
    const vhost = c.address(vhostService(c), 'http');
    const ask = (path: string) => httpRequest({ ...vhost, path, headers: { host: 'llm.example.test' }, timeoutMs: 20_000 });
    await waitFor('the balancer answering', async () => (await ask('/')).status === 200, 20_000);

    const slow = ask('/generate?delay=4000');
    await waitFor('the slow request to reach a backend', () => servers.some((s) => s.inflight > 0), 5_000);
    const busy = servers.find((s) => s.inflight > 0)!.instance;
    const quick = [];
    for (let i = 0; i < 6; i++) quick.push((await ask('/quick')).answer!.instance);
    const r = await slow;
    expect(r.status).toBe(200);
    expect(quick.filter((q) => q === busy)).toEqual([]);
  });

  test('tcp ip-hash: the real client address crosses frp (PROXY v2) and pins each client', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const ips = [backends.address(), backends.address(), backends.address()];
    for (const [i, ip] of ips.entries()) await backends.add(TcpBackend.start(`t${i}`, ip, 5432));
    const manifests = bundleOf({
      pg: {
        serviceType: ServiceProtocol.TCP,
        backends: { replicas: 2, endpoints: ips.map((host) => ({ host, port: 5432 })) },
        expose: { type: ExposeType.PORT, port: 25432 },
        loadBalancing: { algorithm: LoadBalancingAlgorithm.IP_HASH },
      },
    });
    const frpc = manifests.find((o) => o.kind === 'ConfigMap' && o.data?.['frpc.toml']).data['frpc.toml'];
    expect(frpc).toMatch(/proxyProtocolVersion = "v2"/);
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    const c = cluster;
    await tunnelUp(c, 2);
    const svc = c.address(remotePortService(c, 25432), 25432);
    await waitFor('the balancer answering', async () => /^t\d /.test(await tcpAsk({ ...svc, timeoutMs: 1000 })), 20_000)
      .catch((e) => { throw new Error(`${e.message}\n${c.allLogs()}`); });
    const pinned: string[][] = [];
    const clients: string[] = [];
    for (let i = 0; i < 12; i++) {
      const client = c.clientAddress();
      clients.push(client);
      const seen = new Set<string>();
      for (let k = 0; k < 4; k++) seen.add((await tcpAsk({ ...svc, localAddress: client })).split(' ')[0]);
      pinned.push([...seen]);
    }
    expect(pinned.every((s) => s.length === 1)).toBe(true);
    expect(new Set(pinned.map((s) => s[0])).size).toBeGreaterThanOrEqual(2);
    // HAProxy logged the clients' own addresses, which only the PROXY v2 header carries
    const haproxyLogs = c.podsWithImage('haproxy').map((p) => c.logs(p)).join('\n');
    expect(clients.filter((a) => !haproxyLogs.includes(a))).toEqual([]);
  });

  test('tcp source affinity over two HAProxy replicas (issue 9 defect 10): the replicas share the stick table, so each client stays on one backend whichever replica it reaches', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const ips = [backends.address(), backends.address(), backends.address()];
    for (const [i, ip] of ips.entries()) await backends.add(TcpBackend.start(`t${i}`, ip, 5432));
    const manifests = bundleOf({
      pg: {
        serviceType: ServiceProtocol.TCP,
        backends: { replicas: 2, discovery: { mode: DiscoveryMode.SELECTOR, selector: { matchLabels: { app: 'pg' } }, port: 5432 } },
        expose: { type: ExposeType.PORT, port: 25433 },
        // random picks: two replicas with tables of their own would pin a client twice, differently
        loadBalancing: { algorithm: LoadBalancingAlgorithm.RANDOM, sessionAffinity: { enabled: true, timeout: '10m' } },
      },
    });
    const sts = manifests.find((o) => o.kind === 'StatefulSet');
    expect(sts.spec.replicas).toBe(2);
    expect(manifests.filter((o) => o.kind === 'Service' && /-peer-\d$/.test(o.metadata.name))).toHaveLength(2);
    cluster = await LiveCluster.start(manifests, {
      subnet,
      secrets: fixtureSecrets(),
      externalPods: ips.map((ip, i) => backends.pod(`pg-${i}`, ip, { app: 'pg' })),
    });
    const c = cluster;
    await tunnelUp(c, 2);
    expect(c.podsWithImage('haproxy').map((p) => p.name).sort()).toEqual(['pg-balancer-0', 'pg-balancer-1']);
    const svc = c.address(remotePortService(c, 25433), 25433);
    const answer = async (client: string) => (await tcpAsk({ ...svc, localAddress: client, timeoutMs: 3000 })).split(' ')[0];
    // the replicas have connected to each other once a client stays pinned over many connections
    const probe = c.clientAddress();
    await waitFor('the replicas to share their table', async () => {
      const seen = new Set<string>();
      for (let k = 0; k < 6; k++) seen.add(await answer(probe));
      return seen.size === 1 && /^t\d$/.test([...seen][0]);
    }, 30_000).catch((e) => { throw new Error(`${e.message}\n${c.allLogs()}`); });

    const pinned: string[][] = [];
    for (let i = 0; i < 12; i++) {
      const client = c.clientAddress();
      const seen = new Set<string>([await answer(client)]);
      // the replica that saw the client pushes the entry to its peer at once; give it a moment
      await new Promise((r) => setTimeout(r, 200));
      for (let k = 0; k < 6; k++) seen.add(await answer(client));
      pinned.push([...seen]);
    }
    expect(pinned.filter((s) => s.length !== 1)).toEqual([]);
    expect(new Set(pinned.map((s) => s[0])).size).toBeGreaterThanOrEqual(2);
    // both replicas took connections (kube-proxy spread them), so the table really was shared
    for (const p of c.podsWithImage('haproxy')) expect(c.logs(p)).toMatch(/fe_pg be_pg\/srv\d/);
  });

  test.each([
    ['the default (externalTrafficPolicy Local): each client keeps its own address and backend, clients spread', undefined],
    ['externalTrafficPolicy Cluster (the node masquerades): every client arrives as the node, all on one backend', ExternalTrafficPolicy.CLUSTER],
  ])('tcp ip-hash behind a LoadBalancer Service (issue 9 defect 10), %s', async (_name, policy) => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const ips = [backends.address(), backends.address(), backends.address()];
    for (const [i, ip] of ips.entries()) await backends.add(TcpBackend.start(`t${i}`, ip, 5432));
    const manifests = bundleOf({
      pg: {
        serviceType: ServiceProtocol.TCP,
        backends: { replicas: 1, endpoints: ips.map((host) => ({ host, port: 5432 })) },
        expose: { type: ExposeType.PORT, port: 25434, serviceType: ExposeServiceType.LOAD_BALANCER, externalTrafficPolicy: policy },
        loadBalancing: { algorithm: LoadBalancingAlgorithm.IP_HASH },
      },
    });
    const exposed = manifests.find((o) => o.kind === 'Service' && o.metadata.name === 'pg');
    expect(exposed.spec).toMatchObject({ type: 'LoadBalancer', externalTrafficPolicy: policy ?? 'Local' });
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    const c = cluster;
    await tunnelUp(c, 1);
    const svc = c.address(c.service('pg'), 25434);
    await waitFor('the balancer answering', async () => /^t\d /.test(await tcpAsk({ ...svc, timeoutMs: 1000 })), 20_000)
      .catch((e) => { throw new Error(`${e.message}\n${c.allLogs()}`); });
    const pinned: string[][] = [];
    const clients: string[] = [];
    for (let i = 0; i < 12; i++) {
      const client = c.clientAddress();
      clients.push(client);
      const seen = new Set<string>();
      for (let k = 0; k < 3; k++) seen.add((await tcpAsk({ ...svc, localAddress: client })).split(' ')[0]);
      pinned.push([...seen]);
    }
    expect(pinned.every((s) => s.length === 1)).toBe(true);
    const backendsUsed = new Set(pinned.map((s) => s[0])).size;
    const haproxyLogs = c.podsWithImage('haproxy').map((p) => c.logs(p)).join('\n');
    if (policy === undefined) {
      // the balancer saw the clients' own addresses (PROXY v2 from frpc carries what frps saw) and spread them
      expect(clients.filter((a) => !haproxyLogs.includes(a))).toEqual([]);
      expect(backendsUsed).toBeGreaterThanOrEqual(2);
    } else {
      expect(clients.filter((a) => haproxyLogs.includes(a))).toEqual([]);
      expect(haproxyLogs).toContain(c.nodeAddress);
      expect(backendsUsed).toBe(1);
    }
  });
});
