import { readFileSync, readdirSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments, stringify } from 'yaml';
import { cliRender, describeBundleOnCluster, withNamespacePrefix } from './bundles';
import { ensureNamespaces, serverSideApply, serverSideDiff, startCluster, writeManifests } from './cluster';
import { main } from '../../lib/cli/render';
import { GRPC_SERVICE, WEB_SERVICE } from '../helpers/cli-manifests';

jest.setTimeout(300_000);
beforeAll(() => startCluster());

/**
 * The CLI's bundles for the manifests its tests render (test/cli.test.ts,
 * test/seed-examples.test.ts). Their namespaces get a "cli-" prefix (in the
 * input, so the CLI renders every reference to them) so that they do not
 * overwrite the example bundles in the same cluster.
 */
const MANIFESTS = join(__dirname, '..', '..', 'examples', 'manifests');
const prefixed = (yaml: string) => withNamespacePrefix('cli-', yaml);
const render = (name: string, docs: any[], ...options: string[]) => () => cliRender(name, docs, ...options);

describeBundleOnCluster('cdk8s-frp render of two services with one shared frps', render('two', [...prefixed(GRPC_SERVICE), ...prefixed(WEB_SERVICE)], '--namespace', 'cli-frp', '--subdomain-host', 'apps.example.com'));
describeBundleOnCluster('cdk8s-frp render of one service', render('one', prefixed(GRPC_SERVICE).map(d => ({ ...d, metadata: { ...d.metadata, namespace: 'cli-one' } }))));
for (const file of readdirSync(MANIFESTS).filter(f => f.endsWith('.yaml')).sort()) {
  describeBundleOnCluster(`cdk8s-frp render of examples/manifests/${file}`, render(file, prefixed(readFileSync(join(MANIFESTS, file), 'utf8'))));
}
// all four in one run: auto, manual and no mTLS on one frps (its init container joins the client CAs)
describeBundleOnCluster('cdk8s-frp render of the four example manifests together', render('four',
  readdirSync(MANIFESTS).filter(f => f.endsWith('.yaml')).sort().flatMap(f => prefixed(readFileSync(join(MANIFESTS, f), 'utf8'))), '--namespace', 'cli-four-frp'));

// What the other CLI tests render: frps replicas (test/server/ha.test.ts), expose.gateway
// (test/service/gateway.test.ts), external access to frps (test/external-client/frp-external-client.test.ts).
const TCP_PG = { apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: { name: 'pg', namespace: 'cli-ha' }, spec: { serviceType: 'tcp', backends: { endpoints: [{ host: 'pg.internal', port: 5432 }] }, expose: { type: 'port', port: 5432 } } };
describeBundleOnCluster('cdk8s-frp render --frps-replicas 3', render('ha', [TCP_PG], '--frps-replicas', '3'));
describeBundleOnCluster('cdk8s-frp render of expose.gateway', render('gateway', [{
  apiVersion: 'frp.io/v1beta1',
  kind: 'DistributedService',
  metadata: { name: 'dns', namespace: 'cli-edge' },
  spec: { serviceType: 'udp', backends: { endpoints: [{ host: '10.0.0.53', port: 53 }] }, expose: { type: 'port', port: 53, gateway: { name: 'public', namespace: 'gateways', sectionName: 'dns' } } },
}]));
describeBundleOnCluster('cdk8s-frp render with external access to frps', render('external', [
  { apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: { name: 'ollama', namespace: 'cli-ai' }, spec: { serviceType: 'http', backends: { endpoints: [{ host: 'ollama-0.ai.svc', port: 11434 }] }, expose: { domain: 'llm.example.com', path: '/v1' }, loadBalancing: { healthCheck: { path: '/api/health' } }, security: { mtls: { enabled: true } } } },
  { ...TCP_PG, metadata: { name: 'pg', namespace: 'cli-ai' } },
], '--namespace', 'cli-ext-frp', '--frps-service-type', 'LoadBalancer', '--frps-address', 'frps.example.com', '--client-cidr', '198.51.100.0/24'));

// `cdk8s-frp import` of frp's own example configs (test/migrate/import.test.ts): the
// DistributedServices it writes are accepted as they are, and their bundle applies.
const FRP_EXAMPLES = join(__dirname, '..', 'fixtures', 'frp');
const imported = (ns: string, ...files: string[]) => {
  let out = '';
  expect(main(['import', ...files], s => { out += s; }, () => undefined)).toBe(0);
  return parseAllDocuments(out).map(d => ({ ...d.toJS(), metadata: { ...d.toJS().metadata, namespace: ns } }));
};
describe.each<[string, string]>([
  ['frpc_full_example.toml', 'cli-import-full'],
  ['legacy/frpc_legacy_full.ini', 'cli-import-legacy'],
])('cdk8s-frp import of frp\'s %s', (example, ns) => {
  test('its DistributedServices are accepted by the API server (server-side apply, no warning, no diff)', () => {
    const docs = imported(ns, join(FRP_EXAMPLES, example));
    expect(docs.length).toBeGreaterThan(1);
    ensureNamespaces(docs);
    const file = writeManifests(`imported-${ns}`, docs);
    const r = serverSideApply(file);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const diff = serverSideDiff(file);
    expect([diff.status, diff.stdout, diff.stderr]).toEqual([0, '', '']);
  });
});
describeBundleOnCluster('cdk8s-frp render of the import of frp\'s frpc_full_example.toml', () => {
  return render('imported-full', imported('cli-import-full', join(FRP_EXAMPLES, 'frpc_full_example.toml')), '--subdomain-host', 'apps.example.com')();
});

test('the inputs are what the CLI tests render (but for the namespace)', () => {
  expect(stringify(prefixed(GRPC_SERVICE)[0].spec)).toBe(stringify(parseAllDocuments(GRPC_SERVICE)[0].toJS().spec));
});
