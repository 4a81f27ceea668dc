// Every problem of every document at once, in document order (issue 19 §2): a
// document with problems of its own is still rendered without the fields they
// are at, so that what only rendering finds (its clashes with other documents,
// problems of its other fields) is reported in the same run.
import * as fc from 'fast-check';
import { BundleError, renderBundle } from '../../lib/bundle/distributed-service-bundle';

const http = (name: string, domain: string, extra: any = {}) => ({
  apiVersion: 'frp.io/v1beta1',
  kind: 'DistributedService',
  metadata: { name, namespace: 'apps' },
  spec: { serviceType: 'http', backends: { endpoints: [{ host: '10.0.0.1', port: 8080 }] }, expose: { domain }, ...extra },
});

function problemsOf(manifests: any[]): string[] {
  try {
    renderBundle(manifests.map((manifest, i) => ({ source: `document ${i + 1}`, manifest })));
  } catch (e) {
    expect(e).toBeInstanceOf(BundleError);
    return (e as Error).message.split('\n');
  }
  throw new Error('rendered');
}

/** Wrong values a field can hold that the document check refuses on its own. */
const WRONG: [string, (spec: any) => void][] = [
  ['spec.advanced.timeouts', s => { s.advanced = { timeouts: { connect: '5x' } }; }],
  ['spec.loadBalancing.algorithm', s => { s.loadBalancing = { algorithm: 'bogus' }; }],
  ['spec.loadBalancing.healthCheck.interval', s => { s.loadBalancing = { healthCheck: { interval: 'soon' } }; }],
  ['spec.unknownField', s => { s.unknownField = 1; }],
];

describe('every problem at once', () => {
  test('a clash with a document that has a problem of its own is reported with that problem', () => {
    const lines = problemsOf([http('b', 'x.example.com', { advanced: { timeouts: {} } }), http('c', 'x.example.com')]);
    expect(lines[0]).toMatch(/^document 1: apps\/b: spec\.advanced\.timeouts: is not a known field/);
    // before: only the line above; the clash showed once it was fixed
    expect(lines.some(l => /^document 2: apps\/c: spec\.expose\.domain: the route http:\/\/x\.example\.com\/ is already served by apps\/b/.test(l))).toBe(true);
  });

  test('problems come in document order, whatever the stage that finds them', () => {
    // document 2's own problem is found first, document 1's clash later (rendering, name order)
    const lines = problemsOf([http('z', 'x.example.com'), http('a', 'y.example.com', { loadBalancing: { algorithm: 'bogus' } }), http('m', 'x.example.com')]);
    const docs = lines.map(l => Number(/^document (\d+):/.exec(l)![1]));
    expect(docs).toEqual([...docs].sort((p, q) => p - q));
    expect(lines.some(l => l.startsWith('document 2: apps/a: spec.loadBalancing.algorithm:'))).toBe(true);
    expect(lines.some(l => l.startsWith('document 3: apps/m: spec.expose.domain:') || l.startsWith('document 1: apps/z: spec.expose.domain:'))).toBe(true);
  });

  test('property: a document-level problem never hides a clash, and the repaired document adds no problem at the fields already reported', () => {
    fc.assert(fc.property(fc.nat(WRONG.length - 1), fc.boolean(), (w, wrongFirst) => {
      const [field, spoil] = WRONG[w];
      const spoilt = http('spoilt', 'x.example.com');
      spoil(spoilt.spec);
      const other = http('other', 'x.example.com');
      const lines = problemsOf(wrongFirst ? [spoilt, other] : [other, spoilt]);
      const spoiltDoc = wrongFirst ? 1 : 2;
      const own = lines.filter(l => l.startsWith(`document ${spoiltDoc}: apps/spoilt: ${field}`));
      expect(own.length).toBe(1); // reported once, not again by rendering
      expect(lines.some(l => /spec\.expose\.domain: the route http:\/\/x\.example\.com\/ is already served by/.test(l))).toBe(true);
      expect(lines.every(l => /^document [12]: apps\/(spoilt|other): (spec|metadata)[.[]/.test(l))).toBe(true);
    }), { numRuns: 24, seed: 7 });
  });

  test('a document that cannot be rendered without its wrong fields is reported as before, and nothing more is made up for it', () => {
    const bad = http('a', 'x.example.com');
    (bad.spec.backends.endpoints[0] as any).port = 70000; // a required field: no copy without it
    const lines = problemsOf([bad]);
    expect(lines).toEqual(['document 1: apps/a: spec.backends.endpoints[0].port: must be from 1 to 65535, got 70000']);
  });
});
