/**
 * frp's own config check, the check of record for every TOML we render: the real
 * `frps verify -c` / `frpc verify -c` of frp v0.70.1, built from the Go module proxy by
 * `scripts/build-frp.sh` (cached by version, so only the first call builds).
 *
 * frp fills its Go template (`{{ .Envs.X }}`) from the process environment before it
 * parses the TOML, so each check runs with the env vars the pod would have: the caller's
 * values, else a plain placeholder. A secret value that would break the TOML after that
 * step (a newline, `"`, `\`) breaks it here too.
 *
 * `verify` does not read certificate, token or other files: those are for the live
 * harness (test/live), which runs the programs.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { REPO_DIR } from './k8s-schema';

export type FrpProgram = 'frps' | 'frpc';

let binDir: string | undefined;

/** The directory holding frps and frpc v0.70.1 (built once, then cached). */
export function frpBinDir(): string {
  if (binDir) return binDir;
  const out = execFileSync(path.join(REPO_DIR, 'scripts/build-frp.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  binDir = out.trim().split('\n').pop()!;
  return binDir;
}

/** The path of frps or frpc. */
export function frpBinary(program: FrpProgram): string {
  return path.join(frpBinDir(), program);
}

/** What `verify` said: `ok` and frp's own output. */
export interface FrpVerifyResult {
  readonly ok: boolean;
  readonly output: string;
}

/** A placeholder every `{{ .Envs.X }}` gets unless the caller gives a value. */
export const ENV_PLACEHOLDER = 'placeholder-value';

/**
 * Runs `frps verify` or `frpc verify` on one config text. `env` holds the pod's env
 * values; a name the template uses but `env` lacks gets ENV_PLACEHOLDER.
 */
export function frpVerify(program: FrpProgram, toml: string, env: Record<string, string> = {}): FrpVerifyResult {
  // the same config gives the same verdict: generated-input tests render many equal configs
  const key = JSON.stringify([program, toml, env]);
  const known = verified.get(key);
  if (known) return known;
  const result = runVerify(program, toml, env);
  if (verified.size > 10_000) verified.clear();
  verified.set(key, result);
  return result;
}

const verified = new Map<string, FrpVerifyResult>();

function runVerify(program: FrpProgram, toml: string, env: Record<string, string>): FrpVerifyResult {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frp-verify-'));
  try {
    const file = path.join(dir, `${program}.toml`);
    fs.writeFileSync(file, toml);
    const names = [...toml.matchAll(/\.Envs\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]);
    const podEnv: Record<string, string> = {};
    for (const n of names) podEnv[n] = env[n] ?? ENV_PLACEHOLDER;
    const r = spawnSync(frpBinary(program), ['verify', '-c', file], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...podEnv },
      timeout: 20_000,
    });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    return { ok: r.status === 0 && /syntax is ok/.test(output), output: output || String(r.error ?? `exit ${r.status}`) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Which frp program reads a ConfigMap data key, if any. */
export function frpProgramOfKey(key: string): FrpProgram | undefined {
  if (key === 'frps.toml' || key.endsWith('.frps.toml')) return 'frps';
  if (key === 'frpc.toml' || key.endsWith('.frpc.toml')) return 'frpc';
  return undefined;
}

/**
 * Runs frp's verify on every frp config in a bundle's ConfigMaps. Returns one problem
 * per config that frp refuses, naming the ConfigMap, the key and frp's message.
 */
export function verifyBundleFrpConfigs(manifests: readonly any[], env: Record<string, string> = {}): string[] {
  const problems: string[] = [];
  for (const cm of manifests) {
    if (cm?.kind !== 'ConfigMap' || cm.apiVersion !== 'v1') continue;
    for (const [key, text] of Object.entries<unknown>(cm.data ?? {})) {
      const program = frpProgramOfKey(key);
      if (!program || typeof text !== 'string') continue;
      const r = frpVerify(program, text, env);
      if (!r.ok) problems.push(`ConfigMap/${cm.metadata?.namespace ?? ''}/${cm.metadata?.name} ${key}: ${program} verify: ${r.output}`);
    }
  }
  return problems;
}

/** Throws when frp refuses any config of the bundle; returns how many configs it checked. */
export function expectFrpAccepts(manifests: readonly any[], env: Record<string, string> = {}): number {
  const problems = verifyBundleFrpConfigs(manifests, env);
  if (problems.length) throw new Error(`frp refused ${problems.length} config(s):\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  return manifests.filter((o) => o?.kind === 'ConfigMap').flatMap((o) => Object.keys(o.data ?? {})).filter((k) => frpProgramOfKey(k)).length;
}
