import { spawnSync } from 'child_process';
import { join } from 'path';

/**
 * Runs argocd/health.lua the way Argo CD does (a Lua 5.1 chunk with the live
 * object as the global `obj`, returning `hs`), in the real Lua 5.1 interpreter
 * (Debian `lua5.1`, scripts/install-tools.sh). Missing lua5.1 is a failure
 * with an install hint, never a skip.
 */
export const HEALTH_LUA = join(__dirname, '..', '..', 'argocd', 'health.lua');

/** A Lua table constructor for a JSON value (Argo CD turns the object's JSON into such a table). */
export function toLua(v: unknown): string {
  if (v === null || v === undefined) return 'nil';
  if (typeof v === 'boolean' || typeof v === 'number') return String(v);
  if (typeof v === 'string') return `"${[...Buffer.from(v, 'utf8')].map(b => (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c ? String.fromCharCode(b) : `\\${b}`)).join('')}"`;
  if (Array.isArray(v)) return `{${v.map(toLua).join(', ')}}`;
  return `{${Object.entries(v as object).map(([k, x]) => `[${toLua(k)}] = ${toLua(x)}`).join(', ')}}`;
}

/** hs.status and hs.message for `obj`. */
export function health(obj: unknown): { status: string; message: string } {
  const harness = `obj = ${toLua(obj)}
local check = assert(loadfile(${toLua(HEALTH_LUA)}))
local hs = check()
io.write(tostring(hs.status), "\\n", tostring(hs.message))`;
  const r = spawnSync('lua5.1', ['-'], { input: harness, encoding: 'utf8' });
  if (r.error) throw new Error(`lua5.1 could not run (${r.error.message}): install it with \`apt-get install lua5.1\` (scripts/install-tools.sh)`);
  if (r.status !== 0) throw new Error(`lua5.1 failed (${r.status}): ${r.stderr}`);
  const [status, ...message] = r.stdout.split('\n');
  return { status, message: message.join('\n') };
}
