// Functional tests: the rendered haproxy.cfg runs in the real Debian haproxy, on the test's
// own loopback address (test/helpers/loopback.ts), in front of small Node backends. Every loop is bounded and every wait has a timeout;
// haproxy is always stopped (finally + afterAll + process exit hook).
import { generateKeyPairSync } from 'crypto';
import * as dgram from 'dgram';
import * as http2 from 'http2';
import { Duration } from 'cdk8s';
import { HaproxyHarness, RunningProcess, sleep } from './haproxy-harness';
import * as net from './net-helpers';
import { dnsAnswer, HttpBackend, proxyV2Header, rawExchange, signJwt, tally } from './net-helpers';
import {
  EndUserAuthentication, HaproxyAffinity, HaproxyBalance, HaproxyConfig, HaproxyMode, HaproxyServiceOptions, HaproxyTargets,
} from '../../lib/balancer';
import { HealthCheckType, HttpMethod } from '../../lib/spec';
import { useLoopback } from '../helpers/loopback';

jest.setTimeout(20_000);

const h = HaproxyHarness.create();
afterAll(() => h.cleanup());
const loopback = useLoopback();

/** Requests go to haproxy on the test's own address unless they name another. */
const request = (o: net.RequestOptions) => net.request({ host: loopback.host, ...o });
const sequential = (n: number, o: net.RequestOptions) => net.sequential(n, { host: loopback.host, ...o });

interface Running {
  readonly port: number;
  readonly metricsPort: number;
  readonly healthPort: number;
  readonly haproxy: RunningProcess;
}

/**
 * Renders a config with one service `web` on the test's address in front of `backends`, starts
 * haproxy, runs `fn`, and always stops haproxy and the backends.
 */
async function withHaproxy(
  backends: HttpBackend[],
  service: Partial<HaproxyServiceOptions>,
  fn: (r: Running) => Promise<void>,
): Promise<void> {
  const [port, metricsPort, healthPort] = await loopback.ports(3);
  const config = new HaproxyConfig({
    services: [{
      name: 'web',
      port,
      bindAddress: loopback.host,
      targets: HaproxyTargets.endpoints(backends.map(b => ({ host: '127.0.0.1', port: b.port }))),
      ...service,
    }],
    metrics: { port: metricsPort },
    healthEndpoint: { port: healthPort },
    adminBindAddress: loopback.host,
    timeouts: { connect: Duration.seconds(1), client: Duration.seconds(5), server: Duration.seconds(5) },
  });
  let haproxy: RunningProcess | undefined;
  try {
    haproxy = await h.start(config.render(), healthPort, loopback.host);
    await fn({ port, metricsPort, healthPort, haproxy });
  } finally {
    await haproxy?.stop();
    await Promise.all(backends.map(b => b.close()));
  }
}

async function startBackends(n: number): Promise<HttpBackend[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => HttpBackend.start(`b${i + 1}`)));
}

/** Polls `probe` every 20 ms until it returns true; fails after `timeoutMs`. */
async function until(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await sleep(20);
  }
  throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
}

async function serverState(metricsPort: number, server: string): Promise<string | undefined> {
  const body = (await request({ port: metricsPort, path: '/metrics' })).body;
  const m = body.match(new RegExp(`^haproxy_server_status\\{proxy="be_web",server="${server}",state="([A-Z]+)"\\} 1$`, 'm'));
  return m?.[1];
}

