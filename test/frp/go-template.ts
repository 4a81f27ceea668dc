/**
 * A minimal stand-in for frp's template step (Go text/template over the raw
 * file, FACTS.md §2), covering exactly the action forms the library may
 * emit: `{{ .Envs.NAME }}`, `{{ printf "%q" .Envs.NAME }}` and the raw-string
 * escape {{`{{`}}. Any other
 * action is an error, as it would most likely be for frp too.
 */
export function renderGoTemplate(text: string, envs: Record<string, string>): string {
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
    if (action === '`{{`') {
      out += '{{';
    } else if ((m = /^printf "%q" \.Envs\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(action))) {
      // Go's strconv.Quote; JSON's escapes agree with it on printable text, \n, \t, \r, " and \
      out += m[1] in envs ? JSON.stringify(envs[m[1]]) : '<no value>';
    } else if ((m = /^\.Envs\.([A-Za-z_][A-Za-z0-9_]*)$/.exec(action))) {
      out += m[1] in envs ? envs[m[1]] : '<no value>';
    } else {
      throw new Error(`unexpected template action {{${action}}}`);
    }
    i = end + 2;
  }
  return out;
}
