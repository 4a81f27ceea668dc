/**
 * Live: health checks where they mean something (issue 9 scenario 4 and defect 7).
 * A backend with no health endpoint is not dropped where frpc reaches the backends
 * through a Service address (selector discovery: frp checks tcp there) or the service is
 * tcp; a pod that turns unready leaves the Service (the readiness probe's job) while
 * every frp member stays. Where frp does check one backend on the seed's default path
 * (`/health`), the synth-time warning is true: such a backend's member never joins.
 * What the design rests on is checked too: frp v0.70.1 never resets a check's failure
 * count, so isolated failures add up over a member's life (if a later frp counts only
 * consecutive failures, that test fails and the choice can be revisited).
 * (A member leaving on a failed check and returning: failover.live.test.ts.)
 */
import { Chart } from 'cdk8s';
import { Backends, bundleOf, fixtureSecrets, joinedProxies, onlineProxies, remotePortService, vhostService } from './fixtures';
import { DiscoveryMode, ServiceProtocol, ExposeType, SynthWarnings } from '../../lib';
import { parseFrpTomlValues } from '../helpers';
import { HttpBackend, httpRequest, tally, TcpBackend, tcpAsk } from './harness/backends';
import { claimSubnet, LiveCluster, sleep, waitFor } from './harness/cluster';

jest.setTimeout(180_000);

/** Every frp check runs each second, so a few seconds are several checks. */
const FAST_CHECKS = { interval: '1s', timeout: '1s' };

/** frpc's warn line for a failed check (client/health/health.go), in the pods' frpc logs. */
const failedChecks = (c: LiveCluster) => c.podsWithImage('frpc').flatMap((p) => c.logs(p, 'frpc').split('\n')).filter((l) => /do one health check failed/.test(l));

/** The proxies of every frpc.toml in the bundle, by name. */
const frpcProxies = (manifests: readonly any[]) => Object.fromEntries(manifests
  .filter((m) => m.kind === 'ConfigMap' && m.data?.['frpc.toml'])
  .flatMap((m) => parseFrpTomlValues(m.data['frpc.toml']).proxies.map((p: any) => [p.name, p])));

