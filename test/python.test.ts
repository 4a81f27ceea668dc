import { execFileSync, spawnSync } from 'child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import * as ts from 'typescript';

// The jsii Python wheel, installed into a venv (scripts/python-wheel.sh), runs
// the README's Python quick start; its YAML must equal the TypeScript quick
// start's byte for byte.
const ROOT = join(__dirname, '..');
const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
/** The tracked files git sees changed (packaging must leave the checkout as it was). */
const changedFiles = () => execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' });

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
    const unchanged = changedFiles();
    const python = execFileSync(join(ROOT, 'scripts', 'python-wheel.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim().split('\n').pop()!;
    // jsii-pacmak appended 'dist-pkg' to .npmignore on every package:python
    expect(changedFiles()).toBe(unchanged);
    // the package runs its JavaScript on the node first on PATH: on a supported LTS
    // (scripts/with-node.sh: the machine's 22 or 24, else 22 from the npm registry) it
    // prints nothing, no end-of-life banner
    const node = execFileSync(join(ROOT, 'scripts', 'with-node.sh'), { encoding: 'utf8' }).trim().split(' ')[0];
    const run = spawnSync(python, [join(dir, 'quickstart.py')], {
      cwd: dir,
      encoding: 'utf8',
      timeout: 300_000,
      env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH}`, CDK8S_OUTDIR: join(dir, 'py') },
    });
    expect({ status: run.status, stderr: run.stderr }).toEqual({ status: 0, stderr: '' });

    const tsYaml = readFileSync(join(dir, 'ts', 'ai.k8s.yaml'), 'utf8');
    const pyYaml = readFileSync(join(dir, 'py', 'ai.k8s.yaml'), 'utf8');
    expect(tsYaml).toContain('kind: Ingress');
    expect(pyYaml).toBe(tsYaml);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 900_000);
