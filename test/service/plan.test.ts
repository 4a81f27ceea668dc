import { httpSpec, INVALID_SPECS, tcpSpec } from './invalid-specs';
import { DistributedServiceSpec, ServiceProtocol, ExposeType, HealthCheckType, FrpProxyType, LoadBalancingAlgorithm } from '../../lib';
import { planService } from '../../lib/service/plan';
import { SPEC_SCHEMA } from '../../lib/service/schema';
import { validateAgainstSchema } from '../../lib/service/validate-schema';

const ctx = { where: 'app/svc', name: 'svc', groupPrefix: 'apps', hasWorkload: false };
const plan = (spec: any) => {
  validateAgainstSchema(ctx.where, 'spec', spec, SPEC_SCHEMA);
  return planService(spec as DistributedServiceSpec, ctx);
};

describe('planService defaults (the seed defaulting webhook)', () => {
  test('an http service gets http health checks on /health, random algorithm, one group', () => {
    const p = plan(httpSpec({ backends: { endpoints: [{ host: 'a.internal', port: 8080 }] } }));
    expect(p.proxyType).toBe(FrpProxyType.HTTP);
    expect(p.group).toBe('apps-svc');
    expect(p.healthCheck).toEqual({ type: HealthCheckType.HTTP, path: '/health', intervalSeconds: 10, timeoutSeconds: 3, maxFailed: 3 });
    expect(p.warnings).toEqual([expect.stringMatching(/^spec\.loadBalancing\.healthCheck\.path: not set, so frpc checks every backend with GET \/health/)]);
    expect(p.balancer).toBeUndefined();
    expect(p.poolCount).toBe(5);
    expect(p.dialTimeoutSeconds).toBe(10);
    expect(p.keepAliveSeconds).toBe(30);
    expect(p.clientReplicas).toBe(2);
  });

  test('a tcp service gets tcp health checks', () => {
    expect(plan(tcpSpec()).healthCheck!.type).toBe(HealthCheckType.TCP);
  });

  test('weight n becomes n group members (exact ratio under frp http round robin)', () => {
    const p = plan(tcpSpec({
      backends: { endpoints: [{ host: 'a.internal', port: 1, weight: 3 }, { host: 'b.internal', port: 2 }] },
      loadBalancing: { algorithm: 'weighted' },
    }));
    expect(p.members.map(m => [m.proxyName, m.localIP, m.localPort])).toEqual([
      ['svc-0-0', 'a.internal', 1], ['svc-0-1', 'a.internal', 1], ['svc-0-2', 'a.internal', 1], ['svc-1', 'b.internal', 2],
    ]);
  });

  test('udp has no group (frp ignores groups on udp)', () => {
    const p = plan({ serviceType: 'udp', backends: { endpoints: [{ host: 'dns.internal', port: 53 }] }, expose: { type: 'port', port: 5353 } });
    expect(p.proxyType).toBe(FrpProxyType.UDP);
    expect(p.group).toBeUndefined();
    expect(p.healthCheck).toBeUndefined();
  });

  test('grpc is carried by tcp proxies on the exposed port; low ports map above 10000 on frps', () => {
    const p = plan({ serviceType: 'grpc', backends: { endpoints: [{ host: 'a', port: 9090 }] }, expose: { type: 'port', port: 443 } });
    expect(p.proxyType).toBe(FrpProxyType.TCP);
    expect(p.expose).toMatchObject({ port: 443, remotePort: 10443 });
  });

  test('the balancer tier appears only when the spec asks for what frp cannot do', () => {
    expect(plan(httpSpec({ loadBalancing: { algorithm: 'round-robin' } })).balancer).toBeUndefined();
    expect(plan(httpSpec({ loadBalancing: { algorithm: 'least-conn' } })).balancer!.reasons).toEqual(['algorithm least-conn']);
    expect(plan(tcpSpec({ loadBalancing: { algorithm: 'ip-hash' } })).balancer!.mode).toBe('tcp');
    expect(plan(httpSpec({ loadBalancing: { sessionAffinity: { enabled: true, timeout: '5m' } } })).balancer!.affinity).toEqual({ timeoutSeconds: 300, cookieName: 'frp-session' });
    expect(plan(httpSpec({ security: { authentication: { type: 'apikey', tokenSecret: 'keys' } } })).balancer!.authentication).toEqual({ type: 'apikey', secretName: 'keys' });
    expect(plan(httpSpec({ advanced: { retry: { maxAttempts: 2 } } })).balancer!.retry).toEqual({ attempts: 2, backoff: 'exponential' });
  });

  test('dns discovery resolves <name>-backends by default, not the exposed Service <name>', () => {
    const p = plan(tcpSpec({ backends: { discovery: { mode: 'dns', port: 5432 } } }));
    expect(p.backends).toEqual({ kind: 'dns', serviceName: 'svc-backends', namespace: undefined, port: 5432, maxBackends: 32 });
  });

  test('bandwidth in GB becomes MB (frp knows MB and KB only)', () => {
    expect(plan(tcpSpec({ advanced: { bandwidth: { limit: '2GB' } } })).bandwidth!.toString()).toBe('2048MB');
  });

  test('manual mTLS and cert rotation defaults', () => {
    const p = plan(tcpSpec({ security: { mtls: { enabled: true, mode: 'manual', caSecret: 'ca', certSecret: 'cert' } } }));
    expect(p.mtls).toMatchObject({ mode: 'manual', caSecret: 'ca', certSecret: 'cert', rotation: true, renewBefore: '7d' });
    expect(plan(tcpSpec({ security: { mtls: { enabled: true } } })).mtls!.mode).toBe('auto');
  });
});

describe('planService fails with the field, the rule and what is allowed', () => {
  test.each(INVALID_SPECS)('on %s', (_name, spec, message) => {
    expect(() => plan(spec)).toThrow(message);
  });

  test('on a name that would not fit Kubernetes names', () => {
    expect(() => planService(tcpSpec() as any, { ...ctx, name: 'Bad_Name' }))
      .toThrow('app/svc: metadata.name: must be a DNS label (lower-case letters, digits and "-", starting with a letter) of at most 53 characters, so that derived names stay within 63; got "Bad_Name"');
  });

  test('seed examples are valid', () => {
    expect(plan(httpSpec({ serviceType: ServiceProtocol.HTTP, expose: { type: ExposeType.PATH, domain: 'app.example.com', path: '/frontend' }, loadBalancing: { algorithm: LoadBalancingAlgorithm.ROUND_ROBIN } })).members).toHaveLength(1);
  });
});
