import { readFileSync, readdirSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments } from 'yaml';
import { renderBundle } from '../../lib/bundle/distributed-service-bundle';
import { admissionCauses, defaultingPatch, mutateReview, validateReview, withDefaults } from '../../lib/operator/admission';
import { webhookConfigurations } from '../../lib/operator/webhook-configuration';
import { admissionReview } from '../helpers/admission-review';
import { INVALID_SPECS, httpSpec, tcpSpec } from '../service/invalid-specs';

const MANIFESTS = join(__dirname, '..', '..', 'examples', 'manifests');
const examples: any[] = readdirSync(MANIFESTS).filter(f => f.endsWith('.yaml')).sort()
  .flatMap(f => parseAllDocuments(readFileSync(join(MANIFESTS, f), 'utf8')).map(d => d.toJS()));
const ds = (name: string, namespace: string, spec: any) => ({ apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: { name, namespace }, spec });
const review = admissionReview;
const none = { bundle: {}, others: [] };
/** The CLI's lines for `app/svc` as field and message. */
const cliCauses = (message: string) => message.split('\n').map(l => {
  const m = /^app\/svc: ([^:]+): ([\s\S]*)$/.exec(l)!;
  return { field: m[1], message: m[2] };
});

describe('validating: the CLI\'s checks, every problem, as an Invalid status with a cause per field', () => {
  test.each(INVALID_SPECS.map(([what, spec, message]) => [what, spec, message]))('%s', (_what, spec, message) => {
    const answer = validateReview(review(ds('svc', 'app', spec)), none);
    expect(answer).toMatchObject({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u-1', allowed: false } });
    const status = answer.response.status;
    expect(status).toMatchObject({ status: 'Failure', code: 422, reason: 'Invalid', details: { name: 'svc', group: 'frp.io', kind: 'DistributedService' } });
    // the CLI's lines (INVALID_SPECS gives the first ones it prints) are the first causes, in order
    const expected = cliCauses(message as string);
    expect(status.details.causes.slice(0, expected.length).map((c: any) => ({ field: c.field, message: c.message }))).toEqual(expected);
    expect(status.details.causes.every((c: any) => c.reason === 'FieldValueInvalid')).toBe(true);
    expect(status.message.split('\n')).toEqual(status.details.causes.map((c: any) => `${c.field}: ${c.message}`));
  });

  test('every problem of the document at once', () => {
    const causes = admissionCauses(ds('svc', 'app', tcpSpec({ serviceType: 'tcp', backends: { endpoints: [{ host: 'a', port: 70000 }, { host: 'b', port: 0 }] }, expose: { type: 'port', port: 0 } })), 'app', none);
    expect(causes.map(c => c.field).sort()).toEqual(['spec.backends.endpoints[0].port', 'spec.backends.endpoints[1].port', 'spec.expose.port']);
  });

  test('the examples are allowed, alone and all together', () => {
    expect(examples).toHaveLength(4);
    for (const e of examples) {
      expect(validateReview(review(e), none).response).toEqual({ uid: 'u-1', allowed: true });
      expect(validateReview(review(e), { bundle: {}, others: examples }).response).toEqual({ uid: 'u-1', allowed: true });
    }
  });

  test('a second service on an existing domain is refused, naming both; the existing one is not blamed for it', () => {
    const first = ds('web-a', 'team-a', httpSpec({ expose: { domain: 'shop.example.com' } }));
    const second = ds('web-b', 'team-b', httpSpec({ expose: { domain: 'shop.example.com' } }));
    const answer = validateReview(review(second), { bundle: {}, others: [first] });
    expect(answer.response.allowed).toBe(false);
    const causes = answer.response.status.details.causes;
    expect(causes).toHaveLength(1);
    expect(causes[0].field).toBe('spec.expose.domain');
    expect(causes[0].message).toMatch(/shop\.example\.com.*team-a\/web-a/);
    // the composition reports a clash at the later of the two in namespace/name order: still the newcomer's
    const earlier = ds('a-web', 'team-0', httpSpec({ expose: { domain: 'shop.example.com' } }));
    const refused = validateReview(review(earlier), { bundle: {}, others: [first] }).response;
    expect(refused.allowed).toBe(false);
    expect(refused.status.details.causes[0].message).toMatch(/team-a\/web-a.*team-0\/a-web|team-0\/a-web.*team-a\/web-a/);
  });

  test('a newcomer that would take a stored service\'s frps remote port is refused, naming both; one that gets a free port is not', () => {
    // the render hands out remote ports in namespace/name order: a-db sorts before db and would take 5432 from it
    const stored = ds('db', 'team-a', tcpSpec({ expose: { type: 'port', port: 5432 } }));
    const later = ds('other', 'team-b', tcpSpec({ expose: { type: 'port', port: 15432 } }));
    const first = validateReview(review(ds('a-db', 'team-a', tcpSpec({ expose: { type: 'port', port: 5432 } }))), { bundle: {}, others: [stored, later] }).response;
    expect(first.allowed).toBe(false);
    expect(first.status.details.causes).toEqual([
      { reason: 'FieldValueInvalid', field: 'spec.expose.port', message: 'clashes with team-a/db, stored already: team-a/a-db would take frps remote port 5432 of team-a/db and move it to 15432; give one of them another port' },
      // and so, in turn, the port of the next one
      { reason: 'FieldValueInvalid', field: 'spec.expose.port', message: 'clashes with team-b/other, stored already: team-a/a-db would take frps remote port 15432 of team-b/other and move it to 25432; give one of them another port' },
    ]);
    // sorting after it, the same exposed port gets the next free remote port and moves nobody
    expect(validateReview(review(ds('z-db', 'team-a', tcpSpec({ expose: { type: 'port', port: 5432 } }))), { bundle: {}, others: [stored] }).response.allowed).toBe(true);
    // an update of the stored one (another backend) is not a newcomer: its own stored version is not an other
    const moved = ds('db', 'team-a', tcpSpec({ expose: { type: 'port', port: 5432 }, backends: { endpoints: [{ host: 'db-2.internal', port: 5432 }] } }));
    expect(validateReview(review(moved, { operation: 'UPDATE', oldObject: stored }), { bundle: {}, others: [stored, later] }).response.allowed).toBe(true);
  });

  test('problems the others have without the object are not the object\'s; its own stored version is not an other', () => {
    const broken = ds('old', 'team-a', tcpSpec({ backends: { endpoints: [{ host: 'a', port: 70000 }] } }));
    const mine = ds('db', 'team-b', tcpSpec({ expose: { type: 'port', port: 6000 } }));
    expect(validateReview(review(mine), { bundle: {}, others: [broken, { ...mine, spec: tcpSpec({ expose: { type: 'port', port: 1 } }) }] }).response.allowed).toBe(true);
  });

  test('the bundle options count: a subdomain needs the operator\'s --subdomain-host', () => {
    const sub = ds('web', 'app', httpSpec({ expose: { type: 'subdomain', subdomain: 'web' } }));
    expect(validateReview(review(sub), none).response.allowed).toBe(false);
    expect(validateReview(review(sub), { bundle: { subDomainHost: 'example.com' }, others: [] }).response.allowed).toBe(true);
  });

  test('let through: another kind, DELETE, subresources, an update that leaves the spec alone (the finalizer\'s removal), an object being deleted', () => {
    const bad = ds('svc', 'app', tcpSpec({ expose: { type: 'port', port: 0 } }));
    expect(validateReview(review(bad, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }), none).response.allowed).toBe(true);
    expect(validateReview(review(bad, { operation: 'DELETE' }), none).response.allowed).toBe(true);
    expect(validateReview(review(bad, { subResource: 'status' }), none).response.allowed).toBe(true);
    expect(validateReview(review(bad, { operation: 'UPDATE', oldObject: bad }), none).response.allowed).toBe(true);
    expect(validateReview(review({ ...bad, metadata: { ...bad.metadata, deletionTimestamp: '2026-12-06T00:00:00Z' } }, { operation: 'UPDATE', oldObject: { ...bad, spec: {} } }), none).response.allowed).toBe(true);
    // the same update with a changed spec is checked
    expect(validateReview(review(bad, { operation: 'UPDATE', oldObject: { ...bad, spec: tcpSpec() } }), none).response.allowed).toBe(false);
  });

  test('a body that is not an AdmissionReview v1 is refused as a bad request', () => {
    expect(validateReview({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }, none).response)
      .toMatchObject({ uid: 'x', allowed: false, status: { code: 400, reason: 'BadRequest' } });
    expect(mutateReview(null, none).response).toMatchObject({ uid: '', allowed: false, status: { code: 400 } });
  });
});

describe('mutating: the defaulter as a JSON Patch', () => {
  const decode = (answer: any) => JSON.parse(Buffer.from(answer.response.patch, 'base64').toString('utf8'));

  test('seed 000\'s defaults and expose.type by serviceType', () => {
    const tcp = ds('db', 'app', { serviceType: 'tcp', backends: { endpoints: [{ host: 'a', port: 1 }] }, expose: { port: 5432 }, security: { mtls: { enabled: true } } });
    const answer = mutateReview(review(tcp), none);
    expect(answer.response).toMatchObject({ uid: 'u-1', allowed: true, patchType: 'JSONPatch' });
    expect(decode(answer)).toEqual([
      { op: 'add', path: '/spec/loadBalancing', value: {} },
      { op: 'add', path: '/spec/loadBalancing/algorithm', value: 'random' },
      { op: 'add', path: '/spec/loadBalancing/healthCheck', value: {} },
      { op: 'add', path: '/spec/loadBalancing/healthCheck/type', value: 'tcp' },
      { op: 'add', path: '/spec/security/mtls/mode', value: 'auto' },
      { op: 'add', path: '/spec/expose/type', value: 'port' },
    ]);
    const http = withDefaults(ds('web', 'app', httpSpec({ loadBalancing: { algorithm: 'least-conn', healthCheck: { enabled: true } } })));
    expect(http.spec.loadBalancing).toEqual({ algorithm: 'least-conn', healthCheck: { enabled: true, type: 'http' } });
    expect(http.spec.expose.type).toBe('domain');
  });

  test('nothing the user set is overwritten; a disabled check gets no type; the patch is idempotent', () => {
    const off = ds('web', 'app', httpSpec({ loadBalancing: { algorithm: 'round-robin', healthCheck: { enabled: false } }, expose: { type: 'path', domain: 'x.example.com', path: '/a' } }));
    expect(defaultingPatch(off)).toEqual([]);
    for (const e of examples) expect(defaultingPatch(withDefaults(e))).toEqual([]);
  });

  test('the defaults are what the render assumes: the examples and the CLI manifests render byte-identical with them', () => {
    const cases = [...examples, ...INVALID_SPECS.map(([, spec]) => ds('svc', 'app', spec)), ds('db', 'app', { serviceType: 'tcp', backends: { endpoints: [{ host: 'a', port: 1 }] }, expose: { port: 5432 } }),
      ds('dns', 'app', { serviceType: 'udp', backends: { discovery: { mode: 'dns', port: 53 } }, expose: { port: 5353 } })];
    let rendered = 0;
    for (const c of cases) {
      const yaml = (m: any) => {
        try {
          return renderBundle([{ source: 's', manifest: m }], {}).yaml;
        } catch (e) {
          return `refused:\n${(e as Error).message}`;
        }
      };
      const before = yaml(c);
      if (!before.startsWith('refused')) rendered++;
      expect(yaml(withDefaults(c)).startsWith('refused')).toBe(before.startsWith('refused'));
      if (!before.startsWith('refused')) expect(yaml(withDefaults(c))).toBe(before);
    }
    expect(rendered).toBe(6);
  });

  test('an invalid object is refused here already, with the CLI\'s messages (mutating webhooks run before the CRD\'s schema and CEL)', () => {
    const answer = mutateReview(review(ds('svc', 'app', tcpSpec({ backends: { endpoints: [{ host: 'a', port: 70000 }] } }))), none);
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status.details.causes).toEqual([{ reason: 'FieldValueInvalid', field: 'spec.backends.endpoints[0].port', message: 'must be from 1 to 65535, got 70000' }]);
  });
});