describe('balancing', () => {
  test('round-robin spreads 30 requests evenly over 3 backends', async () => {
    const bs = await startBackends(3);
    await withHaproxy(bs, { balance: HaproxyBalance.ROUND_ROBIN }, async ({ port }) => {
      const replies = await sequential(30, { port });
      expect(tally(replies)).toEqual({ b1: 10, b2: 10, b3: 10 });
    });
  });

  test('weights 3:1 give 30 and 10 of 40 requests', async () => {
    const bs = await startBackends(2);
    await withHaproxy(bs, {
      targets: HaproxyTargets.endpoints([{ host: '127.0.0.1', port: bs[0].port, weight: 3 }, { host: '127.0.0.1', port: bs[1].port, weight: 1 }]),
    }, async ({ port }) => {
      expect(tally(await sequential(40, { port }))).toEqual({ b1: 30, b2: 10 });
    });
  });

  test('leastconn sends new requests to the idle backend while another holds a slow one', async () => {
    const bs = await startBackends(2);
    await withHaproxy(bs, { balance: HaproxyBalance.LEAST_CONN }, async ({ port }) => {
      // GIVEN one backend busy with a slow request
      const slow = request({ port, path: '/slow', timeoutMs: 8_000 });
      await until('a backend to hold the slow request', () => bs.some(b => b.held === 1));
      const busy = bs.find(b => b.held === 1)!;
      const idle = bs.find(b => b !== busy)!;
      // WHEN new requests arrive
      const replies = await sequential(6, { port });
      // THEN they all go to the idle backend (round robin would alternate)
      expect(tally(replies)).toEqual({ [idle.name]: 6 });
      busy.releaseSlow();
      expect((await slow).backend).toEqual(busy.name);
    });
  });

  test('source hashing keeps each client address on one backend', async () => {
    const bs = await startBackends(3);
    await withHaproxy(bs, { balance: HaproxyBalance.SOURCE }, async ({ port }) => {
      const chosen = new Map<string, Record<string, number>>();
      for (let i = 2; i <= 9; i++) {
        const localAddress = loopback.ip(3, i);
        chosen.set(localAddress, tally(await sequential(5, { port, localAddress })));
      }
      for (const [addr, t] of chosen) {
        expect({ addr, backends: Object.keys(t).length, requests: Object.values(t)[0] }).toEqual({ addr, backends: 1, requests: 5 });
      }
      // the hash spreads different clients (deterministic for these addresses)
      const used = new Set([...chosen.values()].map(t => Object.keys(t)[0]));
      expect(used.size).toBeGreaterThan(1);
    });
  });

  test('X-Forwarded-For hashing keeps each client (first address) on one backend', async () => {
    const bs = await startBackends(3);
    await withHaproxy(bs, { balance: HaproxyBalance.FORWARDED_FOR_HASH }, async ({ port }) => {
      // behind frps every request arrives from frpc; the client is the first X-Forwarded-For entry
      const chosen = new Map<string, Record<string, number>>();
      for (let i = 1; i <= 8; i++) {
        const client = `198.51.100.${i}`;
        // an ingress in front of frps appends its own address: only the first one counts
        const xff = (j: number) => `${client}, 10.244.0.${j}`;
        const replies = [];
        for (let j = 0; j < 4; j++) replies.push(await request({ port, headers: { 'x-forwarded-for': xff(j) } }));
        chosen.set(client, tally(replies));
      }
      for (const [client, t] of chosen) expect({ client, backends: Object.keys(t).length }).toEqual({ client, backends: 1 });
      expect(new Set([...chosen.values()].map(t => Object.keys(t)[0])).size).toBeGreaterThan(1);
      // without the header, forwardFor (on by default) adds the connection's source first: one backend
      expect(Object.keys(tally(await sequential(6, { port })))).toHaveLength(1);
    });
    // without forwardFor, requests without the header are spread
    const more = await startBackends(3);
    await withHaproxy(more, { balance: HaproxyBalance.FORWARDED_FOR_HASH, forwardFor: false }, async ({ port }) => {
      expect(Object.keys(tally(await sequential(12, { port }))).length).toBeGreaterThan(1);
    });
  });

  test('the inserted cookie pins a session; without it requests rotate', async () => {
    const bs = await startBackends(3);
    await withHaproxy(bs, { affinity: HaproxyAffinity.cookie({ name: 'frp-session', maxIdle: Duration.minutes(5) }) }, async ({ port }) => {
      const first = await request({ port });
      const setCookie = first.headers['set-cookie']?.[0] ?? '';
      expect(setCookie).toMatch(/^frp-session=s[123]/);
      expect(setCookie.toLowerCase()).toContain('httponly');
      const cookie = setCookie.split(';')[0];
      const pinned = await sequential(9, { port, headers: { cookie } });
      expect(tally(pinned)).toEqual({ [first.backend!]: 9 });
      const loose = await sequential(3, { port });
      expect(Object.keys(tally(loose)).sort()).toEqual(['b1', 'b2', 'b3']);
    });
  });

  test('h2c (gRPC style): calls on one HTTP/2 connection are balanced one by one', async () => {
    const servers = await Promise.all(['g1', 'g2'].map(name => new Promise<{ name: string; port: number; server: http2.Http2Server }>(resolve => {
      const server = http2.createServer((_req, res) => {
        res.setHeader('content-type', 'application/grpc');
        res.end(name);
      });
      server.listen(0, '127.0.0.1', () => resolve({ name, port: (server.address() as { port: number }).port, server }));
    })));
    const [port, metricsPort, healthPort] = await loopback.ports(3);
    const cfg = new HaproxyConfig({
      services: [{
        name: 'web',
        port,
        bindAddress: loopback.host,
        http2: true,
        targets: HaproxyTargets.endpoints(servers.map(s => ({ host: '127.0.0.1', port: s.port }))),
        healthCheck: { type: HealthCheckType.GRPC, interval: Duration.millis(200) },
      }],
      metrics: { port: metricsPort },
      healthEndpoint: { port: healthPort },
      adminBindAddress: loopback.host,
    });
    const haproxy = await h.start(cfg.render(), healthPort, loopback.host);
    const client = http2.connect(`http://${loopback.host}:${port}`);
    try {
      const call = () => new Promise<string>((resolve, reject) => {
        const req = client.request({ ':method': 'POST', ':path': '/pkg.Service/Method', 'content-type': 'application/grpc' });
        let body = '';
        req.setEncoding('utf8');
        req.on('data', c => (body += c));
        req.on('end', () => resolve(body));
        req.on('error', reject);
        req.setTimeout(3_000, () => req.close());
        req.end();
      });
      const answers: string[] = [];
      for (let i = 0; i < 10; i++) answers.push(await call());
      expect(answers.filter(a => a === 'g1')).toHaveLength(5);
      expect(answers.filter(a => a === 'g2')).toHaveLength(5);
    } finally {
      client.close();
      await haproxy.stop();
      servers.forEach(s => s.server.close());
    }
  });
});

