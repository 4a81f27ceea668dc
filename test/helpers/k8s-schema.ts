/**
 * Strict validation of core Kubernetes objects against the Kubernetes 1.28
 * OpenAPI (Swagger 2.0) definitions in `test/fixtures/kubernetes/`.
 *
 * "Strict" means what `kubectl apply --validate=strict` means, plus a little:
 * - unknown fields are errors (at every level, not only the top);
 * - `null` is an error (Kubernetes would silently zero the field);
 * - `required`, JSON types, `enum`, the `int32`/`int64`/`byte`/`date-time`
 *   formats, IntOrString, and the Quantity grammar are checked;
 * - `x-kubernetes-list-type: map|set` lists must not repeat their keys.
 *
 * This module also holds the small path/label helpers the other checkers share.
 */
import * as fs from 'fs';
import * as path from 'path';

// ---------------------------------------------------------------------------
// Shared helpers (used by every checker in test/helpers)
// ---------------------------------------------------------------------------

/** The repository root (this file is `<repo>/test/helpers/k8s-schema.ts`). */
export const REPO_DIR = path.resolve(__dirname, '../..');
/** Vendored third-party data the tests read (see test/fixtures/README.md). */
export const FIXTURES_DIR = path.join(REPO_DIR, 'test/fixtures');

/** `Kind/name` of a manifest, for error messages. */
export function objectLabel(obj: any): string {
  const kind = typeof obj?.kind === 'string' ? obj.kind : '<no kind>';
  const name = typeof obj?.metadata?.name === 'string' ? obj.metadata.name : '<no name>';
  return `${kind}/${name}`;
}

/** Appends a property name to a JSON path: `a.b`, or `a["app.kubernetes.io/name"]` when not an identifier. */
export function joinPath(base: string, key: string | number): string {
  if (typeof key === 'number') return `${base}[${key}]`;
  if (/^[A-Za-z_$][\w$-]*$/.test(key)) return base ? `${base}.${key}` : key;
  return `${base}[${JSON.stringify(key)}]`;
}

/** Appends a dotted sub-path written as a literal (`'securityContext.capabilities.drop'`) segment by segment. */
export function subPath(base: string, dotted: string): string {
  return dotted.split('.').reduce<string>((acc, seg) => joinPath(acc, seg), base);
}

/** Short, human description of a value for "expected X, got Y" messages. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'string') {
    const shown = value.length > 40 ? `${value.slice(0, 37)}...` : value;
    return `string ${JSON.stringify(shown)}`;
  }
  if (typeof value === 'number') return Number.isInteger(value) ? `integer ${value}` : `number ${value}`;
  if (typeof value === 'bigint') return `integer ${value}`;
  if (typeof value === 'object') return 'object';
  return `${typeof value} ${String(value)}`;
}

/** True for a plain JSON object (not an array, not null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Formats one problem: `Deployment/web: spec.replicas: expected integer, got string "2"`. */
export function problem(label: string, jsonPath: string, message: string): string {
  return `${label}: ${jsonPath || '(root)'}: ${message}`;
}

// ---------------------------------------------------------------------------
// Kubernetes name rules (apimachinery/pkg/util/validation)
// ---------------------------------------------------------------------------

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

/** DNS-1123 label: lower-case alphanumerics and '-', at most 63 characters. */
export function isDns1123Label(s: string): boolean {
  return s.length <= 63 && DNS1123_LABEL.test(s);
}

/** DNS-1035 label (Service names): a DNS-1123 label that starts with a letter. */
export function isDns1035Label(s: string): boolean {
  return s.length <= 63 && DNS1035_LABEL.test(s);
}

/** DNS-1123 subdomain: dot-separated labels, at most 253 characters. */
export function isDns1123Subdomain(s: string): boolean {
  return s.length > 0 && s.length <= 253 && s.split('.').every((l) => DNS1123_LABEL.test(l));
}

/** Label/annotation key: `[prefix/]name`, prefix a DNS-1123 subdomain, name at most 63 characters. */
export function isQualifiedName(key: string): boolean {
  const parts = key.split('/');
  if (parts.length > 2) return false;
  const name = parts[parts.length - 1];
  if (parts.length === 2 && !isDns1123Subdomain(parts[0])) return false;
  return name.length <= 63 && QUALIFIED_NAME_PART.test(name);
}

/** Label value: empty, or at most 63 characters of alphanumerics, '-', '_', '.' starting and ending alphanumeric. */
export function isLabelValue(value: string): boolean {
  return value === '' || (value.length <= 63 && QUALIFIED_NAME_PART.test(value));
}

