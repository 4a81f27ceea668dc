import { readFileSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdk8s';
import * as ts from 'typescript';
import { expectValidBundle } from './helpers';

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

test('the README quick start builds a valid bundle with what it promises', () => {
  const block = /## Quick start[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme);
  expect(block).not.toBeNull();
  const source = block![1]
    .replace("from 'cdk8s-frp'", "from '../lib'")
    .replace('app.synth();', 'module.exports = chart;');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }).outputText;
  const mod = { exports: undefined as any };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = (id: string) => require(id.startsWith('../lib') ? join(__dirname, id) : id);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('require', 'module', 'exports', js)(load, mod, {});
  const manifests = Testing.synth(mod.exports);
  expectValidBundle(manifests);
  // "frps, frpc members in one group, Ingress, CA + certificates, NetworkPolicies"
  const kinds = new Set(manifests.map((m: any) => m.kind));
  for (const kind of ['Deployment', 'Ingress', 'Certificate', 'Issuer', 'NetworkPolicy']) expect(kinds).toContain(kind);
  const frpc = manifests.find((m: any) => m.kind === 'ConfigMap' && m.data?.['frpc.toml']).data['frpc.toml'];
  expect(frpc).toContain('group = "ai-services-ollama"');
  expect(manifests.filter((m: any) => m.kind === 'Secret')).toEqual([]);
});

test('the README set-up commands are the ones CI runs', () => {
  const ci = readFileSync(join(__dirname, '..', '.ci', 'run'), 'utf8');
  const testCommand = /# 2\.[^\n]*\n([^\n]+)/.exec(readme)![1].trim();
  expect(ci).toContain(testCommand);
  expect(readme).toContain('npm ci && npx cdk8s synth');
});
