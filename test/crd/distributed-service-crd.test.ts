import { run } from '@bufbuild/cel';
import { Chart, Testing } from 'cdk8s';
import { ConfigMap } from 'cdk8s-plus-28';
import { DistributedServiceCrd } from '../../lib';
import { SPEC_RULES } from '../../lib/crd/distributed-service-crd';
import { checkCrdDefinition, expectValidBundle, validateCustomResource } from '../helpers';

/** JSON → CEL input: objects become maps, integers become CEL ints. */
function toCel(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(toCel);
  if (v !== null && typeof v === 'object') return new Map(Object.entries(v).map(([k, x]) => [k, toCel(x)]));
  if (typeof v === 'number' && Number.isInteger(v)) return BigInt(v);
  return v;
}
/**
 * The messages of the rules that fail for a spec (after the defaults the seed's schema would apply):
 * the messageExpression's value where the rule has one, as the API server reports it.
 */
const failing = (spec: unknown) => SPEC_RULES.filter(r => run(r.rule, { self: toCel(spec) } as any) !== true)
  .map(r => r.messageExpression === undefined ? r.message : run(r.messageExpression, { self: toCel(spec) } as any));

const seedCr = (name: string, spec: any) => ({ apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: { name, namespace: 'apps' }, spec });
const base = { serviceType: 'tcp', backends: { endpoints: [{ host: 'a', port: 1 }] }, expose: { type: 'port', port: 2000 } };