// ---------------------------------------------------------------------------
// Value formats shared with the CRD checker
// ---------------------------------------------------------------------------

/** Kubernetes resource.Quantity (apimachinery `ParseQuantity`): number + optional suffix. */
const QUANTITY = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+|[KMGTPE]i|[numkMGTPE])?$/;
/** RFC 3339 date-time, as Go's `time.RFC3339` parses it. */
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Checks a Quantity value (string or number); returns an error message or undefined. */
export function quantityError(value: unknown): string | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `expected a finite quantity, got ${value}`;
  if (typeof value !== 'string') return `expected quantity (string or number), got ${describeValue(value)}`;
  return QUANTITY.test(value) ? undefined : `invalid quantity ${JSON.stringify(value)} (e.g. "500m", "128Mi", "1.5")`;
}

/**
 * Checks the OpenAPI `format` of a value whose JSON type is already right.
 * Unknown formats are ignored (as the API server ignores them).
 */
export function formatError(format: string, value: unknown): string | undefined {
  switch (format) {
    case 'int32':
      return typeof value === 'number' && (value < -(2 ** 31) || value > 2 ** 31 - 1) ? `${value} does not fit in int32` : undefined;
    case 'int64':
      return typeof value === 'number' && !Number.isSafeInteger(value) ? `${value} is not a safe int64` : undefined;
    case 'date-time':
      return typeof value === 'string' && (!DATE_TIME.test(value) || Number.isNaN(Date.parse(value)))
        ? `invalid RFC 3339 date-time ${JSON.stringify(value)}` : undefined;
    case 'byte':
      return typeof value === 'string' && !BASE64.test(value) ? 'invalid base64 (format byte)' : undefined;
    case 'int-or-string':
      return typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value))
        ? undefined : `expected integer or string, got ${describeValue(value)}`;
    case 'ipv4':
      return typeof value === 'string' && !isIPv4(value) ? `invalid IPv4 address ${JSON.stringify(value)}` : undefined;
    case 'ipv6':
      return typeof value === 'string' && !isIPv6(value) ? `invalid IPv6 address ${JSON.stringify(value)}` : undefined;
    case 'uuid':
      return typeof value === 'string' && !/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)
        ? `invalid uuid ${JSON.stringify(value)}` : undefined;
    default:
      return undefined;
  }
}

