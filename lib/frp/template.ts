import { invalid } from './errors';
import { stringifyToml } from './toml';

/**
 * frp renders every config file as a Go text/template before parsing it as
 * TOML (FACTS.md §2). Secret values therefore never appear in a config.
 *
 * - Where frp has a value source (`auth.tokenSource`, type file) the secret is
 *   a mounted file: frp reads it at start and trims surrounding whitespace.
 * - Group keys only have to be equal on every member of a group, so frp gets
 *   the hex of the value's bytes: ``"{{ printf `%x` .Envs.NAME }}"``. Hex is
 *   always a valid TOML string, whatever bytes the Secret holds, and the same on
 *   every member (a member outside the cluster gets the hex computed from the
 *   Secret's data directly, see FrpExternalClient).
 * - Values frp uses as they are and has no file source for (web server
 *   credentials, the OIDC client secret, auth.tokenEnv) are written byte for
 *   byte into a TOML string by a template defined once at the top of the file
 *   (SECRET_STRING_DEFINE): ``"{{ template `cdk8s-frp.string` .Envs.NAME }}"``.
 *   It escapes `"` and `\`, writes every control character (U+0000-U+001F,
 *   U+007F) as `\uXXXX` and copies every other byte, so frp gets exactly the
 *   Secret's bytes (not trimmed) for any valid UTF-8 value. Invalid UTF-8 cannot
 *   be represented in TOML at all: frp then refuses to start
 *   (`toml: invalid UTF-8`) instead of using another value. (Go's
 *   `printf "%q"`, used before, writes `\a`, `\v` and `\xNN`, which TOML lacks.)
 * - Plain `{{ .Envs.NAME }}` inside a TOML string is used only for values that
 *   cannot break it (the pod name, a hex group key).
 *
 * Actions are written with Go raw strings (backquotes), so they can stand
 * inside TOML basic strings unescaped. Literal text that contains `{{` is
 * escaped, or frp would parse it as a template action.
 */

/** An environment variable name that can be used as `{{ .Envs.NAME }}`. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Name of the template that writes an env value as TOML string content. @internal */
export const SECRET_STRING_TEMPLATE = 'cdk8s-frp.string';

/**
 * The Go template definition written once at the top of a config that has
 * literal secrets: for each byte of the value (`.`), `"` and `\` are
 * backslash-escaped, control bytes become `\u00XX`, every other byte is copied
 * (`slice` keeps multi-byte UTF-8 intact). Needs Go 1.22+ (range over an
 * integer); frp v0.70.1 is built with Go 1.25. @internal
 */
export const SECRET_STRING_DEFINE = `{{ define \`${SECRET_STRING_TEMPLATE}\` }}{{ range $i := len . }}{{ $b := index $ $i }}`
  + '{{ if eq $b 34 }}\\"{{ else if eq $b 92 }}\\\\{{ else if or (lt $b 32) (eq $b 127) }}\\u{{ printf `%04X` $b }}'
  + '{{ else }}{{ slice (slice $ $i) 0 1 }}{{ end }}{{ end }}{{ end }}';

/** The comment line that carries SECRET_STRING_DEFINE (frp's template step leaves only the comment). @internal */
export const SECRET_STRING_PREAMBLE = `# secret values: frp's template step writes them byte for byte as TOML strings${SECRET_STRING_DEFINE}`;

/**
 * A string that is written into the config verbatim (not escaped). Only this
 * module creates them, so the only template actions in a rendered file are
 * env references and escapes.
 * @internal
 */
export class RawTemplate {
  constructor(public readonly text: string, public readonly needsSecretString = false) {}
}

function checkEnvName(where: string | undefined, field: string, name: string): void {
  if (typeof name !== 'string' || !ENV_NAME.test(name)) {
    invalid(where, field, `must be an environment variable name matching ${ENV_NAME}, got ${JSON.stringify(name)}`);
  }
}

/**
 * Checks an env var name and returns the template that reads it inside a TOML
 * string. Only for values that cannot contain `"`, `\` or control characters
 * (e.g. the pod name, a hex group key); secrets use secretEnvRef. @internal
 */
export function envRef(where: string | undefined, field: string, name: string): RawTemplate {
  checkEnvName(where, field, name);
  return new RawTemplate(`{{ .Envs.${name} }}`);
}

/** Checks an env var name and returns the byte-exact template for a secret frp uses as it is. @internal */
export function secretEnvRef(where: string | undefined, field: string, name: string): RawTemplate {
  checkEnvName(where, field, name);
  return new RawTemplate(`{{ template \`${SECRET_STRING_TEMPLATE}\` .Envs.${name} }}`, true);
}

/** Checks an env var name and returns the template for the hex of its bytes (group keys). @internal */
export function hexEnvRef(where: string | undefined, field: string, name: string): RawTemplate {
  checkEnvName(where, field, name);
  return new RawTemplate(`{{ printf \`%x\` .Envs.${name} }}`);
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
 * value is undefined are dropped; key order is kept as built. `used` collects
 * the templates. @internal
 */
export function toTomlTree(value: unknown, used: RawTemplate[] = []): unknown {
  if (value instanceof RawTemplate) {
    used.push(value);
    return value.text;
  }
  if (typeof value === 'string') return escapeLiteral(value);
  if (Array.isArray(value)) return value.map(v => toTomlTree(v, used));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof RawTemplate)
        && Object.values(v).every(x => x === undefined)) continue;
      out[k] = toTomlTree(v, used);
    }
    return out;
  }
  return value;
}

/**
 * Renders a config tree as frp TOML: escapes literal `{{`, writes RawTemplates
 * inside their strings, and puts SECRET_STRING_PREAMBLE first when a secret
 * uses it. @internal
 */
export function renderFrpTree(where: string | undefined, tree: Record<string, unknown>): string {
  if (hasNul(tree)) invalid(where, 'config', 'a string value contains a NUL character, which frp configs cannot carry');
  const used: RawTemplate[] = [];
  const text = stringifyToml(toTomlTree(tree, used) as Record<string, unknown>);
  return used.some(t => t.needsSecretString) ? `${SECRET_STRING_PREAMBLE}\n${text}` : text;
}

function hasNul(v: unknown): boolean {
  if (typeof v === 'string') return v.includes('\u0000');
  if (Array.isArray(v)) return v.some(hasNul);
  if (v !== null && typeof v === 'object' && !(v instanceof RawTemplate)) return Object.values(v).some(hasNul);
  return false;
}
