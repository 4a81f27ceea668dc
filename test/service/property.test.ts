import { Testing } from 'cdk8s';
import * as fc from 'fast-check';
import { DistributedService } from '../../lib';
import { checkBundle } from '../helpers';
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
    healthCheck: maybe(fc.record({
      enabled: maybe(fc.boolean()),
      type: maybe(fc.constantFrom('tcp', 'http', 'https', 'grpc')),
      interval: maybe(dur('sm')),
      timeout: maybe(dur('s')),
      failureThreshold: maybe(fc.integer({ min: 0, max: 5 })),
    })),
  })),
  security: maybe(fc.record({
    mtls: maybe(fc.record({ enabled: maybe(fc.boolean()), mode: maybe(fc.constantFrom('manual', 'auto', 'external')), caSecret: maybe(label), certSecret: maybe(label) })),
  })),
  advanced: maybe(fc.record({
    connectionPool: maybe(fc.record({ size: maybe(fc.integer({ min: 0, max: 120 })) })),
    bandwidth: maybe(fc.record({ limit: maybe(fc.constantFrom('10MB', '1GB', '512KB', '5TB')) })),
    timeout: maybe(fc.record({ dial: maybe(dur('sm')), keepAlive: maybe(dur('sm')) })),
  })),
}, { requiredKeys: ['serviceType', 'backends'] });

// Specs whose exposure fits their type, so that most of them render.
const coherent = fc.tuple(spec, fc.constantFrom('http', 'tcp', 'udp', 'grpc'), domain, fc.constantFrom(undefined, '/v1', '/api'), port)
  .map(([s, serviceType, d, path, p]) => ({
    ...s,
    serviceType,
    expose: serviceType === 'http' ? { type: path ? 'path' : 'domain', domain: d, path } : { type: 'port', port: p },
    security: undefined,
  }));
const anySpec = fc.oneof({ weight: 3, arbitrary: coherent }, { weight: 2, arbitrary: spec });

/** Removes undefined keys, as YAML would never have them. */
const clean = (v: any): any => (Array.isArray(v) ? v.map(clean) : v && typeof v === 'object'
  ? Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined).map(([k, x]) => [k, clean(x)])) : v);

describe('DistributedService over random specs', () => {
  test('renders a bundle that passes every strict check, or fails with a validation message', () => {
    let rendered = 0;
    let refused = 0;
    fc.assert(fc.property(anySpec, (raw) => {
      const s = clean(raw);
      const { chart, auth } = chartWithToken();
      let manifests: any[];
      try {
        new DistributedService(chart, 'svc', { auth, ...s });
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
      expect(checkBundle(manifests)).toEqual([]);
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
  }, 120_000);
});
