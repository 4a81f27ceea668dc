/**
 * Live (issue 9, defects 5 and 6): the spec's response timeout, not frp's 60 s default,
 * decides how long frps waits for an answer; behind an Ingress that terminates TLS the
 * backend sees `X-Forwarded-Proto: https` although frps rewrites the header.
 * (The Ingress itself is not run here: its timeout annotations are asserted in
 * test/service/distributed-service.test.ts.)
 */
import { Backends, bundleOf, fixtureSecrets, vhostService } from './fixtures';
import { ServiceProtocol, ExposeType } from '../../lib';
import { HttpBackend, httpRequest } from './harness/backends';
import { claimSubnet, LiveCluster, waitFor } from './harness/cluster';

jest.setTimeout(120_000);

describe('live: http answers through frps', () => {
  let cluster: LiveCluster | undefined;
  let backends: Backends;
  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
    await backends?.closeAll();
  });

  test('a 4 s spec timeout: an answer in 2 s arrives, one in 7 s is cut with 504; the backend sees https', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const ip = backends.address();
    await backends.add(HttpBackend.start('llm-0', ip, 8000));
    const manifests = bundleOf({
      llm: {
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 1, endpoints: [{ host: ip, port: 8000 }] },
        expose: { type: ExposeType.DOMAIN, domain: 'llm.example.test', ingressTlsSecret: 'llm-tls' },
        loadBalancing: { healthCheck: { enabled: false } },
        advanced: { timeout: { keepAlive: '4s' }, connectionPool: { idleTimeout: '4s' } },
      },
    });
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    await cluster.waitAllReady();
    const vhost = cluster.address(vhostService(cluster), 'http');
    const ask = (delayMs: number) => httpRequest({ ...vhost, path: `/v1/chat?delay=${delayMs}`, headers: { host: 'llm.example.test' }, timeoutMs: 30_000 });
    await waitFor('the route', async () => (await ask(0)).status === 200, 30_000);

    const inTime = await ask(2_000);
    expect(inTime.status).toBe(200);
    // frps sets X-Forwarded-Proto from its own plain-http listener; the route's header puts https back
    expect(inTime.answer?.headers['x-forwarded-proto']).toBe('https');
    // frp's default (60 s) would let this one through
    expect((await ask(7_000)).status).toBe(504);
  });
});
