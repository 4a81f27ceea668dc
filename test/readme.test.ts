import { readFileSync } from 'fs';
import { join } from 'path';
import { Testing } from 'cdk8s';
import * as ts from 'typescript';
import { expectValidBundle } from './helpers';
import { RequiredSecrets } from '../lib';

const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');

test('the README quick start builds a valid bundle with what it promises', () => {
  const block = /## Quick start[\s\S]*?```ts\n([\s\S]*?)```/.exec(readme);
  expect(block).not.toBeNull();
  const source = block![1]
    .replace("from 'cdk8s-frp'", "from '../lib'")
    .replace(/for \(const line of RequiredSecrets[^\n]*\n/, '')
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

test('the README quick start creates every Secret its bundle reads and does not create (issue 19)', () => {
  const section = /## Quick start([\s\S]*?)\n## /.exec(readme)![1];
  const block = /```ts\n([\s\S]*?)```/.exec(section)![1];
  const source = block.replace("from 'cdk8s-frp'", "from '../lib'").replace(/for \(const line of RequiredSecrets[^\n]*\n/, '').replace('app.synth();', 'module.exports = chart;');
  const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2020 } }).outputText;
  const mod = { exports: undefined as any };
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const load = (id: string) => require(id.startsWith('../lib') ? join(__dirname, id) : id);
  // eslint-disable-next-line @typescript-eslint/no-implied-eval
  new Function('require', 'module', 'exports', js)(load, mod, {});
  const required = RequiredSecrets.of(mod.exports);
  expect(required.length).toBeGreaterThanOrEqual(2);
  // what the section's commands create: namespace/name -> keys
  const created = new Map<string, string[]>();
  for (const m of section.matchAll(/kubectl -n (\S+) create secret (generic|tls) (\S+)([^\n`]*)/g)) {
    const keys = m[2] === 'tls' ? ['tls.crt', 'tls.key'] : [...m[4].matchAll(/--from-(?:literal|file)=([^=\s]+)=/g)].map(k => k[1]);
    created.set(`${m[1]}/${m[3]}`, keys);
  }
  for (const s of required) {
    expect([`${s.namespace}/${s.name}`, created.has(`${s.namespace}/${s.name}`)]).toEqual([`${s.namespace}/${s.name}`, true]);
    for (const k of s.keys) expect(created.get(`${s.namespace}/${s.name}`)).toContain(k);
  }
});

test('the README set-up commands are the ones CI runs', () => {
  const ci = readFileSync(join(__dirname, '..', '.ci', 'run'), 'utf8');
  const testCommand = /# 2\.[^\n]*\n([^\n]+)/.exec(readme)![1].trim();
  expect(ci).toContain(testCommand);
  expect(readme).toContain('npm ci && npx cdk8s synth');
});

/** The README's headings (outside code blocks) as GitHub anchors them, with their level. */
function headings(text: string): { level: number; title: string; anchor: string }[] {
  let fenced = false;
  const out: { level: number; title: string; anchor: string }[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const m = !fenced && /^(#{1,6}) (.*)$/.exec(line);
    if (m) out.push({ level: m[1].length, title: m[2].trim(), anchor: m[2].trim().toLowerCase().replace(/[^\w\- ]/g, '').replace(/ /g, '-') });
  }
  return out;
}

test('the contents list every section in order, and every in-page link has its heading', () => {
  const all = headings(readme);
  const sections = all.filter(h => h.level === 2 && h.title !== 'Contents');
  const contents = /## Contents\n([\s\S]*?)\n## /.exec(readme)![1];
  const listed = [...contents.matchAll(/^ {2}- \[(.*)\]\(#([^)]+)\)$/gm)].map(m => ({ title: m[1], anchor: m[2] }));
  expect(listed).toEqual(sections.map(({ title, anchor }) => ({ title, anchor })));
  // the user's path comes first, development last
  expect(sections.map(s => s.title).slice(0, 4)).toEqual(['Install', 'Prerequisites in the cluster', 'Quick start', 'Apply it and see it work']);
  expect(sections.at(-3)!.title).toBe('Set-up for development');
  const anchors = new Set(all.map(h => h.anchor));
  expect([...readme.matchAll(/\]\(#([^)]+)\)/g)].map(m => m[1]).filter(a => !anchors.has(a))).toEqual([]);
});

test('the version the README and the changelog name is the package\'s, and it is not 0.0.0', () => {
  const version = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version;
  expect(version).not.toBe('0.0.0');
  const named = [...readme.matchAll(/cdk8s-frp-(\d+\.\d+\.\d+)\.tgz|cdk8s_frp-(\d+\.\d+\.\d+)-py3|This is version (\d+\.\d+\.\d+)/g)].map(m => m[1] ?? m[2] ?? m[3]);
  expect(named.length).toBeGreaterThanOrEqual(5);
  expect([...new Set(named)]).toEqual([version]);
  const changelog = readFileSync(join(__dirname, '..', 'CHANGELOG.md'), 'utf8');
  expect(changelog).toMatch(new RegExp(`^## ${version.replace(/\./g, '\\.')} \\(\\d{4}-\\d{2}-\\d{2}\\)$`, 'm'));
});
