// One composition, three doors (issue 17 §1): an app (DistributedServiceBundle in
// a cdk8s App), the CLI (`cdk8s-frp render`) and the operator (renderBundle) give
// the same objects for the same manifests and options, byte for byte; and the
// problems of invalid input are the same, each at its source.
import { readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { App } from 'cdk8s';
import * as fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { DistributedServiceBundle } from '../../lib';
import { BundleError, renderBundle } from '../../lib/bundle/distributed-service-bundle';
import { main, parseArgs, readManifests } from '../../lib/cli/render';
import { cases, runInProcess, writeCase } from '../helpers/input-cases';

const SEED = Number(process.env.DOORS_SEED ?? 20261206);
const RUNS = Number(process.env.DOORS_RUNS ?? 150);
const EXAMPLES = join(__dirname, '..', '..', 'examples', 'manifests');

/** The bundle options the CLI parses from `args` (the files are the case's). */
function optionsOf(args: string[]) {
  const o = parseArgs(['render', ...args, 'x.yaml']);
  if (o === 'help') throw new Error('help');
  return o;
}

/** The app door: the user's own cdk8s App with the construct. */
function appYaml(inputs: { source: string; manifest: unknown }[], args: string[]): string {
  const app = new App();
  new DistributedServiceBundle(app, { ...optionsOf(args), manifests: inputs.map(i => i.manifest), sources: inputs.map(i => i.source) });
  return app.synthYaml();
}

describe('DistributedServiceBundle: the app, the CLI and the operator render alike', () => {
  test('the example manifests together: the three doors give byte-identical YAML and the same objects', () => {
    const files = readdirSync(EXAMPLES).filter(f => f.endsWith('.yaml')).sort().map(f => join(EXAMPLES, f));
    let cli = '';
    expect(main(['render', ...files], s => { cli += s; }, () => {})).toBe(0);
    const { inputs, errors } = readManifests(files);
    expect(errors).toEqual([]);
    expect(inputs.length).toBe(files.length);
    const operator = renderBundle(inputs);
    expect(appYaml(inputs, [])).toBe(cli);
    expect(operator.yaml).toBe(cli);
    expect(operator.objects).toEqual(parseAllDocuments(cli).map(d => d.toJS()));
    // what the bundle means: one frps for the four services, each service's frpc in its namespace
    const frps = operator.objects.filter(o => o.kind === 'Deployment' && o.metadata.labels['app.kubernetes.io/component'] === 'tunnel-server');
    expect(frps).toHaveLength(1);
    const namespaces = new Set(inputs.map(i => (i.manifest as any).metadata.namespace));
    for (const ns of namespaces) {
      expect(operator.objects.some(o => o.kind === 'ConfigMap' && o.metadata.namespace === ns && /frpc/.test(o.metadata.name))).toBe(true);
    }
  });

  test(`${RUNS} generated cases (seed ${SEED}): same output, or the same problems at the same sources`, () => {
    let rendered = 0;
    let refused = 0;
    fc.assert(fc.property(cases, (c) => {
      const cli = runInProcess(c);
      const { inputs, errors } = readManifests(writeCase(c));
      if (errors.length > 0 || inputs.length === 0) {
        expect(cli.code).toBe(1); // a YAML problem: the CLI refuses, whatever the doors say
        return;
      }
      let operator: ReturnType<typeof renderBundle> | undefined;
      let problems: string | undefined;
      try {
        operator = renderBundle(inputs, optionsOf(c.options));
      } catch (e) {
        expect(e).toBeInstanceOf(BundleError);
        problems = (e as BundleError).message;
        expect((e as BundleError).problems.length).toBeGreaterThan(0);
      }
      // the sources of this run are other file names: compare without them
      const unnamed = (s: string) => s.replace(/\S+\/c\d+\.yaml/g, 'FILE');
      if (operator) {
        rendered++;
        expect(cli.code).toBe(0);
        expect(operator.yaml).toBe(cli.out);
        expect(appYaml(inputs, c.options)).toBe(cli.out);
      } else {
        refused++;
        expect(cli.code).toBe(1);
        expect(unnamed(`cdk8s-frp: ${problems}\n`)).toBe(unnamed(cli.err));
        expect(() => appYaml(inputs, c.options)).toThrow(problems!.split('\n')[0]);
      }
    }), { numRuns: RUNS, seed: SEED, endOnFailure: true });
    // both outcomes are reached, or the property proves little
    expect(rendered).toBeGreaterThan(RUNS / 10);
    expect(refused).toBeGreaterThan(RUNS / 10);
  }, 900_000);

  test('invalid input: every problem of every manifest, each at its source, in a BundleError', () => {
    const good = readFileSync(join(EXAMPLES, readdirSync(EXAMPLES).filter(f => f.endsWith('.yaml')).sort()[0]), 'utf8');
    const manifest = parseAllDocuments(good)[0].toJS();
    const bad1 = { ...manifest, metadata: { ...manifest.metadata, name: 'Bad_Name' } };
    const bad2 = { ...manifest, metadata: { ...manifest.metadata, name: 'second' }, spec: { ...manifest.spec, serviceType: 'smtp' } };
    try {
      renderBundle([{ source: 'a/one', manifest: bad1 }, { source: 'b/two', manifest: bad2 }]);
      throw new Error('rendered');
    } catch (e) {
      expect(e).toBeInstanceOf(BundleError);
      const p = (e as BundleError).problems;
      expect(p.filter(x => x.source === 'a/one').map(x => x.message).join('\n')).toMatch(/^metadata\.name: /);
      expect(p.filter(x => x.source === 'b/two').map(x => x.message).join('\n')).toMatch(/spec\.serviceType/);
      expect((e as Error).message.split('\n').every(l => /^(a\/one|b\/two): /.test(l))).toBe(true);
    }
  });
});
