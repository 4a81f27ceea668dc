import * as fs from 'fs';
import * as path from 'path';

/**
 * The folders of lib/ form layers: a folder imports only from folders in lower
 * layers (and from itself), never from a folder above it or beside it. A lower
 * folder that needs something of a higher one takes an interface it declares
 * itself (tls' IFrpServerEndpoint, monitoring's IFrpServerMetrics), which the
 * higher one implements.
 */
const LAYERS: string[][] = [
  ['spec'], // the user's contract: types and enums
  ['frp'], // frps/frpc config model
  ['k8s', 'network', 'synth-warnings.ts', 'operator-metrics-names.ts', 'required-secrets.ts'], // internal Kubernetes helpers, NetworkPolicy peers, warnings at synth, the operator's metric names, the Secrets a bundle needs
  ['frp-auth.ts'],
  ['tls'],
  ['monitoring'],
  ['balancer'],
  ['server'],
  ['client'],
  ['service'],
  ['crd', 'external-client', 'migrate'],
  ['bundle'], // several DistributedServices as one bundle: the composition of render, operator and apps
  ['operator'], // the controller (cdk8s-frp operator) and its admission webhooks
  ['operator-deploy'], // the operator's own bundle (FrpOperator; renders the webhooks' configurations)
  ['cli'],
  ['index.ts'],
];

const LIB = path.join(__dirname, '..', 'lib');

/** The top-level entry of lib/ a file belongs to: its folder, or the file itself. */
function unitOf(file: string): string {
  return path.relative(LIB, file).split(path.sep)[0];
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap(e => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(p);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [p] : [];
  });
}

/** Relative module specifiers of a file: static imports and re-exports, import(), require(). */
export function relativeImports(text: string): string[] {
  const specs: string[] = [];
  const patterns = [/\bfrom\s+'(\.[^']*)'/g, /\bimport\s+'(\.[^']*)'/g, /\b(?:import|require)\(\s*'(\.[^']*)'\s*\)/g];
  for (const re of patterns) for (const m of text.matchAll(re)) specs.push(m[1]);
  return specs;
}

/** Imports that go sideways or up, as `from -> to (file)`. */
export function layerViolations(files: { file: string; text: string }[], layers: string[][]): string[] {
  const rank = new Map<string, number>();
  layers.forEach((units, i) => units.forEach(u => rank.set(u, i)));
  const problems: string[] = [];
  for (const { file, text } of files) {
    const from = unitOf(file);
    for (const spec of relativeImports(text)) {
      const target = path.resolve(path.dirname(file), spec);
      if (!target.startsWith(LIB + path.sep)) continue; // imports/, node packages
      const to = unitOf(target);
      // '../frp-auth' names the top-level file frp-auth.ts
      const toUnit = !rank.has(to) && rank.has(`${to}.ts`) ? `${to}.ts` : to;
      if (toUnit === from) continue;
      const rel = path.relative(LIB, file);
      if (!rank.has(from)) problems.push(`${rel}: lib/${from} is in no layer (add it to LAYERS)`);
      else if (!rank.has(toUnit)) problems.push(`${rel}: imports lib/${toUnit}, which is in no layer (add it to LAYERS)`);
      else if (rank.get(toUnit)! >= rank.get(from)!) problems.push(`${from} -> ${toUnit} (${rel} imports '${spec}')`);
    }
  }
  return [...new Set(problems)].sort();
}

describe('layering of lib/', () => {
  const files = sourceFiles(LIB).map(file => ({ file, text: fs.readFileSync(file, 'utf8') }));

  test('every folder imports only from the layers below it', () => {
    expect(layerViolations(files, LAYERS)).toEqual([]);
  });

  test('every folder and top-level file of lib/ is in a layer', () => {
    const units = fs.readdirSync(LIB).filter(n => !n.endsWith('.js') && !n.endsWith('.d.ts'));
    expect(units.filter(u => !LAYERS.flat().includes(u))).toEqual([]);
  });

  test('fails on an import from a higher layer, a sideways one, and an unknown folder', () => {
    const at = (rel: string, text: string) => ({ file: path.join(LIB, rel), text });
    expect(layerViolations([
      at('tls/a.ts', "import { FrpServer } from '../server/frp-server';"),
      at('k8s/b.ts', "export * from '../network';"),
      at('server/c.ts', "import { IssuedCertificate } from '../tls/issued-certificate';\nimport { x } from './d';"),
      at('nowhere/e.ts', "import { y } from '../frp/errors';"),
    ], LAYERS)).toEqual([
      'k8s -> network (k8s/b.ts imports \'../network\')',
      'nowhere/e.ts: lib/nowhere is in no layer (add it to LAYERS)',
      'tls -> server (tls/a.ts imports \'../server/frp-server\')',
    ]);
  });

  test('reads re-exports, side-effect imports, import() and require()', () => {
    expect(relativeImports([
      "export * from './a';",
      "import './b';",
      "const c = require('../c');",
      "const d = await import('../d/e');",
      "import * as kplus from 'cdk8s-plus-28';",
    ].join('\n')).sort()).toEqual(['../c', '../d/e', './a', './b']);
  });
});
