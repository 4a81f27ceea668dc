import { SECRET_STRING_DEFINE, SECRET_STRING_TEMPLATE } from '../../lib/frp/template';

/**
 * A minimal stand-in for frp's template step (Go text/template over the raw
 * file, FACTS.md §2), covering exactly the action forms the library may
 * emit: `{{ .Envs.NAME }}`, the secret string template (its definition and
 * `{{ template `cdk8s-frp.string` .Envs.NAME }}`), `{{ printf `%x` .Envs.NAME }}`
 * and the raw-string escape {{`{{`}}. Any other action is an error, as it would
 * most likely be for frp too. Values are taken as UTF-8. The real frp's
 * semantics are checked against real frp in test/frp/secret-bytes.test.ts.
 */
export function renderGoTemplate(text: string, envs: Record<string, string>): string {
  text = text.split(SECRET_STRING_DEFINE).join('');
  let out = '';
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('{{', i);
    if (start < 0) { out += text.slice(i); break; }
    out += text.slice(i, start);
    const end = text.indexOf('}}', start + 2);
    if (end < 0) throw new Error(`unclosed action at ${start}`);
    const action = text.slice(start + 2, end).trim();
    let m: RegExpExecArray | null;
    const value = (name: string) => name in envs ? envs[name] : '<no value>';
    if (action === '`{{`') {
      out += '{{';
    } else if ((m = new RegExp(`^template \`${SECRET_STRING_TEMPLATE.replace(/\./g, '\\.')}\` \\.Envs\\.([A-Za-z_][A-Za-z0-9_]*)$`).exec(action))) {
      out += tomlStringContent(value(m[1]));
    } else if ((m = /^printf `%x` \.Envs\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(action))) {
      out += Buffer.from(value(m[1]), 'utf8').toString('hex');
    } else if ((m = /^\.Envs\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(action))) {
      out += value(m[1]);
    } else {
      throw new Error(`unexpected template action {{${action}}}`);
    }
    i = end + 2;
  }
  return out;
}

/** What the secret string template writes: `"` and `\` escaped, control characters as \uXXXX. */
export function tomlStringContent(value: string): string {
  return value.replace(/["\\\u0000-\u001f\u007f]/g, (c) => c === '"' || c === '\\' ? `\\${c}` : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`);
}
