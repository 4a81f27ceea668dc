/**
 * What frp v0.70.1 itself makes of a config: `scripts/build-frp-values.sh` builds
 * test/helpers/frp-values inside frp's module; it loads a file with frp's own loader
 * (template step over the environment, TOML, strict decoding, defaults) and frp's
 * validation, as `verify` does, and prints the secret-carrying values as exact bytes.
 * Environment values are given as bytes, so a test can hand frp any byte string an
 * environment carries (everything but NUL), invalid UTF-8 included.
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { FrpProgram, frpBinary } from './frp-verify';
import { REPO_DIR } from './k8s-schema';

let tool: string | undefined;

/** The frp-values binary (built once, then cached by frp version and source hash). */
export function frpValuesBinary(): string {
  if (!tool) {
    const out = execFileSync(path.join(REPO_DIR, 'scripts/build-frp-values.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    tool = out.trim().split('\n').pop()!;
  }
  return tool;
}

/** Environment values as bytes (a string is taken as UTF-8). */
export type ByteEnv = Record<string, Buffer | string>;

/** The values frp loaded: each a Buffer of the exact bytes. */
export interface FrpLoadedValues {
  readonly 'user'?: Buffer;
  readonly 'auth.token': Buffer;
  readonly 'auth.oidc.clientSecret'?: Buffer;
  readonly 'webServer.user': Buffer;
  readonly 'webServer.password': Buffer;
  /** frpc: each proxy's `loadBalancer.groupKey`, by proxy name. */
  readonly 'groupKeys'?: Record<string, Buffer>;
}

/** The result: the values, or frp's error (what `verify` would print). */
export type FrpValuesResult = { ok: true; values: FrpLoadedValues } | { ok: false; error: string };

function envArgs(env: ByteEnv): string[] {
  return Object.entries(env).flatMap(([k, v]) => {
    const b = Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8');
    if (b.includes(0)) throw new Error(`env ${k}: an environment cannot carry NUL bytes`);
    return ['-env', `${k}=${b.toString('hex')}`];
  });
}

function withFile<T>(program: FrpProgram, toml: string, f: (file: string) => T): T {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frp-values-'));
  try {
    const file = path.join(dir, `${program}.toml`);
    fs.writeFileSync(file, toml);
    return f(file);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Loads a config with frp's own code and exactly `env` as the process environment. */
export function frpLoadedValues(program: FrpProgram, toml: string, env: ByteEnv): FrpValuesResult {
  return withFile(program, toml, (file) => {
    const r = spawnSync(frpValuesBinary(), [...envArgs(env), program, file], { encoding: 'utf8', timeout: 20_000 });
    const out = JSON.parse(r.stdout || '{"error":"no output"}');
    if (r.status !== 0 || out.error !== undefined) return { ok: false, error: String(out.error ?? r.stderr ?? `exit ${r.status}`) };
    const bytes = (h: string | undefined) => h === undefined ? undefined : Buffer.from(h, 'hex');
    const values: any = {};
    for (const [k, v] of Object.entries<any>(out)) {
      values[k] = typeof v === 'string' ? bytes(v) : Object.fromEntries(Object.entries<string>(v).map(([n, h]) => [n, bytes(h)]));
    }
    return { ok: true, values };
  });
}

/** The real `frps verify` / `frpc verify` with exactly `env` (bytes) as its environment. */
export function frpVerifyBytes(program: FrpProgram, toml: string, env: ByteEnv): { ok: boolean; output: string } {
  return withFile(program, toml, (file) => {
    const r = spawnSync(frpValuesBinary(), [...envArgs(env), '--', frpBinary(program), 'verify', '-c', file], { encoding: 'utf8', timeout: 20_000 });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
    return { ok: r.status === 0 && /syntax is ok/.test(output), output };
  });
}
