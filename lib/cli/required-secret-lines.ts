import { RequiredSecrets } from '../required-secrets';

/** A document of the run: where it came from and its manifest. */
interface Input { readonly source: string; readonly manifest: any }

/** The path of the first string field of `value` equal to `name` (`spec.security.mtls.caSecret`). */
function fieldNaming(value: unknown, name: string, path: string): string | undefined {
  if (value === name) return path;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = fieldNaming(value[i], name, `${path}[${i}]`);
      if (found) return found;
    }
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const found = fieldNaming(v, name, `${path}.${k}`);
      if (found) return found;
    }
  }
  return undefined;
}

/**
 * The Secrets the rendered `objects` read but do not create, one line each at
 * the document and field that asks for it (`<source>: <ns>/<name>: <field>:
 * Secret ...`): the spec field that names it, else the service whose name it
 * carries (`<name>-group-key`: metadata.name), else a service of its
 * namespace (the token Secret: metadata.namespace). @internal
 */
export function requiredSecretLines(objects: any[], inputs: Input[], serverNamespace: string): string[] {
  const valid = inputs.filter(i => typeof i.manifest?.metadata?.name === 'string');
  const nsOf = (i: Input) => (typeof i.manifest.metadata.namespace === 'string' ? i.manifest.metadata.namespace : serverNamespace);
  const lines: { order: number; line: string }[] = [];
  for (const s of RequiredSecrets.fromObjects(objects)) {
    let at: { input: Input; field: string } | undefined;
    for (const input of [...valid.filter(i => nsOf(i) === s.namespace), ...valid]) {
      const field = fieldNaming(input.manifest.spec, s.name, 'spec');
      if (field) {
        at = { input, field };
        break;
      }
    }
    at = at ?? (() => {
      const named = valid.find(i => nsOf(i) === s.namespace && `${i.manifest.metadata.name}-group-key` === s.name);
      if (named) return { input: named, field: 'metadata.name' };
      const input = valid.find(i => nsOf(i) === s.namespace) ?? valid[0];
      return input ? { input, field: 'metadata.namespace' } : undefined;
    })();
    if (!at) continue;
    const where = `${at.input.source}: ${nsOf(at.input)}/${at.input.manifest.metadata.name}: ${at.field}`;
    lines.push({ order: inputs.indexOf(at.input), line: `${where}: ${RequiredSecrets.line(s)}` });
  }
  // in document order, then as RequiredSecrets sorts them (namespace, name)
  return lines.map((l, i) => ({ ...l, i })).sort((a, b) => a.order - b.order || a.i - b.i).map(l => l.line);
}