describe('the webhook configurations', () => {
  test('fail closed, no side effects, v1 reviews, CREATE/UPDATE of distributedservices, the served namespaces', () => {
    const [mutating, validating] = webhookConfigurations({ url: 'https://127.0.0.1:9443', caBundle: 'PEM' }, { namespaces: ['b', 'a'] });
    expect(mutating.kind).toBe('MutatingWebhookConfiguration');
    expect(validating.kind).toBe('ValidatingWebhookConfiguration');
    for (const c of [mutating, validating]) {
      expect(c.webhooks).toHaveLength(1);
      expect(c.webhooks[0]).toMatchObject({
        failurePolicy: 'Fail',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 10,
        rules: [{ apiGroups: ['frp.io'], apiVersions: ['v1beta1'], operations: ['CREATE', 'UPDATE'], resources: ['distributedservices'], scope: 'Namespaced' }],
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['a', 'b'] }] },
      });
      expect(c.webhooks[0].clientConfig.caBundle).toBe(Buffer.from('PEM').toString('base64'));
    }
    expect(mutating.webhooks[0].clientConfig.url).toBe('https://127.0.0.1:9443/mutate-frp-io-v1beta1-distributedservice');
    const inCluster = webhookConfigurations({ service: { namespace: 'frp-system', name: 'op', port: 443 } }, { namespaces: [] });
    expect(inCluster[1].webhooks[0].clientConfig).toEqual({ service: { namespace: 'frp-system', name: 'op', port: 443, path: '/validate-frp-io-v1beta1-distributedservice' } });
    expect(inCluster[1].webhooks[0].namespaceSelector).toEqual({});
  });
});
