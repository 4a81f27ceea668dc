import { generateKeyPairSync } from 'crypto';
import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdk8s';
import * as fc from 'fast-check';
import { DistributedService } from '../../lib';
import { FS_ROOT_CONTEXT } from '../../lib/balancer/_workload';
import { HaproxyHarness, writeBalancerScripts } from '../balancer/haproxy-harness';
import { checkBundle, checkWiring } from '../helpers';
import { chartWithToken, tomlOf } from './fixtures';

// Mostly-valid values with a sprinkling of invalid ones, so that both the
// rendering and the validation paths are explored.
const maybe = <T>(a: fc.Arbitrary<T>) => fc.option(a, { nil: undefined, freq: 2 });
const port = fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 1024, max: 65535 }) }, { weight: 1, arbitrary: fc.integer({ min: -5, max: 70000 }) });
const dur = (units: string) => fc.oneof({ weight: 9, arbitrary: fc.tuple(fc.integer({ min: 1, max: 90 }), fc.constantFrom(...units.split(''))).map(([n, u]) => `${n}${u}`) }, { weight: 1, arbitrary: fc.constantFrom('10', '1d', 'x', '') });
const label = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/);
const domain = fc.oneof({ weight: 9, arbitrary: fc.tuple(label, fc.constantFrom('example.com', 'corp.internal')).map(([a, b]) => `${a}.${b}`) }, { weight: 1, arbitrary: fc.constantFrom('Bad Domain', 'a') });

const endpoint = fc.record({ host: fc.oneof(label, fc.constant('10.0.0.1')), port, weight: maybe(fc.integer({ min: 0, max: 5 })) }, { requiredKeys: ['host', 'port'] });
const backends = fc.oneof(
  fc.record({ endpoints: fc.array(endpoint, { minLength: 1, maxLength: 4 }), replicas: maybe(fc.integer({ min: 0, max: 5 })) }, { requiredKeys: ['endpoints'] }),
  fc.record({
    discovery: fc.record({
      mode: maybe(fc.constantFrom('auto', 'selector', 'dns')),
      selector: maybe(fc.record({ matchLabels: fc.dictionary(label, label, { minKeys: 1, maxKeys: 2 }) })),
      namespace: maybe(label),
      port: maybe(port),
    }),
  }),
);
const spec = fc.record({
  serviceType: fc.constantFrom('http', 'tcp', 'udp', 'grpc'),
  backends,
  expose: maybe(fc.record({
    type: maybe(fc.constantFrom('domain', 'subdomain', 'path', 'port')),
    domain: maybe(domain),
    path: maybe(fc.constantFrom('/', '/v1', '/api/x', 'nope')),
    port: maybe(port),
  })),
  loadBalancing: maybe(fc.record({
    algorithm: maybe(fc.constantFrom('random', 'round-robin', 'least-conn', 'weighted', 'ip-hash')),
    sessionAffinity: maybe(fc.record({ enabled: maybe(fc.boolean()), timeout: maybe(dur('smh')), cookieName: maybe(fc.constantFrom('frp-session', 'SID', 'bad cookie')) })),
    healthCheck: maybe(fc.record({
      enabled: maybe(fc.boolean()),
      type: maybe(fc.constantFrom('tcp', 'http', 'https', 'grpc')),
      interval: maybe(dur('sm')),
      timeout: maybe(dur('s')),
      failureThreshold: maybe(fc.integer({ min: 0, max: 5 })),
    })),
  })),
  security: maybe(fc.record({
    mtls: maybe(fc.record({
      enabled: maybe(fc.boolean()),
      mode: maybe(fc.constantFrom('manual', 'auto', 'external')),
      caSecret: maybe(label),
      certSecret: maybe(label),
      issuerName: maybe(label),
      certRotation: maybe(fc.record({ beforeExpiry: maybe(fc.constantFrom('7d', '48h', '7w')) })),
    })),
    authentication: maybe(fc.record({ type: maybe(fc.constantFrom('none', 'token', 'oauth2', 'apikey')), tokenSecret: maybe(label) })),
    authorization: maybe(fc.record({
      enabled: maybe(fc.boolean()),
      rules: maybe(fc.array(fc.record({
        path: maybe(fc.constantFrom('/a/*', '/api/**', '/x', 'relative')),
        methods: maybe(fc.subarray(['GET', 'POST', 'DELETE'])),
        roles: maybe(fc.array(label, { maxLength: 2 })),
      }), { maxLength: 2 })),
    })),
  })),
  advanced: maybe(fc.record({
    connectionPool: maybe(fc.record({ size: maybe(fc.integer({ min: 0, max: 120 })) })),
    bandwidth: maybe(fc.record({ limit: maybe(fc.constantFrom('10MB', '1GB', '512KB', '5TB')) })),
    timeout: maybe(fc.record({ dial: maybe(dur('sm')), keepAlive: maybe(dur('sm')) })),
    retry: maybe(fc.record({ enabled: maybe(fc.boolean()), maxAttempts: maybe(fc.integer({ min: 0, max: 5 })), backoff: maybe(fc.constantFrom('constant', 'linear', 'exponential')) })),
  })),
}, { requiredKeys: ['serviceType', 'backends'] });