describe('live: health checks (scenario 4, defect 7)', () => {
  let cluster: LiveCluster | undefined;
  let backends: Backends;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    await backends?.closeAll();
  });

  test('behind a Service address no member is dropped for a backend without /health; an unready pod leaves the Service, not the group', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    // http pods with no health endpoint (/health is 404), as many real backends are
    const webIps = [backends.address(), backends.address()];
    for (const [i, ip] of webIps.entries()) await backends.add(HttpBackend.start(`web-${i}`, ip, 8000, { healthPath: null }));
    // tcp pods: the readiness probe (played by the test) decides whether the Service sends to them
    const dbIps = [backends.address(), backends.address()];
    const dbReady = [true, true];
    for (const [i, ip] of dbIps.entries()) await backends.add(TcpBackend.start(`db-${i}`, ip, 5432));
    let chart: Chart | undefined;
    const manifests = bundleOf({
      // the seed's defaulting: health checks on, http on /health for an http service
      web: {
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 2, discovery: { mode: DiscoveryMode.SELECTOR, selector: { matchLabels: { app: 'web' } }, port: 8000 } },
        expose: { type: ExposeType.DOMAIN, domain: 'web.example.test' },
        loadBalancing: { healthCheck: FAST_CHECKS },
      },
      db: {
        serviceType: ServiceProtocol.TCP,
        backends: { replicas: 2, discovery: { mode: DiscoveryMode.SELECTOR, selector: { matchLabels: { app: 'db' } }, port: 5432 } },
        expose: { type: ExposeType.PORT, port: 15432 },
        loadBalancing: { healthCheck: FAST_CHECKS },
      },
    }, (c) => { chart = c; });
    // what was rendered: tcp checks on the Service address, and nothing to warn about
    const proxies = frpcProxies(manifests);
    expect(proxies.web.localIP).toMatch(/^web-backends\.apps\.svc$/);
    expect(proxies.web.healthCheck).toEqual({ type: 'tcp', intervalSeconds: 1, timeoutSeconds: 1, maxFailed: 3 });
    expect(proxies.db.healthCheck).toEqual({ type: 'tcp', intervalSeconds: 1, timeoutSeconds: 1, maxFailed: 3 });
    expect(SynthWarnings.of(chart!)).toEqual([]);

    cluster = await LiveCluster.start(manifests, {
      subnet,
      secrets: fixtureSecrets(),
      externalPods: [
        ...webIps.map((ip, i) => backends.pod(`web-${i}`, ip, { app: 'web' })),
        ...dbIps.map((ip, i) => backends.pod(`db-${i}`, ip, { app: 'db' }, () => dbReady[i])),
      ],
    });
    const c = cluster;
    await c.waitAllReady();
    const members = async (svc: string) => (await joinedProxies(c)).filter((m) => m.endsWith(`.${svc}`)).length;
    await waitFor('2 web and 2 db members joined', async () => await members('web') === 2 && await members('db') === 2, 30_000)
      .catch(async (e) => { throw new Error(`${e.message}: ${(await onlineProxies(c)).join(', ')}\n${c.allLogs()}`); });

    const vhost = c.address(vhostService(c), 'http');
    const web = async (n: number) => {
      const got = [];
      for (let i = 0; i < n; i++) got.push(await httpRequest({ ...vhost, path: '/', headers: { host: 'web.example.test' }, timeoutMs: 5000 }));
      return got;
    };
    const dbAddress = c.address(remotePortService(c, 15432), 15432);
    const db = async (n: number) => {
      const got = [];
      for (let i = 0; i < n; i++) got.push((await tcpAsk({ ...dbAddress, timeoutMs: 5000 })).split(' ')[0]);
      return tally(got);
    };
    const webAnswers = await web(20);
    expect(webAnswers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect(webAnswers.every((r) => ['web-0', 'web-1'].includes(r.answer!.instance))).toBe(true);
    // each tcp connection is dialled anew through the Service: both pods answer
    expect(Object.keys(await db(20)).sort()).toEqual(['db-0', 'db-1']);

    // db-1 turns unready: the Service stops sending to it, and no frp member leaves
    dbReady[1] = false;
    expect(await db(20)).toEqual({ 'db-0': 20 });
    // several check intervals later every member is still in its group, and no check failed
    await sleep(5_000);
    expect([await members('web'), await members('db')]).toEqual([2, 2]);
    expect((await web(10)).map((r) => r.status)).toEqual(Array(10).fill(200));
    dbReady[1] = true;
    expect(Object.keys(await db(20)).sort()).toEqual(['db-0', 'db-1']);
    expect(failedChecks(c)).toEqual([]);
  });

  test('the seed\'s default path on a backend without it: the synth-time warning names the service, and live its member indeed never joins', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const ips = [backends.address(), backends.address()];
    // neither backend has /health; both answer 200 on /
    for (const [i, ip] of ips.entries()) await backends.add(HttpBackend.start(`api-${i}`, ip, 8000, { healthPath: null }));
    let chart: Chart | undefined;
    const manifests = bundleOf({
      api: {
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 1, endpoints: [{ host: ips[0], port: 8000 }] },
        expose: { type: ExposeType.DOMAIN, domain: 'api.example.test' },
        loadBalancing: { healthCheck: FAST_CHECKS },
      },
      // the same, with a path the backend has: no warning, and it serves
      own: {
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 1, endpoints: [{ host: ips[1], port: 8000 }] },
        expose: { type: ExposeType.DOMAIN, domain: 'own.example.test' },
        loadBalancing: { healthCheck: { ...FAST_CHECKS, path: '/' } },
      },
    }, (c) => { chart = c; });
    const warnings = SynthWarnings.of(chart!);
    expect(warnings).toEqual([expect.stringMatching(/^live\/api: spec\.loadBalancing\.healthCheck\.path: not set, so frpc checks every backend with GET \/health \(the specification's default\); a backend without that path never passes, and its group member never joins/)]);

    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    const c = cluster;
    await c.waitAllReady();
    const vhost = c.address(vhostService(c), 'http');
    const ask = (host: string) => httpRequest({ ...vhost, path: '/', headers: { host }, timeoutMs: 5000 });
    await waitFor('the member with a real health path to serve', async () => (await ask('own.example.test')).status === 200, 30_000)
      .catch((e) => { throw new Error(`${e.message}\n${c.allLogs()}`); });
    // frpc has checked api's backend several times, and each check failed: 404 on /health
    // (frpc logs `[api-0] do one health check failed: ... StatusCode is [404] not 2xx`)
    const apiFailures = () => failedChecks(c).filter((l) => l.includes('[api-0]') && l.includes('StatusCode is [404]'));
    await waitFor('3 failed checks of api (404)', () => apiFailures().length >= 3, 30_000);
    const online = await onlineProxies(c);
    expect(online.some((m) => m.endsWith('.own-0'))).toBe(true);
    expect(online.some((m) => m.endsWith('.api-0'))).toBe(false);
    // frps has no route for the service whose member never joined, although its backend is up
    expect((await ask('api.example.test')).status).toBe(404);
    expect((await httpRequest({ host: ips[0], port: 8000, path: '/', timeoutMs: 3000 })).answer?.instance).toBe('api-0');
  });
  test('what the design rests on: frp v0.70.1 never resets a check\'s failure count (two isolated failures, many successes apart, drop a member with maxFailed 2)', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const ip = backends.address();
    const b = await backends.add(HttpBackend.start('api-0', ip, 8000));
    const manifests = bundleOf({
      api: {
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 1, endpoints: [{ host: ip, port: 8000 }] },
        expose: { type: ExposeType.DOMAIN, domain: 'api.example.test' },
        loadBalancing: { healthCheck: { ...FAST_CHECKS, path: '/health', failureThreshold: 2 } },
      },
    });
    expect(frpcProxies(manifests)['api-0'].healthCheck).toEqual({ type: 'http', path: '/health', intervalSeconds: 1, timeoutSeconds: 1, maxFailed: 2 });
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    const c = cluster;
    await c.waitAllReady();
    await waitFor('the member online', async () => (await onlineProxies(c)).length === 1, 30_000);
    // frpc logs each change of a check's state (client/health/health.go)
    const changedToFailed = () => c.podsWithImage('frpc').flatMap((p) => c.logs(p, 'frpc').split('\n')).filter((l) => l.includes('health check status change to failed'));
    const checksSeen = async (n: number) => { const until = b.healthChecks + n; await waitFor(`${n} more checks`, () => b.healthChecks >= until, 30_000); };

    // one failure, then successes: below maxFailed, the member stays
    b.failNextChecks = 1;
    await checksSeen(4);
    expect(changedToFailed()).toEqual([]);
    // one more isolated failure, three successes later: with consecutive counting it would stay,
    // but frp v0.70.1 counts the first one too (2 >= maxFailed) and takes the member out
    b.failNextChecks = 1;
    await checksSeen(2);
    await waitFor('the member to leave on the second isolated failure', () => changedToFailed().length === 1, 10_000);
    // and it returns on its next success
    await waitFor('the member back', async () => (await onlineProxies(c)).length === 1, 30_000);
  });
});
