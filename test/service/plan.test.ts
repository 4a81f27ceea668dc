import { DistributedServiceSpec, DistributedServiceType, ExposeType, FrpHealthCheckType, FrpProxyType, LoadBalancingAlgorithm } from '../../lib';
import { planService } from '../../lib/service/plan';
import { SPEC_SCHEMA } from '../../lib/service/schema';
import { validateAgainstSchema } from '../../lib/service/validate-schema';

const ctx = { where: 'app/svc', name: 'svc', groupPrefix: 'apps', hasWorkload: false };
const plan = (spec: any) => {
  validateAgainstSchema(ctx.where, 'spec', spec, SPEC_SCHEMA);
  return planService(spec as DistributedServiceSpec, ctx);
};
const httpSpec = (extra: any = {}) => ({
  serviceType: 'http',
  backends: { discovery: { mode: 'selector', selector: { matchLabels: { app: 'x' } }, port: 8080 } },
  expose: { domain: 'x.example.com' },
  ...extra,
});
const tcpSpec = (extra: any = {}) => ({
  serviceType: 'tcp',
  backends: { endpoints: [{ host: 'db-1.internal', port: 5432 }] },
  expose: { type: 'port', port: 5432 },
  ...extra,
});

describe('planService defaults (the seed defaulting webhook)', () => {
  test('an http service gets http health checks on /health, random algorithm, one group', () => {
    const p = plan(httpSpec());
    expect(p.proxyType).toBe(FrpProxyType.HTTP);
    expect(p.group).toBe('apps-svc');
    expect(p.healthCheck).toEqual({ type: FrpHealthCheckType.HTTP, path: '/health', intervalSeconds: 10, timeoutSeconds: 3, maxFailed: 3 });
    expect(p.balancer).toBeUndefined();
    expect(p.poolCount).toBe(5);
    expect(p.dialTimeoutSeconds).toBe(10);
    expect(p.keepAliveSeconds).toBe(30);
    expect(p.clientReplicas).toBe(2);
  });

  test('a tcp service gets tcp health checks', () => {
    expect(plan(tcpSpec()).healthCheck!.type).toBe(FrpHealthCheckType.TCP);
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
    expect(p.backends).toEqual({ kind: 'dns', serviceName: 'svc-backends', namespace: undefined, port: 5432 });
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
  test.each<[string, any, string]>([
    ['http without domain or path (seed webhook)', httpSpec({ expose: { type: 'domain' } }), 'app/svc: spec.expose.domain: is required when expose.type is domain'],
    ['discovery and endpoints together (seed webhook)', tcpSpec({ backends: { endpoints: [{ host: 'a', port: 1 }], discovery: { port: 1 } } }), 'app/svc: spec.backends.endpoints: must not be set together with spec.backends.discovery (exactly one of them)'],
    ['neither discovery nor endpoints', tcpSpec({ backends: {} }), 'app/svc: spec.backends.discovery: is required unless spec.backends.endpoints is set (exactly one of them)'],
    ['manual mTLS without caSecret (seed webhook)', tcpSpec({ security: { mtls: { enabled: true, mode: 'manual', certSecret: 'c' } } }), 'app/svc: spec.security.mtls.caSecret: manual mTLS requires caSecret (the Secret with ca.crt)'],
    ['an unknown serviceType', tcpSpec({ serviceType: 'sctp' }), 'app/svc: spec.serviceType: must be one of "http", "tcp", "udp", "grpc", got "sctp"'],
    ['an unknown algorithm', tcpSpec({ loadBalancing: { algorithm: 'fastest' } }), 'app/svc: spec.loadBalancing.algorithm: must be one of "random", "round-robin", "least-conn", "weighted", "ip-hash", got "fastest"'],
    ['a bad duration', tcpSpec({ loadBalancing: { healthCheck: { interval: '10' } } }), 'app/svc: spec.loadBalancing.healthCheck.interval: must match ^[0-9]+(s|m)$, got "10"'],
    ['hours where the seed allows s|m only', tcpSpec({ advanced: { timeout: { dial: '1h' } } }), 'app/svc: spec.advanced.timeout.dial: must match ^[0-9]+(s|m)$, got "1h"'],
    ['a bad path', httpSpec({ expose: { type: 'path', domain: 'x.example.com', path: 'v1' } }), 'app/svc: spec.expose.path: must match ^/[a-zA-Z0-9\\-_/]*$, got "v1"'],
    ['port 0', tcpSpec({ expose: { type: 'port', port: 0 } }), 'app/svc: spec.expose.port: must be from 1 to 65535, got 0'],
    ['port 70000', tcpSpec({ backends: { endpoints: [{ host: 'a', port: 70000 }] } }), 'app/svc: spec.backends.endpoints[0].port: must be from 1 to 65535, got 70000'],
    ['a bandwidth unit frp lacks', tcpSpec({ advanced: { bandwidth: { limit: '10TB' } } }), 'app/svc: spec.advanced.bandwidth.limit: must match ^[0-9]+(MB|KB|GB)$, got "10TB"'],
    ['a typo in a field name', tcpSpec({ loadBalancing: { algoritm: 'random' } }), 'app/svc: spec.loadBalancing.algoritm: is not a known field (known: algorithm, sessionAffinity, healthCheck)'],
    ['a string where a number belongs', tcpSpec({ advanced: { connectionPool: { size: '10' } } }), 'app/svc: spec.advanced.connectionPool.size: must be an integer, got "10"'],
    ['a dial timeout frpc does not take', tcpSpec({ advanced: { timeout: { dial: '90m' } } }), 'app/svc: spec.advanced.timeout.dial: must be at most 60m (frp takes at most an hour), got 90m'],
    ['a health check interval over an hour', tcpSpec({ loadBalancing: { healthCheck: { interval: '61m' } } }), 'app/svc: spec.loadBalancing.healthCheck.interval: must be at most 60m (frp takes at most an hour), got 61m'],
    ['a keepalive over a day', tcpSpec({ advanced: { timeout: { keepAlive: '1441m' } } }), 'app/svc: spec.advanced.timeout.keepAlive: must be at most 24h (longer idle or affinity times keep state for a day or more), got 1441m'],
    ['pool size 0', tcpSpec({ advanced: { connectionPool: { size: 0 } } }), 'app/svc: spec.advanced.connectionPool.size: must be from 1 to 100, got 0'],
    ['a tcp service on a domain', tcpSpec({ expose: { type: 'domain', domain: 'db.example.com' } }), 'app/svc: spec.expose.type: a tcp service is exposed on a port: set expose.type to port and expose.port (domain, subdomain and path routing is for http)'],
    ['a tcp service with a domain but no type (it defaults to port)', tcpSpec({ expose: { domain: 'db.example.com' } }),
      'app/svc: spec.expose.port: is required when expose.type is port\napp/svc: spec.expose.domain: is for host routing: expose.type port takes expose.port only'],
    ['a port exposure without a port', tcpSpec({ expose: { type: 'port' } }), 'app/svc: spec.expose.port: is required when expose.type is port'],
    ['a path exposure without a host', httpSpec({ expose: { type: 'path', path: '/x' } }), 'app/svc: spec.expose.domain: frp routes http by host: a path exposure also needs expose.domain or expose.subdomain'],
    ['selector mode without a selector', httpSpec({ backends: { discovery: { mode: 'selector', port: 1 } } }), 'app/svc: spec.backends.discovery.selector: mode selector needs matchLabels or matchExpressions'],
    ['discovery without a port', httpSpec({ backends: { discovery: { mode: 'dns' } } }), 'app/svc: spec.backends.discovery.port: is required (the backend port, 1-65535)'],
    ['authentication without its Secret', httpSpec({ security: { authentication: { type: 'oauth2' } } }), 'app/svc: spec.security.authentication.tokenSecret: is required for authentication type oauth2 (the Secret with the JWT public key)'],
    ['roles without oauth2', httpSpec({ security: { authentication: { type: 'apikey', tokenSecret: 'k' }, authorization: { enabled: true, rules: [{ path: '/a/*', roles: ['admin'] }] } } }),
      'app/svc: spec.security.authorization.rules: rules with roles need authentication type oauth2 (roles come from the JWT)'],
    ['authorization without rules', httpSpec({ security: { authorization: { enabled: true } } }), 'app/svc: spec.security.authorization.rules: authorization is enabled but has no rules (every request would be refused)'],
    ['end-user auth on tcp', tcpSpec({ security: { authentication: { type: 'apikey', tokenSecret: 'k' } } }), 'app/svc: spec.security.authentication.type: end-user apikey authentication needs an http service, not tcp'],
    ['health check timeout over interval', tcpSpec({ loadBalancing: { healthCheck: { interval: '5s', timeout: '10s' } } }), 'app/svc: spec.loadBalancing.healthCheck.timeout: must not be longer than the interval (5s), got 10s'],
    ['udp least-conn over discovered pods', { serviceType: 'udp', backends: { discovery: { mode: 'dns', port: 53 } }, expose: { type: 'port', port: 5353 }, loadBalancing: { algorithm: 'least-conn' } },
      'app/svc: spec.loadBalancing: a udp service with discovered backends is spread by its Kubernetes Service (kube-proxy) only; algorithm least-conn needs backends.endpoints'],
    ['too many weighted members', tcpSpec({ backends: { endpoints: [{ host: 'a', port: 1, weight: 100 }, { host: 'b', port: 1, weight: 2 }] } }),
      'app/svc: spec.backends.endpoints: endpoints times weights give 102 group members per frpc pod; at most 100 (lower the weights)'],
  ])('on %s', (_name, spec, message) => {
    expect(() => plan(spec)).toThrow(message);
  });

  test('on a name that would not fit Kubernetes names', () => {
    expect(() => planService(tcpSpec() as any, { ...ctx, name: 'Bad_Name' }))
      .toThrow('app/svc: metadata.name: must be a DNS label (lower-case letters, digits and "-", starting with a letter) of at most 53 characters, so that derived names stay within 63; got "Bad_Name"');
  });

  test('seed examples are valid', () => {
    expect(plan(httpSpec({ serviceType: DistributedServiceType.HTTP, expose: { type: ExposeType.PATH, domain: 'app.example.com', path: '/frontend' }, loadBalancing: { algorithm: LoadBalancingAlgorithm.ROUND_ROBIN } })).members).toHaveLength(1);
  });
});