describe('health checks and retries', () => {
  test('a failing backend leaves after fall checks and returns after rise checks', async () => {
    const bs = await startBackends(2);
    const [a, b] = bs;
    await withHaproxy(bs, {
      healthCheck: { type: HealthCheckType.HTTP, path: '/health', interval: Duration.millis(100), timeout: Duration.millis(500), fall: 3, rise: 2 },
    }, async ({ port, metricsPort }) => {
      // HAProxy starts servers barely up (health = rise); each good check adds one up to
      // rise + fall - 1, so only after fall - 1 good checks does it take `fall` failures.
      await until('both servers up with full health', async () => b.healthChecks >= 4 && (await serverState(metricsPort, 's2')) === 'UP');
      expect(tally(await sequential(4, { port }))).toEqual({ b1: 2, b2: 2 });

      // WHEN b2 starts failing its health checks
      b.healthy = false;
      await until('s2 down', async () => (await serverState(metricsPort, 's2')) === 'DOWN');
      // THEN it was taken out only after `fall` failed checks, and gets no traffic
      expect(b.failedHealthChecks).toBeGreaterThanOrEqual(3);
      expect(tally(await sequential(6, { port }))).toEqual({ b1: 6 });

      // WHEN it recovers
      const checksBefore = b.healthChecks - b.failedHealthChecks;
      b.healthy = true;
      await until('s2 up again', async () => (await serverState(metricsPort, 's2')) === 'UP');
      // THEN it came back after `rise` good checks, and gets traffic again
      expect(b.healthChecks - b.failedHealthChecks - checksBefore).toBeGreaterThanOrEqual(2);
      const after = tally(await sequential(6, { port }));
      expect(after.b2).toBeGreaterThan(0);
      expect(a.healthChecks).toBeGreaterThan(0);
    });
  });

  test('retries with redispatch hide a dead server; without retries clients see 503', async () => {
    const bs = await startBackends(1);
    const [dead] = await loopback.ports(1); // nothing listens there
    const targets = HaproxyTargets.endpoints([{ host: loopback.host, port: dead }, { host: '127.0.0.1', port: bs[0].port }]);
    await withHaproxy([], { targets, retry: { retries: 2 } }, async ({ port }) => {
      const started = Date.now();
      const replies = await sequential(10, { port });
      expect(tally(replies)).toEqual({ b1: 10 });
      expect(Date.now() - started).toBeLessThan(3_000); // redispatched at once, no 1 s turn-around
    });
    await withHaproxy(bs, { targets }, async ({ port }) => {
      const replies = await sequential(4, { port });
      expect(tally(replies)).toEqual({ 'b1': 2, 'status 503': 2 });
    });
  });
});

