import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as ts from 'typescript';

// The jsii Python wheel, installed into a venv (scripts/python-wheel.sh), runs
// the README's Python quick start; its YAML must equal the TypeScript quick
// start's byte for byte.
const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

test('the README quick start in Python synthesizes byte-identical YAML to the TypeScript one', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cdk8s-frp-python-'));
  try {
    // TypeScript: the README block, with the library from this checkout
    const tsBlock = /## Quick start[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme)![1].replace("from 'cdk8s-frp'", "from '../lib'");
    const js = ts.transpileModule(tsBlock, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }).outputText;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const load = (id: string) => require(id.startsWith('../lib') ? join(__dirname, id) : id);
    const before = process.env.CDK8S_OUTDIR;
    process.env.CDK8S_OUTDIR = join(dir, 'ts');
    try {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval
      new Function('require', 'module', 'exports', js)(load, { exports: {} }, {});
    } finally {
      if (before === undefined) delete process.env.CDK8S_OUTDIR; else process.env.CDK8S_OUTDIR = before;
    }

    // Python: the README block, run by the wheel in a venv
    const pyBlock = /## Quick start[\s\S]*?```python\n([\s\S]*?)```/.exec(readme)![1];
    writeFileSync(join(dir, 'quickstart.py'), pyBlock);
    const python = execFileSync(join(__dirname, '..', 'scripts', 'python-wheel.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
    execFileSync(python, [join(dir, 'quickstart.py')], { cwd: dir, env: { ...process.env, CDK8S_OUTDIR: join(dir, 'py') }, stdio: ['ignore', 'ignore', 'inherit'] });

    const tsYaml = readFileSync(join(dir, 'ts', 'ai.k8s.yaml'), 'utf8');
    const pyYaml = readFileSync(join(dir, 'py', 'ai.k8s.yaml'), 'utf8');
    expect(tsYaml).toContain('kind: Ingress');
    expect(pyYaml).toBe(tsYaml);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 900_000);
