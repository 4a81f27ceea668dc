import { parseAllDocuments } from 'yaml';
import { drift, ensureNamespaces, kubectl, liveObjects, podsOf, serverSideApply, serverSideDiff, toYaml, writeManifests } from './cluster';
import { main } from '../../lib/cli/render';
import { withoutRequiredSecrets } from '../helpers/stderr';

/**
 * The documents of `yaml` with `prefix` put before every namespace (in the input,
 * so the CLI renders every reference to them): bundles of different test files
 * then never overwrite each other in the one cluster.
 */
export function withNamespacePrefix(prefix: string, yaml: string): any[] {
  return parseAllDocuments(yaml).map(d => {
    const doc = d.toJS();
    if (doc.metadata.namespace) doc.metadata.namespace = `${prefix}${doc.metadata.namespace}`;
    return doc;
  });
}

/** `cdk8s-frp render OPTIONS FILE` of `docs` (written to a file named after `name`): the objects. */
export function cliRender(name: string, docs: any[], ...options: string[]): any[] {
  let out = '';
  let err = '';
  const code = main(['render', ...options, writeManifests(`${name}-input`, docs)], s => { out += s; }, s => { err += s; });
  if (code !== 0 || withoutRequiredSecrets(err) !== '') throw new Error(`render ${name}: exit ${code}: ${err}`);
  return parseAllDocuments(out).map(d => d.toJS());
}

/**
 * The checks of record for a rendered bundle on the test API server, as jest
 * tests: server-side apply as Argo CD (PodSecurity restricted namespaces, no
 * errors, no warnings), a second apply and `kubectl diff --server-side` with
 * no difference, every rendered field read back unchanged, and the workloads'
 * pods accepted by PodSecurity restricted (created with --dry-run=server).
 */
export function describeBundleOnCluster(name: string, render: () => any[]): void {
  describe(`${name} on the API server`, () => {
    let docs: any[];
    let file: string;
    beforeAll(() => {
      docs = render();
      file = writeManifests(name, docs);
      ensureNamespaces(docs);
    });

    test('server-side apply as argocd-controller into restricted namespaces: no error, no warning', () => {
      const r = serverSideApply(file);
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(docs.length);
      expect(r.stdout.trim().split('\n').every(l => l.endsWith(' serverside-applied'))).toBe(true);
    });

    test('applied again, kubectl diff --server-side shows no difference', () => {
      const again = serverSideApply(file);
      expect(again.stderr).toBe('');
      expect(again.status).toBe(0);
      const diff = serverSideDiff(file);
      expect(diff.stderr).toBe('');
      expect(diff.stdout).toBe('');
      expect(diff.status).toBe(0);
    });

    test('every rendered field reads back unchanged (what the server stores is what we render)', () => {
      const live = liveObjects(file);
      expect(live).toHaveLength(docs.length);
      expect(docs.flatMap((d, i) => drift(d, live[i], `${d.kind}/${d.metadata.name}`))).toEqual([]);
    });

    test('the pods of every workload pass PodSecurity restricted (create --dry-run=server)', () => {
      const pods = podsOf(docs);
      expect(pods.length).toBeGreaterThan(0);
      const r = kubectl(['create', '--dry-run=server', '-f', '-'], toYaml(pods));
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      expect(r.stdout.trim().split('\n')).toEqual(pods.map(p => `pod/${p.metadata.name} created (server dry run)`));
    });
  });
}
