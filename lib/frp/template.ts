import { invalid } from './errors';
import { stringifyToml } from './toml';

/**
 * frp renders every config file as a Go text/template before parsing it as
 * TOML (FACTS.md §2). Secret values therefore never appear in a config.
 *
 * - Where frp has a value source (`auth.tokenSource`, type file) the secret is
 *   a mounted file: frp reads it at start and trims surrounding whitespace.
 * - Where it has none (group keys, web server credentials, the OIDC client
 *   secret) the container gets the value as an environment variable and the
 *   config reads it as `{{ printf "%q" .Envs.NAME }}`, written outside TOML
 *   quotes: Go's strconv.Quote turns the value into a double-quoted string
 *   whose escapes (`\"`, `\\`, `\n`, `\t`, `\r`, `\uXXXX`) are TOML's too, so
 *   quotes, backslashes, newlines and `{{` in a secret cannot break the file.
 *   The value is kept byte for byte (not trimmed), so every reader of one
 *   Secret sees the same value. Only control characters other than tab, CR,
 *   LF, backspace and form feed (and invalid UTF-8) have no TOML escape.
 * - Plain `{{ .Envs.NAME }}` is used only for values that cannot break the
 *   TOML (the pod name).
 *
 * Literal text that contains `{{` is escaped, or frp would parse it as a
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

/**
 * A whole TOML string value produced by frp's template step from an env var
 * (`{{ printf "%q" .Envs.NAME }}`, written without surrounding quotes).
 * @internal
 */
export class QuotedEnvTemplate {
  constructor(public readonly name: string) {}
  public get text(): string { return `{{ printf "%q" .Envs.${this.name} }}`; }
}

function checkEnvName(where: string | undefined, field: string, name: string): void {
  if (typeof name !== 'string' || !ENV_NAME.test(name)) {
    invalid(where, field, `must be an environment variable name matching ${ENV_NAME}, got ${JSON.stringify(name)}`);
  }
}

/**
 * Checks an env var name and returns the template that reads it inside a TOML
 * string. Only for values that cannot contain `"`, `\` or line breaks (e.g.
 * the pod name); secrets use secretEnvRef. @internal
 */
export function envRef(where: string | undefined, field: string, name: string): RawTemplate {
  checkEnvName(where, field, name);
  return new RawTemplate(`{{ .Envs.${name} }}`);
}

/** Checks an env var name and returns the byte-safe template for a secret value. @internal */
export function secretEnvRef(where: string | undefined, field: string, name: string): QuotedEnvTemplate {
  checkEnvName(where, field, name);
  return new QuotedEnvTemplate(name);
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

const PLACEHOLDER = '\u0000frp-quoted-env\u0000';

/**
 * Replaces every string in a plain config tree by its escaped form and every
 * RawTemplate by its text, giving a tree smol-toml can stringify. Keys whose
 * value is undefined are dropped; key order is kept as built. @internal
 */
export function toTomlTree(value: unknown, quoted: QuotedEnvTemplate[] = []): unknown {
  if (value instanceof RawTemplate) return value.text;
  if (value instanceof QuotedEnvTemplate) {
    quoted.push(value);
    return `${PLACEHOLDER}${quoted.length - 1}${PLACEHOLDER}`;
  }
  if (typeof value === 'string') return escapeLiteral(value);
  if (Array.isArray(value)) return value.map(v => toTomlTree(v, quoted));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof RawTemplate) && !(v instanceof QuotedEnvTemplate)
        && Object.values(v).every(x => x === undefined)) continue;
      out[k] = toTomlTree(v, quoted);
    }
    return out;
  }
  return value;
}

/**
 * Renders a config tree as frp TOML: escapes literal `{{`, writes RawTemplates
 * inside their strings and QuotedEnvTemplates as whole values. @internal
 */
export function renderFrpTree(where: string | undefined, tree: Record<string, unknown>): string {
  const quoted: QuotedEnvTemplate[] = [];
  const text = stringifyToml(toTomlTree(tree, quoted) as Record<string, unknown>);
  // smol-toml writes the NUL of the placeholder as \u0000; a user string holding
  // that exact text would be taken for a placeholder, so it is refused.
  const rendered = '\\u0000frp-quoted-env\\u0000';
  const re = new RegExp(`"${rendered.replace(/\\/g, '\\\\')}(\\d+)${rendered.replace(/\\/g, '\\\\')}"`, 'g');
  let used = 0;
  const out = text.replace(re, (_m, i: string) => {
    used++;
    return quoted[Number(i)].text;
  });
  if (used !== quoted.length || out.includes(rendered)) invalid(where, 'config', 'a string value contains a NUL character, which frp configs cannot carry');
  return out;
}
