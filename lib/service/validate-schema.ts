import { JsonSchema } from './schema';
import { invalid } from '../frp/errors';

/**
 * Checks a plain value against a (structural) schema and throws at the first
 * problem, naming its field path and what is allowed. Unknown fields are
 * errors: a typo must not be dropped silently. @internal
 */
export function validateAgainstSchema(where: string, path: string, value: unknown, schema: JsonSchema): void {
  if (value === undefined) return;
  const got = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : Array.isArray(v) ? 'a list' : v === null ? 'null' : typeof v === 'object' ? 'an object' : String(v));
  switch (schema.type) {
    case 'object': {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) invalid(where, path, `must be an object, got ${got(value)}`);
      const o = value as Record<string, unknown>;
      for (const r of schema.required ?? []) {
        if (o[r] === undefined) invalid(where, `${path}.${r}`, 'is required');
      }
      if (schema.oneOf) {
        const matches = schema.oneOf.filter(alt => alt.required.every(r => o[r] !== undefined));
        if (matches.length !== 1) {
          const names = schema.oneOf.map(alt => alt.required.join('+')).join(' or ');
          invalid(where, path, `must set exactly one of ${names}${matches.length > 1 ? ', not both' : ''}`);
        }
      }
      for (const [k, v] of Object.entries(o)) {
        if (v === undefined) continue;
        const sub = schema.properties?.[k];
        if (sub) {validateAgainstSchema(where, `${path}.${k}`, v, sub);} else if (typeof schema.additionalProperties === 'object') {validateAgainstSchema(where, `${path}.${k}`, v, schema.additionalProperties);} else if (!schema['x-kubernetes-preserve-unknown-fields']) {
          const known = Object.keys(schema.properties ?? {});
          invalid(where, `${path}.${k}`, `is not a known field${known.length ? ` (known: ${known.join(', ')})` : ''}`);
        }
      }
      return;
    }
    case 'array':
      if (!Array.isArray(value)) invalid(where, path, `must be a list, got ${got(value)}`);
      (value as unknown[]).forEach((v, i) => schema.items && validateAgainstSchema(where, `${path}[${i}]`, v, schema.items));
      return;
    case 'string':
      if (typeof value !== 'string') invalid(where, path, `must be a string, got ${got(value)}`);
      break;
    case 'integer':
      if (typeof value !== 'number' || !Number.isInteger(value)) invalid(where, path, `must be an integer, got ${got(value)}`);
      break;
    case 'boolean':
      if (typeof value !== 'boolean') invalid(where, path, `must be true or false, got ${got(value)}`);
      break;
    default:
      break;
  }
  if (schema.enum && !schema.enum.includes(value as string)) {
    invalid(where, path, `must be one of ${schema.enum.map(e => JSON.stringify(e)).join(', ')}, got ${got(value)}`);
  }
  if (schema.pattern && !new RegExp(schema.pattern).test(value as string)) {
    invalid(where, path, `must match ${schema.pattern}, got ${got(value)}`);
  }
  if (schema.maxLength !== undefined && (value as string).length > schema.maxLength) {
    invalid(where, path, `must be at most ${schema.maxLength} characters, got ${(value as string).length}`);
  }
  if (schema.minimum !== undefined && (value as number) < schema.minimum) {
    invalid(where, path, `must be ${schema.maximum !== undefined ? `from ${schema.minimum} to ${schema.maximum}` : `at least ${schema.minimum}`}, got ${value}`);
  }
  if (schema.maximum !== undefined && (value as number) > schema.maximum) {
    invalid(where, path, `must be ${schema.minimum !== undefined ? `from ${schema.minimum} to ${schema.maximum}` : `at most ${schema.maximum}`}, got ${value}`);
  }
}
