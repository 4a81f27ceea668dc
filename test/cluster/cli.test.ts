import { readFileSync, readdirSync } from 'fs';
import { join } from 'path';
import { parseAllDocuments, stringify } from 'yaml';
import { describeBundleOnCluster } from './bundles';
import { startCluster, writeManifests } from './cluster';
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
const prefixed = (yaml: string) => parseAllDocuments(yaml).map(d => {
  const doc = d.toJS();
  if (doc.metadata.namespace) doc.metadata.namespace = `cli-${doc.metadata.namespace}`;
  return doc;
});
const render = (name: string, docs: any[], ...options: string[]) => () => {
  let out = '';
  let err = '';
  const code = main(['render', ...options, writeManifests(`${name}-input`, docs)], s => { out += s; }, s => { err += s; });
  if (code !== 0 || err !== '') throw new Error(`render ${name}: exit ${code}: ${err}`);
  return parseAllDocuments(out).map(d => d.toJS());
};

describeBundleOnCluster('cdk8s-frp render of two services with one shared frps', render('two', [...prefixed(GRPC_SERVICE), ...prefixed(WEB_SERVICE)], '--namespace', 'cli-frp', '--subdomain-host', 'apps.example.com'));
describeBundleOnCluster('cdk8s-frp render of one service', render('one', prefixed(GRPC_SERVICE).map(d => ({ ...d, metadata: { ...d.metadata, namespace: 'cli-one' } }))));
for (const file of readdirSync(MANIFESTS).filter(f => f.endsWith('.yaml')).sort()) {
  describeBundleOnCluster(`cdk8s-frp render of examples/manifests/${file}`, render(file, prefixed(readFileSync(join(MANIFESTS, file), 'utf8'))));
}

test('the inputs are what the CLI tests render (but for the namespace)', () => {
  expect(stringify(prefixed(GRPC_SERVICE)[0].spec)).toBe(stringify(parseAllDocuments(GRPC_SERVICE)[0].toJS().spec));
});