describe('DistributedServiceCrd', () => {
  const chart = Testing.chart();
  new DistributedServiceCrd(chart, 'crd');
  const [crd] = Testing.synth(chart);

  test('is a valid, structural CRD with the seed names, columns and subresources', () => {
    expect(crd).toMatchSnapshot();
    expectValidBundle([crd]);
    expect(checkCrdDefinition(crd)).toEqual([]);
    expect(crd.metadata.name).toBe('distributedservices.frp.io');
    expect(crd.spec.names.shortNames).toEqual(['dsvc']); // not ds: kubectl's DaemonSet
    const v = crd.spec.versions[0];
    expect(v.additionalPrinterColumns.map((c: any) => c.jsonPath)).toEqual(['.spec.serviceType', '.status.activeBackends', '.status.state', '.metadata.creationTimestamp']);
    expect(v.subresources.scale.specReplicasPath).toBe('.spec.backends.replicas');
    expect(v.schema.openAPIV3Schema.properties.spec.properties.backends.properties.replicas.type).toBe('integer');
    expect(v.schema.openAPIV3Schema.properties.spec.properties.expose.properties.externalTrafficPolicy.enum).toEqual(['Cluster', 'Local']);
    expect(crd.metadata.annotations['argocd.argoproj.io/sync-wave']).toBe('-10');
    // expose.type has no CRD default: it depends on serviceType (the library's and the defaulting webhook's)
    expect(v.schema.openAPIV3Schema.properties.spec.properties.expose.properties.type).not.toHaveProperty('default');
  });

  test('status holds what the operator writes (contract 3): ConfigurationApplied, each condition\'s observedGeneration, one condition per type', () => {
    const status = crd.spec.versions[0].schema.openAPIV3Schema.properties.status;
    const conditions = status.properties.conditions;
    expect(conditions.items.properties.type.enum).toEqual(['Ready', 'BackendsAvailable', 'ConfigurationValid', 'ConfigurationApplied', 'CertificatesReady', 'NetworkReady']);
    expect(conditions.items.properties.observedGeneration.type).toBe('integer');
    expect(conditions['x-kubernetes-list-type']).toBe('map');
    expect(conditions['x-kubernetes-list-map-keys']).toEqual(['type']);
    expect(Object.keys(status.properties).sort()).toEqual(['activeBackends', 'conditions', 'endpoints', 'externalEndpoint', 'lastUpdateTime', 'observedGeneration', 'selector', 'state', 'totalBackends']);
  });

  test('is cluster-scoped: no namespace, also in a chart with one', () => {
    expect(crd.metadata).not.toHaveProperty('namespace');
    const namespaced = new Chart(Testing.app(), 'frp', { namespace: 'frp' });
    new DistributedServiceCrd(namespaced, 'crd');
    new ConfigMap(namespaced, 'other');
    const [c, other] = Testing.synth(namespaced);
    expect(c.kind).toBe('CustomResourceDefinition');
    expect(c.metadata).not.toHaveProperty('namespace');
    expect(other.metadata.namespace).toBe('frp');
  });

  test('accepts the seed examples and rejects an unknown field', () => {
    const ollama = seedCr('ollama-cluster', {
      serviceType: 'http',
      backends: { discovery: { mode: 'selector', selector: { matchLabels: { app: 'ollama' } }, port: 11434 } },
      expose: { type: 'domain', domain: 'llm.example.com', path: '/v1' },
      loadBalancing: { algorithm: 'least-conn', healthCheck: { enabled: true, type: 'http', path: '/api/health', interval: '30s', timeout: '10s' } },
      security: { mtls: { enabled: true, mode: 'auto' }, authentication: { type: 'apikey', tokenSecret: 'ollama-api-keys' } },
      advanced: { connectionPool: { enabled: true, size: 10 }, timeout: { keepAlive: '300s' } },
    });
    expect(validateCustomResource(ollama, [crd])).toEqual([]);
    expect(failing(ollama.spec)).toEqual([]);
    const typo = seedCr('x', { ...base, loadBalancing: { algoritm: 'random' } });
    expect(validateCustomResource(typo, [crd]).join('\n')).toMatch(/algoritm/);
  });

  test.each<[string, any, string[]]>([
    ['http without domain or path', { ...base, serviceType: 'http', expose: { type: 'domain' } }, ['HTTP service must have domain or path']],
    ['http with a path but no host', { ...base, serviceType: 'http', expose: { type: 'path', path: '/x' } }, ['frp routes http by host: a path exposure also needs expose.domain or expose.subdomain']],
    ['http with a domain and path', { ...base, serviceType: 'http', expose: { type: 'path', domain: 'x.example.com', path: '/x' } }, []],
    ['neither discovery nor endpoints', { ...base, backends: {} }, ['Set discovery or endpoints']],
    ['a dial timeout over an hour', { ...base, advanced: { timeout: { dial: '61m' } } }, ['must be at most 60m (frp takes at most an hour), got 61m']],
    ['a health check timeout over its interval', { ...base, loadBalancing: { healthCheck: { interval: '5s', timeout: '10s' } } }, ['must not be longer than the interval (5s), got 10s']],
    ['roles without oauth2', { ...base, serviceType: 'http', expose: { type: 'domain', domain: 'x.example.com' }, security: { authentication: { type: 'apikey', tokenSecret: 'k' }, authorization: { enabled: true, rules: [{ path: '/a', roles: ['admin'] }] } } },
      ['rules with roles need authentication type oauth2 (roles come from the JWT)']],
    ['both discovery and endpoints', { ...base, backends: { endpoints: [{ host: 'a', port: 1 }], discovery: { port: 1 } } }, ['Cannot use both discovery and manual endpoints (set exactly one)']],
    ['manual mTLS without caSecret', { ...base, security: { mtls: { enabled: true, mode: 'manual' } } }, ['Manual mTLS requires caSecret']],
    ['manual mTLS with caSecret', { ...base, security: { mtls: { enabled: true, mode: 'manual', caSecret: 'ca' } } }, []],
    ['mTLS off in manual mode', { ...base, security: { mtls: { enabled: false, mode: 'manual' } } }, []],
    ['a port exposure without a port', { ...base, expose: { type: 'port' } }, ['expose.type port requires expose.port']],
    // no CRD default for expose.type: the rules read the library's (port unless http), as the defaulting webhook writes it
    ['a tcp service with a domain and no type', { ...base, expose: { domain: 'db.example.com' } }, ['expose.type port requires expose.port']],
    ['a tcp service with a port and no type', { ...base, expose: { port: 2000 } }, []],
    ['a tcp service on a domain', { ...base, expose: { type: 'domain', domain: 'db.example.com' } },
      ['a tcp service is exposed on a port: set expose.type to port and expose.port (domain, subdomain and path routing is for http)']],
    ['an http service with a domain and no type', { ...base, serviceType: 'http', expose: { domain: 'x.example.com' } }, []],
    ['an http service with neither type nor host', { ...base, serviceType: 'http', expose: { port: 80 } }, ['HTTP service must have domain or path']],
    ['externalTrafficPolicy on a LoadBalancer exposure', { ...base, expose: { type: 'port', port: 2000, serviceType: 'LoadBalancer', externalTrafficPolicy: 'Cluster' } }, []],
    ['a grpc service on a domain', { ...base, serviceType: 'grpc', expose: { type: 'domain', domain: 'api.example.com' } },
      ['a grpc service is exposed on a port: set expose.type to port and expose.port (domain, subdomain and path routing is for http)']],
    ['oauth2 without its Secret', { ...base, serviceType: 'http', expose: { type: 'domain', domain: 'x.example.com' }, security: { authentication: { type: 'oauth2' } } },
      ['authentication type oauth2 needs tokenSecret (the Secret with the JWT public key)']],
    ['apikey on tcp without its Secret', { ...base, security: { authentication: { type: 'apikey' } } },
      ['authentication type apikey needs tokenSecret (the Secret with the accepted keys)', 'end-user apikey authentication needs an http service, not tcp']],
    ['a keepalive over a day', { ...base, advanced: { timeout: { keepAlive: '1441m' } } },
      ['must be at most 24h (longer idle or affinity times keep state for a day or more), got 1441m']],
    ['externalTrafficPolicy on a ClusterIP exposure', { ...base, expose: { type: 'port', port: 2000, serviceType: 'ClusterIP', externalTrafficPolicy: 'Local' } },
      ['externalTrafficPolicy applies to a port exposure whose serviceType is NodePort or LoadBalancer']],
  ])('CEL rules on %s', (_name, spec, messages) => {
    expect(failing(spec)).toEqual(messages);
  });
});
