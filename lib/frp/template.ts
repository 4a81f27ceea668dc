import { invalid } from './errors';

/**
 * frp renders every config file as a Go text/template before parsing it as
 * TOML (FACTS.md §2). Secret values therefore never appear in a config: they
 * are written as `{{ .Envs.NAME }}` and the container gets NAME from a Secret.
 * Literal text that contains `{{` must be escaped, or frp would parse it as a
 * template action.
 */

/** An environment variable name that can be used as `{{ .Envs.NAME }}`. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * A string that is written into the config verbatim (not escaped). Only this
 * module creates them, so the only template actions in a rendered file are
 * env references and escapes.
 * @internal
 */
export class RawTemplate {
  constructor(public readonly text: string) {}
}

/** Checks an env var name and returns the template that reads it. @internal */
export function envRef(where: string | undefined, field: string, name: string): RawTemplate {
  if (typeof name !== 'string' || !ENV_NAME.test(name)) {
    invalid(where, field, `must be an environment variable name matching ${ENV_NAME}, got ${JSON.stringify(name)}`);
  }
  return new RawTemplate(`{{ .Envs.${name} }}`);
}

/**
 * Escapes literal `{{` so that Go's template engine prints it unchanged. The
 * escape uses a raw-string action (backquotes) because the text lands inside a
 * TOML basic string, where double quotes would be backslash-escaped and break
 * the action. @internal
 */
export function escapeLiteral(text: string): string {
  return text.replace(/\{\{/g, '{{`{{`}}');
}

/**
 * Replaces every string in a plain config tree by its escaped form and every
 * RawTemplate by its text, giving a tree smol-toml can stringify. Keys whose
 * value is undefined are dropped; key order is kept as built. @internal
 */
export function toTomlTree(value: unknown): unknown {
  if (value instanceof RawTemplate) return value.text;
  if (typeof value === 'string') return escapeLiteral(value);
  if (Array.isArray(value)) return value.map(toTomlTree);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof RawTemplate) && Object.values(v).every(x => x === undefined)) continue;
      out[k] = toTomlTree(v);
    }
    return out;
  }
  return value;
}