describe('end-user authentication', () => {
  test('apikey: no key 401, wrong key 401, right key 200', async () => {
    const keysFile = h.writeFile('fn-api-keys', '# comment line\nkey-one\nkey-two\n');
    await withHaproxy(await startBackends(1), { authentication: EndUserAuthentication.apiKey({ keysFile }) }, async ({ port }) => {
      expect((await request({ port })).status).toBe(401);
      expect((await request({ port, headers: { 'x-api-key': 'nope' } })).status).toBe(401);
      expect((await request({ port, headers: { 'x-api-key': '# comment line' } })).status).toBe(401);
      expect((await request({ port, headers: { 'X-API-Key': 'key-one' } })).status).toBe(200);
      expect((await request({ port, headers: { 'x-api-key': 'key-two' } })).status).toBe(200);
    });
  });

  test('token: bearer token from a list, 401 with WWW-Authenticate otherwise', async () => {
    const tokensFile = h.writeFile('fn-tokens', 'secret-token\n');
    await withHaproxy(await startBackends(1), { authentication: EndUserAuthentication.bearerToken({ tokensFile }) }, async ({ port }) => {
      const none = await request({ port });
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toEqual('Bearer');
      expect((await request({ port, headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
      expect((await request({ port, headers: { authorization: 'Basic c2VjcmV0LXRva2Vu' } })).status).toBe(401);
      const ok = await request({ port, headers: { authorization: 'Bearer secret-token' } });
      expect(ok.status).toBe(200);
      expect(ok.json?.authorization).toEqual('Bearer secret-token');
    });
  });

  describe('oauth2 (JWT RS256) with the seed authorization rules', () => {
    const keys = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const publicKeyFile = h.writeFile('fn-jwt.pem', keys.publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const now = () => Math.floor(Date.now() / 1000);
    const claims = (extra: object) => ({ iss: 'https://idp.test', aud: ['other', 'frp-api'], exp: now() + 300, ...extra });
    const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
    const admin = signJwt(keys.privateKey, claims({ roles: ['user', 'admin'] }));
    const user = signJwt(keys.privateKey, claims({ roles: ['user'] }));

    const service: Partial<HaproxyServiceOptions> = {
      authentication: EndUserAuthentication.jwt({ publicKeyFile, issuer: 'https://idp.test', audience: 'frp-api' }),
      authorizationRules: [
        { path: '/frontend/admin/*', methods: [HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE], roles: ['admin'] },
        { path: '/frontend/api/*', methods: [HttpMethod.GET], roles: ['user', 'admin'] },
      ],
    };

    test('valid admin token → 200, user token → 403, expired → 401, none → 401', async () => {
      await withHaproxy(await startBackends(1), service, async ({ port }) => {
        const get = (path: string, headers = {}, method = 'GET') => request({ port, path, headers, method }).then(r => r.status);
        expect(await get('/frontend/admin/x', bearer(admin))).toBe(200);
        expect(await get('/frontend/admin/x', bearer(user))).toBe(403);
        expect(await get('/frontend/admin/x', bearer(signJwt(keys.privateKey, claims({ roles: ['admin'], exp: now() - 10 }))))).toBe(401);
        expect(await get('/frontend/admin/x')).toBe(401);
      });
    });

    test('roles, methods and paths follow the rules; anything unlisted is 403', async () => {
      await withHaproxy(await startBackends(1), service, async ({ port }) => {
        const call = (path: string, token: string, method = 'GET') => request({ port, path, method, headers: bearer(token) }).then(r => r.status);
        expect(await call('/frontend/api/items', user)).toBe(200);
        expect(await call('/frontend/api/items', user, 'POST')).toBe(403);
        expect(await call('/frontend/admin/users/1', admin, 'DELETE')).toBe(200);
        expect(await call('/frontend/admin/users/1', admin, 'PATCH')).toBe(403);
        expect(await call('/frontend/other', admin)).toBe(403);
        expect(await call('/frontend/admin', admin)).toBe(403);
        // a single-string roles claim counts as one role
        expect(await call('/frontend/admin/x', signJwt(keys.privateKey, claims({ roles: 'admin' })))).toBe(200);
        // a path that could be normalized into another rule's space is refused
        expect(await call('/frontend/api/../admin/x', user)).toBe(400);
        expect(await call('/frontend/api/%2e%2e/admin/x', user)).toBe(400);
        expect(await call('/frontend//admin/x', admin)).toBe(400);
      });
    });

    test('forged, malformed or foreign tokens → 401', async () => {
      await withHaproxy(await startBackends(1), service, async ({ port }) => {
        const status = (token: string) => request({ port, path: '/frontend/api/x', headers: bearer(token) }).then(r => r.status);
        expect(await status(signJwt(other.privateKey, claims({ roles: ['admin'] })))).toBe(401); // wrong key
        const [h0, p0] = admin.split('.');
        const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p0}.`;
        expect(await status(none)).toBe(401); // alg none
        const tampered = `${h0}.${Buffer.from(JSON.stringify(claims({ roles: ['admin'], exp: now() + 9999 }))).toString('base64url')}.${admin.split('.')[2]}`;
        expect(await status(tampered)).toBe(401); // payload changed after signing
        expect(await status('not-a-jwt')).toBe(401);
        expect(await status(signJwt(keys.privateKey, { iss: 'https://idp.test', aud: 'frp-api', roles: ['user'] }))).toBe(401); // no exp
        expect(await status(signJwt(keys.privateKey, claims({ roles: ['user'], iss: 'https://evil.test' })))).toBe(401); // issuer
        expect(await status(signJwt(keys.privateKey, claims({ roles: ['user'], aud: 'someone-else' })))).toBe(401); // audience
        expect(await status(signJwt(keys.privateKey, claims({ roles: ['user'], aud: 'frp-api' })))).toBe(200); // audience as a string
        expect(await status(signJwt(keys.privateKey, claims({ roles: ['user'], nbf: now() + 120 })))).toBe(401); // not yet valid
        expect(await status(signJwt(keys.privateKey, claims({ roles: ['user'], nbf: now() - 5 })))).toBe(200);
      });
    });
  });
});

describe('PROXY protocol, rate limit, metrics', () => {
  test('PROXY v2: the backend sees the address from the header as X-Forwarded-For', async () => {
    await withHaproxy(await startBackends(1), { acceptProxy: true }, async ({ port }) => {
      const header = proxyV2Header('203.0.113.7', 51234, loopback.host, port);
      const http = Buffer.from('GET /whoami HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n');
      const response = await rawExchange(port, Buffer.concat([header, http]), loopback.host);
      expect(response).toMatch(/^HTTP\/1\.1 200/);
      const body = JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4));
      expect(body.xff).toEqual('203.0.113.7');
      // a connection without the header is dropped without an HTTP answer
      const plain = await rawExchange(port, http, loopback.host).catch((e: Error) => `dropped: ${e.message}`);
      expect(plain).not.toMatch(/^HTTP/);
    });
  });

  test('PROXY v2 in tcp mode: source hashing uses the real client address', async () => {
    const bs = await startBackends(3);
    await withHaproxy(bs, { acceptProxy: true, mode: HaproxyMode.TCP, balance: HaproxyBalance.SOURCE }, async ({ port }) => {
      const backendFor = async (src: string) => {
        const r = await rawExchange(port, Buffer.concat([proxyV2Header(src, 40000, loopback.host, port), Buffer.from('GET / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n')]), loopback.host);
        return JSON.parse(r.slice(r.indexOf('\r\n\r\n') + 4)).backend as string;
      };
      const seen = new Map<string, Set<string>>();
      for (let i = 1; i <= 6; i++) {
        const src = `198.51.100.${i}`;
        const set = new Set<string>();
        for (let j = 0; j < 3; j++) set.add(await backendFor(src));
        seen.set(src, set);
      }
      for (const [, set] of seen) expect(set.size).toBe(1);
      expect(new Set([...seen.values()].map(s => [...s][0])).size).toBeGreaterThan(1);
    });
  });

  test('rate limit: the 6th request within the period gets 429', async () => {
    await withHaproxy(await startBackends(1), { rateLimit: { limit: 5 } }, async ({ port }) => {
      const statuses = (await sequential(7, { port })).map(r => r.status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      // another client address has its own budget
      expect((await request({ port, localAddress: loopback.ip(3, 5) })).status).toBe(200);
    });
  });

  test('metrics, stats page and health endpoint answer', async () => {
    await withHaproxy(await startBackends(1), {}, async ({ port, metricsPort, healthPort }) => {
      await sequential(3, { port });
      expect((await request({ port: healthPort, path: '/healthz' })).status).toBe(200);
      const metrics = await request({ port: metricsPort, path: '/metrics' });
      expect(metrics.status).toBe(200);
      expect(metrics.body).toMatch(/^haproxy_process_uptime_seconds /m);
      expect(metrics.body).toMatch(/^haproxy_backend_http_responses_total\{proxy="be_web",code="2xx"\} 3$/m);
      const stats = await request({ port: metricsPort, path: '/stats' });
      expect(stats.status).toBe(200);
      expect(stats.body).toContain('be_web');
    });
  });
});

describe('dns discovery', () => {
  test('server-template fills its slots from A records and balances over them', async () => {
    // GIVEN two backends on one port at two addresses of the test's, and a DNS server naming both
    const pods = [loopback.ip(4, 1), loopback.ip(4, 2)];
    const first = await HttpBackend.start('pod-a', pods[0]);
    const second = await HttpBackend.start('pod-b', pods[1], first.port);
    const dns = dgram.createSocket('udp4');
    let queries = 0;
    dns.on('message', (msg, rinfo) => {
      queries++;
      dns.send(dnsAnswer(msg, pods), rinfo.port, rinfo.address);
    });
    await new Promise<void>(resolve => dns.bind(0, '127.0.0.1', () => resolve()));
    const dnsPort = dns.address().port;
    const [port, metricsPort, healthPort] = await loopback.ports(3);
    const cfg = new HaproxyConfig({
      services: [{
        name: 'web',
        port,
        bindAddress: loopback.host,
        targets: HaproxyTargets.dns({ hostname: 'web.test.svc.cluster.local', port: first.port, maxServers: 4 }),
      }],
      resolvers: { nameservers: [{ address: '127.0.0.1', port: dnsPort }], holdValid: Duration.seconds(1), resolveInterval: Duration.millis(200) },
      metrics: { port: metricsPort },
      healthEndpoint: { port: healthPort },
      adminBindAddress: loopback.host,
    });
    const haproxy = await h.start(cfg.render(), healthPort, loopback.host);
    try {
      await until('both pods resolved', async () => {
        const body = (await request({ port: metricsPort, path: '/metrics' })).body;
        return (body.match(/^haproxy_server_status\{proxy="be_web",server="srv\d",state="UP"\} 1$/mg) ?? []).length === 2;
      });
      expect(queries).toBeGreaterThan(0);
      expect(tally(await sequential(10, { port }))).toEqual({ 'pod-a': 5, 'pod-b': 5 });
    } finally {
      await haproxy.stop();
      dns.close();
      await Promise.all([first.close(), second.close()]);
    }
  });
});