// Specs whose exposure and security fit their type, so that most of them
// render and every tier (balancer, mTLS in all three modes) is exercised.
const coherentSecurity = fc.constantFrom<any>(
  undefined,
  { mtls: { enabled: true } },
  { mtls: { enabled: true, mode: 'manual', caSecret: 'internal-ca', certSecret: 'client-cert', certRotation: { beforeExpiry: '48h' } } },
  { mtls: { enabled: true, mode: 'external', issuerName: 'vault' } },
  { authentication: { type: 'apikey', tokenSecret: 'keys' } },
  { authentication: { type: 'token', tokenSecret: 'tokens' } },
  { authentication: { type: 'oauth2', tokenSecret: 'jwt' }, authorization: { enabled: true, rules: [{ path: '/admin/*', methods: ['GET', 'POST'], roles: ['admin'] }] } },
);
const coherentAffinity = fc.constantFrom<any>(undefined, { enabled: true, timeout: '5m' }, { enabled: true, cookieName: 'SID' });
const coherent = fc.tuple(spec, fc.constantFrom('http', 'tcp', 'udp', 'grpc'), domain, fc.constantFrom(undefined, '/v1', '/api'), port, coherentSecurity, coherentAffinity)
  .map(([s, serviceType, d, path, p, security, sessionAffinity]) => ({
    ...s,
    serviceType,
    expose: serviceType === 'http' ? { type: path ? 'path' : 'domain', domain: d, path } : { type: 'port', port: p },
    security: serviceType === 'http' || !security?.authentication ? security : undefined,
    loadBalancing: { ...s.loadBalancing, sessionAffinity },
  }));
const anySpec = fc.oneof({ weight: 3, arbitrary: coherent }, { weight: 2, arbitrary: spec });

/** Removes undefined keys, as YAML would never have them. */
const clean = (v: any): any => (Array.isArray(v) ? v.map(clean) : v && typeof v === 'object'
  ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, clean(x)])) : v);

describe('DistributedService over random specs', () => {
  const h = HaproxyHarness.create();
  afterAll(() => h.cleanup());

  test('renders a bundle that passes every strict check, or fails with a validation message', async () => {
    // the balancer's files live under a temp root, with the auth Secrets' keys
    // in place, so that haproxy -c reads real files
    const root = join(h.dir, 'root');
    const auth = join(root, 'etc/haproxy/auth');
    mkdirSync(auth, { recursive: true });
    writeFileSync(join(auth, 'keys'), 'k-1\n');
    writeFileSync(join(auth, 'tokens'), 't-1\n');
    writeFileSync(join(auth, 'public-key.pem'), generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const haproxyConfigs: string[] = [];
    let rendered = 0;
    let refused = 0;
    let balanced = 0;
    let mtls = 0;
    fc.assert(fc.property(anySpec, (raw) => {
      const s = clean(raw);
      const { chart, auth: token } = chartWithToken('apps', { [FS_ROOT_CONTEXT]: root });
      let manifests: any[];
      try {
        new DistributedService(chart, 'svc', { auth: token, ...s });
        manifests = Testing.synth(chart);
      } catch (e) {
        // a validation error: an Error (not a TypeError, RangeError, ...)
        // naming the construct path and a field
        expect((e as Error).constructor).toBe(Error);
        expect((e as Error).message).toMatch(/^test\/svc: (spec|metadata)\.[A-Za-z.[\]0-9]+: \S/);
        refused++;
        if (process.env.SHOW_REFUSALS) console.log((e as Error).message);
        return;
      }
      rendered++;
      if (manifests.some(m => m.kind === 'ConfigMap' && (m.data?.['haproxy.cfg'] || m.data?.['nginx.conf']))) balanced++;
      haproxyConfigs.push(...manifests.filter(m => m.kind === 'ConfigMap' && m.data?.['haproxy.cfg']).map(m => m.data['haproxy.cfg']));
      writeBalancerScripts(manifests, root);
      if (manifests.some(m => m.kind === 'Certificate' || m.kind === 'Issuer')) mtls++;
      expect(checkBundle(manifests)).toEqual([]);
      expect(checkWiring(manifests)).toEqual([]);
      // meaning: every frpc proxy joins the service's group (none on udp),
      // and a port exposure is allowed and listened on by frps
      const frpc = tomlOf(manifests, 'frpc.toml');
      for (const p of frpc.proxies) {
        if (s.serviceType === 'udp') expect(p.loadBalancer).toBeUndefined();
        else expect(p.loadBalancer.group).toBe('apps-svc');
      }
      const remote = frpc.proxies[0].remotePort;
      if (remote !== undefined) {
        const allow = tomlOf(manifests, 'frps.toml').allowPorts;
        expect(allow.some((r: any) => r.single === remote || (r.start <= remote && remote <= r.end))).toBe(true);
      }
    }), { numRuns: 300, seed: 20261122 });
    // the generator must reach both outcomes, or the property proves little
    expect(rendered).toBeGreaterThan(30);
    expect(refused).toBeGreaterThan(30);
    // ...and the balancer and mTLS paths are among the rendered ones
    if (process.env.SHOW_REFUSALS) console.log({ rendered, refused, balanced, mtls });
    expect(balanced).toBeGreaterThan(10);
    expect(mtls).toBeGreaterThan(5);
    // every generated haproxy.cfg passes the real haproxy -c
    const results = await h.checkAll(haproxyConfigs);
    expect(results.filter(r => !r.ok).map(r => r.output)).toEqual([]);
    expect(results.length).toBeGreaterThan(10);
  }, 120_000);
});
