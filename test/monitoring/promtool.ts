/**
 * Runs the real `promtool` (Prometheus 2.42 from Debian: `apt-get install prometheus`)
 * on rendered rules. Missing promtool is a test failure with an install hint, never a skip.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';

let found: string | undefined;

/** Path of promtool; throws (fails the test) when it is not installed. */
export function promtool(): string {
  if (found) return found;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/bin', '/usr/local/bin'])) {
    const candidate = path.join(dir, 'promtool');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      found = candidate;
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error('promtool not found on PATH: the alert rules must pass a real PromQL check. Install it with `apt-get update && apt-get install -y prometheus` (Debian bookworm ships promtool 2.42).');
}

/** A temp dir removed by the caller. */
export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cdk8s-frp-promtool-'));
}

/** Writes a PrometheusRule's spec as a Prometheus rule file and returns its path. */
export function writeRuleFile(dir: string, spec: { groups: unknown[] }, name = 'rules.yaml'): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, YAML.stringify({ groups: spec.groups }));
  return file;
}

/** Result of one promtool run. */
export interface PromtoolResult {
  readonly status: number;
  readonly output: string;
}

/** `promtool <args>` with a clean environment; returns status and combined output. */
export function runPromtool(args: string[], cwd?: string): PromtoolResult {
  const r = spawnSync(promtool(), args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '' } });
  if (r.error) throw r.error;
  return { status: r.status ?? -1, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** `promtool check rules` on a rule file; throws with promtool's output when it fails. */
export function checkRules(spec: { groups: unknown[] }): string {
  const dir = tempDir();
  try {
    const file = writeRuleFile(dir, spec);
    const r = runPromtool(['check', 'rules', file]);
    if (r.status !== 0) throw new Error(`promtool check rules failed (${r.status}):\n${r.output}\n--- rules ---\n${fs.readFileSync(file, 'utf8')}`);
    return r.output;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * `promtool test rules` with the given test file content (its `rule_files` is
 * set to the rendered rules); throws with promtool's output when a test fails.
 */
export function testRules(spec: { groups: unknown[] }, tests: { evaluation_interval?: string; tests: unknown[] }): string {
  const dir = tempDir();
  try {
    writeRuleFile(dir, spec);
    const testFile = path.join(dir, 'tests.yaml');
    fs.writeFileSync(testFile, YAML.stringify({ rule_files: ['rules.yaml'], evaluation_interval: tests.evaluation_interval ?? '1m', tests: tests.tests }));
    const r = runPromtool(['test', 'rules', 'tests.yaml'], dir);
    if (r.status !== 0) throw new Error(`promtool test rules failed (${r.status}):\n${r.output}`);
    return r.output;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** promtool's version line (for sanity). */
export function promtoolVersion(): string {
  return execFileSync(promtool(), ['--version'], { encoding: 'utf8' }).split('\n')[0];
}
