import { JsonSchema } from './schema';

const own = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k);
const got = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}...` : v) : Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v));

/**
 * Every problem of a plain value against a (structural) schema, each as
 * `<field path>: <what is wrong and what is allowed>`. Unknown fields are
 * problems (a typo must not be dropped silently); only own properties count,
 * so names such as `constructor` or `__proto__` are unknown fields like any
 * other. @internal
 */
export function schemaProblems(path: string, value: unknown, schema: JsonSchema): string[] {
  const out: string[] = [];
  walk(path, value, schema, out);
  return out;
}

/**
 * Checks a plain value against a (structural) schema and throws one error
 * listing every problem, each naming its field path. @internal
 */
export function validateAgainstSchema(where: string, path: string, value: unknown, schema: JsonSchema): void {
  const problems = schemaProblems(path, value, schema);
  if (problems.length > 0) throw new Error(problems.map(p => `${where ? `${where}: ` : ''}${p}`).join('\n'));
}

/** `path.key`, or `path["key"]` for keys that are not plain names. @internal */
export function fieldPath(path: string, key: string): string {
  const plain = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key);
  if (!path) return plain ? key : JSON.stringify(key);
  return plain ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function walk(path: string, value: unknown, schema: JsonSchema, out: string[]): void {
  if (value === undefined) return;
  const bad = (field: string, message: string) => { out.push(`${field}: ${message}`); };
  switch (schema.type) {
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return bad(path, `must be an object, got ${got(value)}`);
      const o = value as Record<string, unknown>;
      const has = (k: string) => own(o, k) && o[k] !== undefined;
      for (const r of schema.required ?? []) {
        if (!has(r)) bad(`${path}.${r}`, 'is required');
      }
      if (schema.oneOf) {
        const matches = schema.oneOf.filter(alt => alt.required.every(has));
        if (matches.length === 0) {
          // name the missing fields, not their parent
          const [first, ...others] = schema.oneOf.map(alt => alt.required.map(r => `${path}.${r}`).join(' and '));
          bad(first, `is required unless ${others.join(' or ')} is set (exactly one of them)`);
        } else if (matches.length > 1) {
          const [, second] = matches.map(alt => alt.required.map(r => `${path}.${r}`).join(' and '));
          bad(second, `must not be set together with ${matches[0].required.map(r => `${path}.${r}`).join(' and ')} (exactly one of them)`);
        }
      }
      const keys = Object.keys(o);
      if (schema.maxProperties !== undefined && keys.length > schema.maxProperties) bad(path, `must have at most ${schema.maxProperties} entries, got ${keys.length}`);
      const known = Object.keys(schema.properties ?? {});
      for (const k of keys) {
        const v = o[k];
        if (v === undefined) continue;
        const field = fieldPath(path, k);
        if (schema.properties && own(schema.properties, k)) walk(field, v, schema.properties[k], out);
        else if (typeof schema.additionalProperties === 'object') walk(field, v, schema.additionalProperties, out);
        else if (!schema['x-kubernetes-preserve-unknown-fields']) bad(field, `is not a known field${known.length ? ` (known: ${known.join(', ')})` : ''}`);
      }
      break;
    }
    case 'array':
      if (!Array.isArray(value)) return bad(path, `must be a list, got ${got(value)}`);
      if (schema.maxItems !== undefined && value.length > schema.maxItems) return bad(path, `must have at most ${schema.maxItems} entries, got ${value.length}`);
      if (schema.minItems !== undefined && value.length < schema.minItems) return bad(path, `must have at least ${schema.minItems} ${schema.minItems === 1 ? 'entry' : 'entries'} (leave it out for the default), got ${value.length}`);
      value.forEach((v, i) => schema.items && walk(`${path}[${i}]`, v, schema.items, out));
      break;
    case 'string':
      if (typeof value !== 'string') return bad(path, `must be a string, got ${got(value)}`);
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) return bad(path, `must be an integer, got ${got(value)}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') return bad(path, `must be true or false, got ${got(value)}`);
      break;
    default:
      break;
  }
  if (schema.enum && !schema.enum.includes(value as string)) {
    return bad(path, `must be one of ${schema.enum.map(e => JSON.stringify(e)).join(', ')}, got ${got(value)}`);
  }
  if (schema.maxLength !== undefined && (value as string).length > schema.maxLength) {
    return bad(path, `must be at most ${schema.maxLength} characters, got ${(value as string).length}`);
  }
  if (schema.pattern && !new RegExp(schema.pattern).test(value as string)) {
    return bad(path, `must match ${schema.pattern}, got ${got(value)}`);
  }
  if (schema.minimum !== undefined && (value as number) < schema.minimum) {
    return bad(path, `must be ${schema.maximum !== undefined ? `from ${schema.minimum} to ${schema.maximum}` : `at least ${schema.minimum}`}, got ${value}`);
  }
  if (schema.maximum !== undefined && (value as number) > schema.maximum) {
    return bad(path, `must be ${schema.minimum !== undefined ? `from ${schema.minimum} to ${schema.maximum}` : `at most ${schema.maximum}`}, got ${value}`);
  }
  const problem = schema.check?.(value);
  if (problem) bad(path, problem);
}