function isIPv4(s: string): boolean {
  const parts = s.split('.');
  return parts.length === 4 && parts.every((p) => /^(0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

function isIPv6(s: string): boolean {
  if (!/^[0-9A-Fa-f:.]+$/.test(s) || s.split('::').length > 2) return false;
  let rest = s;
  let groups = 0;
  const tail = rest.match(/:(\d+\.\d+\.\d+\.\d+)$/);
  if (tail) {
    if (!isIPv4(tail[1])) return false;
    rest = rest.slice(0, -tail[1].length) + '0:0';
  }
  const halves = rest.split('::');
  for (const half of halves) {
    if (half === '') continue;
    for (const g of half.split(':')) {
      if (!/^[0-9A-Fa-f]{1,4}$/.test(g)) return false;
      groups++;
    }
  }
  return halves.length === 2 ? groups < 8 : groups === 8;
}

/** Finds duplicate keys in an `x-kubernetes-list-type: map|set` list; returns messages. */
export function listUniquenessErrors(list: unknown[], listType: string | undefined, mapKeys: string[] | undefined): string[] {
  if (listType !== 'map' && listType !== 'set') return [];
  const seen = new Map<string, number>();
  const out: string[] = [];
  list.forEach((item, i) => {
    let key: string;
    if (listType === 'set') {
      key = JSON.stringify(item);
    } else {
      if (!isPlainObject(item) || !mapKeys) return;
      // `protocol` defaults to TCP in every built-in list-map that keys on it (ports).
      key = JSON.stringify(mapKeys.map((k) => item[k] ?? (k === 'protocol' ? 'TCP' : null)));
    }
    const first = seen.get(key);
    if (first === undefined) seen.set(key, i);
    else out.push(`[${i}] duplicates [${first}] (list-type ${listType}${mapKeys ? ` keyed by ${mapKeys.join(', ')}` : ''}: ${key})`);
  });
  return out;
}

// ---------------------------------------------------------------------------
// The Kubernetes definitions
// ---------------------------------------------------------------------------

/** The subset of Swagger 2.0 schema keywords the definitions file uses. */
interface SwaggerSchema {
  readonly '$ref'?: string;
  readonly 'type'?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  readonly 'format'?: string;
  readonly 'properties'?: Readonly<Record<string, SwaggerSchema>>;
  readonly 'additionalProperties'?: SwaggerSchema | boolean;
  readonly 'items'?: SwaggerSchema;
  readonly 'required'?: readonly string[];
  readonly 'enum'?: readonly unknown[];
  readonly 'oneOf'?: readonly SwaggerSchema[];
  readonly 'x-kubernetes-group-version-kind'?: ReadonlyArray<{ group: string; version: string; kind: string }>;
  readonly 'x-kubernetes-list-type'?: string;
  readonly 'x-kubernetes-list-map-keys'?: string[];
}

export const K8S_DEFINITIONS_FILE = path.join(FIXTURES_DIR, 'kubernetes/v1.28.0-definitions.json');

const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
const APIEXT = 'io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.v1';
/** Definition name of ObjectMeta, for callers (the CRD checker validates `metadata` against it). */
export const OBJECT_META = `${META}.ObjectMeta`;

let definitions: Readonly<Record<string, SwaggerSchema>> | undefined;
let byGvk: Map<string, string> | undefined;

/** Loads (once per module instance) the definitions and the apiVersion/kind → definition index. */
function load(): { defs: Readonly<Record<string, SwaggerSchema>>; gvk: Map<string, string> } {
  if (!definitions || !byGvk) {
    const json = JSON.parse(fs.readFileSync(K8S_DEFINITIONS_FILE, 'utf8')) as { definitions: Record<string, SwaggerSchema> };
    definitions = json.definitions;
    byGvk = new Map();
    for (const [name, def] of Object.entries(definitions)) {
      const gvks = def['x-kubernetes-group-version-kind'] ?? [];
      // DeleteOptions and WatchEvent claim every group; they are never manifests.
      if (gvks.length > 2) continue;
      for (const { group, version, kind } of gvks) {
        byGvk.set(gvkKey(group ? `${group}/${version}` : version, kind), name);
      }
    }
  }
  return { defs: definitions, gvk: byGvk };
}

function gvkKey(apiVersion: string, kind: string): string {
  return `${apiVersion}|${kind}`;
}

/** The definition name for a core apiVersion/kind (e.g. `apps/v1`, `Deployment`), if Kubernetes 1.28 has it. */
export function k8sDefinitionName(apiVersion: string, kind: string): string | undefined {
  return load().gvk.get(gvkKey(apiVersion, kind));
}

/** True when apiVersion/kind is a built-in Kubernetes 1.28 type. */
export function isCoreKind(apiVersion: unknown, kind: unknown): boolean {
  return typeof apiVersion === 'string' && typeof kind === 'string' && k8sDefinitionName(apiVersion, kind) !== undefined;
}

/** Definitions holding arbitrary JSON: anything goes below them. */
const FREE_FORM = new Set([`${META}.FieldsV1`, `${META}.Patch`, 'io.k8s.apimachinery.pkg.runtime.RawExtension', `${APIEXT}.JSON`]);

/**
 * Validates `value` against definition `definition` (e.g. {@link OBJECT_META}).
 * Returns problems formatted with `label` and paths starting at `basePath`.
 */
export function validateAgainstDefinition(value: unknown, definition: string, basePath: string, label: string): string[] {
  const out: string[] = [];
  const { defs } = load();
  if (!defs[definition]) throw new Error(`no definition ${definition} in ${K8S_DEFINITIONS_FILE}`);
  new Walker(defs, label, out).validateRef(value, definition, basePath);
  return out;
}

/**
 * Strictly validates one core Kubernetes object. Returns problems such as
 * `Deployment/web: spec.template.spec.containers[0].imagePullPolcy: unknown field`.
 * An apiVersion/kind that is not built in gives a "no schema" problem.
 */
export function validateK8sObject(obj: any): string[] {
  const label = objectLabel(obj);
  if (!isPlainObject(obj)) return [problem(label, '', `expected a manifest object, got ${describeValue(obj)}`)];
  if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
    return [problem(label, '', 'apiVersion and kind must be strings')];
  }
  const name = k8sDefinitionName(obj.apiVersion, obj.kind);
  if (!name) return [problem(label, '', `no schema for ${obj.apiVersion}/${obj.kind} in Kubernetes 1.28`)];
  return validateAgainstDefinition(obj, name, '', label);
}

/** Recursive validator over the Swagger definitions; collects problems into `out`. */
class Walker {
  constructor(
    private readonly defs: Readonly<Record<string, SwaggerSchema>>,
    private readonly label: string,
    private readonly out: string[],
  ) {}

  private fail(at: string, message: string): void {
    this.out.push(problem(this.label, at, message));
  }

  /** Validates against a named definition, with the special cases Swagger cannot express. */
  validateRef(value: unknown, name: string, at: string): void {
    if (value === null) return this.fail(at, 'null is not allowed');
    if (FREE_FORM.has(name)) return;
    switch (name) {
      case 'io.k8s.apimachinery.pkg.api.resource.Quantity': {
        const err = quantityError(value);
        if (err) this.fail(at, err);
        return;
      }
      case 'io.k8s.apimachinery.pkg.util.intstr.IntOrString':
        if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
          this.fail(at, `expected integer or string (IntOrString), got ${describeValue(value)}`);
        }
        return;
      // The JSONSchemaProps "Or" unions are typeless in the definitions; check their schema branch.
      case `${APIEXT}.JSONSchemaPropsOrArray`:
        if (Array.isArray(value)) value.forEach((v, i) => this.validateRef(v, `${APIEXT}.JSONSchemaProps`, joinPath(at, i)));
        else this.validateRef(value, `${APIEXT}.JSONSchemaProps`, at);
        return;
      case `${APIEXT}.JSONSchemaPropsOrBool`:
        if (typeof value !== 'boolean') this.validateRef(value, `${APIEXT}.JSONSchemaProps`, at);
        return;
      case `${APIEXT}.JSONSchemaPropsOrStringArray`:
        if (Array.isArray(value)) this.validate(value, { type: 'array', items: { type: 'string' } }, at);
        else this.validateRef(value, `${APIEXT}.JSONSchemaProps`, at);
        return;
    }
    const def = this.defs[name];
    if (!def) return this.fail(at, `schema bug: unresolvable definition ${name}`);
    this.validate(value, def, at);
  }

  validate(value: unknown, schema: SwaggerSchema, at: string): void {
    if (schema.$ref) return this.validateRef(value, schema.$ref.replace(/^#\/definitions\//, ''), at);
    if (value === null) return this.fail(at, 'null is not allowed');
    if (schema.oneOf) {
      if (!schema.oneOf.some((branch) => typeMatches(value, branch.type))) {
        this.fail(at, `expected one of ${schema.oneOf.map((b) => b.type).join(' | ')}, got ${describeValue(value)}`);
      }
      return;
    }
    if (!schema.type) return; // typeless and not special-cased: arbitrary JSON
    if (!typeMatches(value, schema.type)) return this.fail(at, `expected ${schema.type}, got ${describeValue(value)}`);
    if (schema.enum && !schema.enum.includes(value)) {
      this.fail(at, `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${describeValue(value)}`);
    }
    if (schema.format) {
      const err = formatError(schema.format, value);
      if (err) this.fail(at, err);
    }
    if (schema.type === 'array') this.validateArray(value as unknown[], schema, at);
    else if (schema.type === 'object') this.validateObject(value as Record<string, unknown>, schema, at);
  }

  private validateArray(value: unknown[], schema: SwaggerSchema, at: string): void {
    if (schema.items) value.forEach((item, i) => this.validate(item, schema.items!, joinPath(at, i)));
    for (const err of listUniquenessErrors(value, schema['x-kubernetes-list-type'], schema['x-kubernetes-list-map-keys'])) {
      this.fail(at, err);
    }
  }

  private validateObject(value: Record<string, unknown>, schema: SwaggerSchema, at: string): void {
    const props = schema.properties ?? {};
    for (const [key, v] of Object.entries(value)) {
      const sub = props[key];
      if (sub) {
        this.validate(v, sub, joinPath(at, key));
      } else if (isPlainObject(schema.additionalProperties)) {
        this.validate(v, schema.additionalProperties, joinPath(at, key));
      } else if (schema.additionalProperties !== true) {
        const hint = Object.keys(props).find((p) => p.toLowerCase() === key.toLowerCase());
        this.fail(joinPath(at, key), `unknown field${hint ? ` (did you mean "${hint}"?)` : ''}`);
      }
    }
    for (const req of schema.required ?? []) {
      if (!(req in value)) this.fail(at, `missing required field "${req}"`);
    }
  }
}

/** JSON type test; `integer` excludes fractions. */
export function typeMatches(value: unknown, type: string | undefined): boolean {
  switch (type) {
    case undefined: return true;
    case 'object': return isPlainObject(value);
    case 'array': return Array.isArray(value);
    case 'string': return typeof value === 'string';
    case 'boolean': return typeof value === 'boolean';
    case 'integer': return typeof value === 'number' && Number.isInteger(value);
    case 'number': return typeof value === 'number' && Number.isFinite(value);
    default: return false;
  }
}
