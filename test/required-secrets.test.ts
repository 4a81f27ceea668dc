// Issue 19 §1: every Secret a bundle reads but does not create is listed, derived
// from the rendered objects. The oracle here is independent of the library's
// walk: every "secretName" and Secret reference anywhere in any object.
import { readdirSync } from 'fs';
import { join } from 'path';
import * as fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { RequiredSecrets } from '../lib';
import { cases, runInProcess } from './helpers/input-cases';
import { main } from '../lib/cli/render';

const examples = join(__dirname, '..', 'examples', 'manifests');

/** Every Secret an object refers to, found by any field that names one (not by where the library puts them). */
function oracle(objects: any[]): { reads: Set<string>; created: Set<string>; optional: string[] } {
  const reads = new Set<string>();
  const created = new Set<string>();
  const optional: string[] = [];
  for (const o of objects) {
    const ns = o.metadata?.namespace ?? 'default';
    if (o.kind === 'Secret') created.add(`${ns}/${o.metadata.name}`);
    if (o.kind === 'Certificate') created.add(`${ns}/${o.spec.secretName}`);
    const walk = (v: any, path: string[]) => {
      if (Array.isArray(v)) return v.forEach((x, i) => walk(x, [...path, String(i)]));
      if (!v || typeof v !== 'object') return;
      for (const [k, x] of Object.entries(v)) {
        const at = [...path, k];
        if (k === 'secretName' && typeof x === 'string' && !(o.kind === 'Certificate' && at.join('.') === 'spec.secretName')) {
          // a ClusterIssuer's CA lives where cert-manager keeps it: next to the Certificate that fills it
          const where = o.kind === 'ClusterIssuer' ? objects.find(c => c.kind === 'Certificate' && c.spec.secretName === x)?.metadata.namespace ?? 'cert-manager' : ns;
          reads.add(`${where}/${x}`);
        }
        if ((k === 'secretKeyRef' || k === 'secretRef' || (k === 'secret' && path.includes('sources'))) && typeof (x as any)?.name === 'string') reads.add(`${ns}/${(x as any).name}`);
        if ((k === 'secretKeyRef' || k === 'secretRef' || k === 'secret') && (x as any)?.optional === true) optional.push(`${o.kind}/${o.metadata.name} ${at.join('.')}`);
        walk(x, at);
      }
    };
    walk(o, []);
  }
  return { reads, created, optional };
}

function expectListed(objects: any[]) {
  const { reads, created, optional } = oracle(objects);
  const listed = RequiredSecrets.fromObjects(objects);
  expect(listed.map(s => `${s.namespace}/${s.name}`)).toEqual([...reads].filter(r => !created.has(r)).sort());
  // a missing Secret must stop the pod (Kubernetes' own event: secret "x" not found), never be skipped
  expect(optional).toEqual([]);
  for (const s of listed) {
    expect(s.readBy.length).toBeGreaterThan(0);
    expect(s.create).toMatch(new RegExp(`^kubectl -n ${s.namespace} create secret (generic|tls) ${s.name.replace(/\./g, '\\.')} `));
    for (const k of s.keys) expect(s.create.includes(`${k}=`) || (s.create.includes(' tls ') && ['tls.crt', 'tls.key'].includes(k))).toBe(true);
  }
  return listed;
}

describe('RequiredSecrets: what a bundle reads and does not create (issue 19)', () => {
  test('the four seed examples rendered together: token in every namespace, group keys, API keys, the OAuth2 key, a user CA and a client key pair; never the Secrets cert-manager fills', () => {
    let out = '';
    const files = readdirSync(examples).filter(f => f.endsWith('.yaml')).map(f => join(examples, f));
    expect(main(['render', '--namespace', 'frp', ...files], (s: string) => { out += s; }, () => {})).toBe(0);
    const objects = parseAllDocuments(out).map(d => d.toJS());
    const listed = expectListed(objects);
    const byName = new Map(listed.map(s => [`${s.namespace}/${s.name}`, s]));
    expect(byName.get('ai-services/ollama-cluster-group-key')).toMatchObject({ keys: ['group-key'], readBy: ['Deployment/ollama-cluster-frpc'] });
    expect(byName.get('ai-services/ollama-api-keys')).toMatchObject({ keys: ['keys'] });
    expect(byName.get('web/oauth2-config')).toMatchObject({ keys: ['public-key.pem'] });
    expect(byName.get('frp/internal-ca')).toMatchObject({ keys: ['tls.crt'], readBy: ['Deployment/frps'] });
    expect(byName.get('microservices/user-service-cert')).toMatchObject({ keys: ['tls.crt', 'tls.key'] });
    for (const ns of ['frp', 'ai-services', 'databases', 'microservices', 'web']) expect(byName.get(`${ns}/frp-token`)).toMatchObject({ keys: ['token'] });
    expect([...byName.keys()].filter(k => /-tls$|-root$|server-ca$/.test(k))).toEqual([]);
  });

  test('property: for generated bundles, exactly the Secrets some object refers to and none creates, and no reference is optional', () => {
    let rendered = 0;
    fc.assert(fc.property(cases, (c) => {
      const r = runInProcess(c);
      if (r.code !== 0) return;
      rendered++;
      expectListed(parseAllDocuments(r.out).map(d => d.toJS()));
    }), { numRuns: 150, seed: 19 });
    expect(rendered).toBeGreaterThan(20);
  });
});
