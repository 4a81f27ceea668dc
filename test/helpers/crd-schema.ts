/**
 * Strict validation of custom resources against CRD `openAPIV3Schema`s:
 * every CRD YAML under `crds/**`, plus any CustomResourceDefinition
 * objects in the bundle being checked (ours: the frp.io DistributedService CRD).
 *
 * Checked: type, properties, additionalProperties (bool or schema), items, required,
 * enum, pattern, minimum/maximum (+exclusive), multipleOf, minLength/maxLength,
 * minItems/maxItems, uniqueItems, minProperties/maxProperties, format (known ones; unknown
 * ignored), allOf/anyOf/oneOf/not, nullable, x-kubernetes-int-or-string,
 * x-kubernetes-preserve-unknown-fields, x-kubernetes-embedded-resource,
 * x-kubernetes-list-type map/set uniqueness. Unknown fields are errors (the API server
 * would silently prune them). `metadata` is validated against the Kubernetes ObjectMeta.
 *
 * NOT checked: `x-kubernetes-validations` (CEL rules) - evaluating CEL needs a CEL
 * engine; tests of our own CRD should exercise those rules separately. `default` values
 * are not applied before validation (so a field with a default may still be "required").
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as YAML from 'yaml';
import {
  OBJECT_META, REPO_DIR, describeValue, formatError, isPlainObject, joinPath, listUniquenessErrors,
  objectLabel, problem, typeMatches, validateAgainstDefinition,
} from './k8s-schema';

/** The JSONSchemaProps keywords we act on. */
export interface CrdSchema {
  readonly 'type'?: string;
  readonly 'format'?: string;
  readonly 'properties'?: Readonly<Record<string, CrdSchema>>;
  readonly 'additionalProperties'?: CrdSchema | boolean;
  readonly 'items'?: CrdSchema;
  readonly 'required'?: readonly string[];
  readonly 'enum'?: readonly unknown[];
  readonly 'pattern'?: string;
  readonly 'minimum'?: number;
  readonly 'maximum'?: number;
  readonly 'exclusiveMinimum'?: boolean;
  readonly 'exclusiveMaximum'?: boolean;
  readonly 'multipleOf'?: number;
  readonly 'minLength'?: number;
  readonly 'maxLength'?: number;
  readonly 'minItems'?: number;
  readonly 'maxItems'?: number;
  readonly 'uniqueItems'?: boolean;
  readonly 'minProperties'?: number;
  readonly 'maxProperties'?: number;
  readonly 'nullable'?: boolean;
  readonly 'allOf'?: readonly CrdSchema[];
  readonly 'anyOf'?: readonly CrdSchema[];
  readonly 'oneOf'?: readonly CrdSchema[];
  readonly 'not'?: CrdSchema;
  readonly 'x-kubernetes-int-or-string'?: boolean;
  readonly 'x-kubernetes-preserve-unknown-fields'?: boolean;
  readonly 'x-kubernetes-embedded-resource'?: boolean;
  readonly 'x-kubernetes-list-type'?: string;
  readonly 'x-kubernetes-list-map-keys'?: string[];
}

/** One CRD, reduced to what validation needs. */
export interface CrdEntry {
  readonly name: string;
  readonly group: string;
  readonly kind: string;
  readonly plural: string;
  readonly scope: 'Namespaced' | 'Cluster';
  readonly versions: ReadonlyArray<{ readonly name: string; readonly served: boolean; readonly schema?: CrdSchema }>;
  /** Where it came from: a file under crds/, or "bundle". */
  readonly source: string;
}

export const CRDS_DIR = path.join(REPO_DIR, 'crds');

// ---------------------------------------------------------------------------
// Loading
// ---------------------------------------------------------------------------

/** Bump when the cached shape changes. */
const CACHE_FORMAT = 1;
let sharedCrds: Map<string, CrdEntry> | undefined;

function crdKey(group: string, kind: string): string {
  return `${group}|${kind}`;
}

function listYamlFiles(dir: string): string[] {
  const found: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) found.push(...listYamlFiles(full));
    else if (/\.ya?ml$/.test(entry.name)) found.push(full);
  }
  return found;
}

/**
 * All CRDs under crds/, loaded once per module instance. Parsing the 1.7 MB of
 * YAML takes over a second, so the reduced form (no descriptions, no CEL) is cached as
 * JSON in the OS temp dir, keyed by a hash of the files' contents.
 */
export function sharedCrdEntries(): ReadonlyMap<string, CrdEntry> {
  if (sharedCrds) return sharedCrds;
  const files = listYamlFiles(CRDS_DIR);
  const texts = files.map((f) => fs.readFileSync(f, 'utf8'));
  const hash = crypto.createHash('sha256').update(`v${CACHE_FORMAT}\0`);
  files.forEach((f, i) => hash.update(`${path.relative(CRDS_DIR, f)}\0${texts[i]}\0`));
  const cacheFile = path.join(os.tmpdir(), `cdk8s-frp-crd-schemas-${hash.digest('hex').slice(0, 16)}.json`);

  let entries: CrdEntry[] | undefined;
  try {
    entries = JSON.parse(fs.readFileSync(cacheFile, 'utf8')) as CrdEntry[];
  } catch {
    entries = [];
    files.forEach((file, i) => {
      for (const doc of YAML.parseAllDocuments(texts[i])) {
        const crd = doc.toJS();
        if (crd?.kind === 'CustomResourceDefinition') entries!.push(toEntry(crd, path.relative(REPO_DIR, file)));
      }
    });
    try {
      // Write then rename, so parallel jest workers never read a half-written file.
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, JSON.stringify(entries));
      fs.renameSync(tmp, cacheFile);
    } catch {
      // A read-only temp dir only costs speed.
    }
  }
  sharedCrds = new Map(entries.map((e) => [crdKey(e.group, e.kind), e]));
  return sharedCrds;
}

/** Drops what validation never reads (descriptions, CEL, defaults, examples): smaller cache, faster load. */
function reduceSchema(schema: any): CrdSchema {
  if (!isPlainObject(schema)) return schema as CrdSchema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    switch (k) {
      case 'description': case 'x-kubernetes-validations': case 'default': case 'example': case 'externalDocs':
        break;
      case 'properties':
        out[k] = Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([p, s]) => [p, reduceSchema(s)]));
        break;
      case 'items': case 'additionalProperties': case 'not':
        out[k] = typeof v === 'boolean' ? v : reduceSchema(v);
        break;
      case 'allOf': case 'anyOf': case 'oneOf':
        out[k] = (v as unknown[]).map(reduceSchema);
        break;
      default:
        out[k] = v;
    }
  }
  return out as CrdSchema;
}

/** Reduces a CustomResourceDefinition manifest to a {@link CrdEntry}. */
export function toEntry(crd: any, source: string): CrdEntry {
  const spec = crd?.spec ?? {};
  return {
    name: crd?.metadata?.name,
    group: spec.group,
    kind: spec.names?.kind,
    plural: spec.names?.plural,
    scope: spec.scope,
    versions: (spec.versions ?? []).map((v: any) => ({
      name: v?.name,
      served: v?.served === true,
      schema: v?.schema?.openAPIV3Schema ? reduceSchema(v.schema.openAPIV3Schema) : undefined,
    })),
    source,
  };
}

/** CRD entries from CustomResourceDefinition objects in a bundle, cached per manifest object. */
const bundleEntryCache = new WeakMap<object, CrdEntry>();
function bundleEntries(bundleCrds: readonly any[]): CrdEntry[] {
  return bundleCrds
    .filter((o) => isPlainObject(o) && o.kind === 'CustomResourceDefinition' && o.apiVersion === 'apiextensions.k8s.io/v1')
    .map((o) => {
      let e = bundleEntryCache.get(o);
      if (!e) bundleEntryCache.set(o, (e = toEntry(o, 'bundle')));
      return e;
    });
}

/** The CRD defining apiVersion/kind: a bundle CRD wins over a shared one. */
export function findCrd(apiVersion: string, kind: string, bundleCrds: readonly any[] = []): CrdEntry | undefined {
  const group = apiVersion.includes('/') ? apiVersion.slice(0, apiVersion.indexOf('/')) : '';
  if (!group) return undefined;
  return bundleEntries(bundleCrds).find((e) => e.group === group && e.kind === kind)
    ?? sharedCrdEntries().get(crdKey(group, kind));
}

// ---------------------------------------------------------------------------
// Validating custom resources
// ---------------------------------------------------------------------------

/**
 * Strictly validates one custom resource against its CRD (from crds/ or from
 * `bundleCrds`, the bundle's own CustomResourceDefinition objects).
 */
export function validateCustomResource(obj: any, bundleCrds: readonly any[] = []): string[] {
  const label = objectLabel(obj);
  if (!isPlainObject(obj) || typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') {
    return [problem(label, '', 'apiVersion and kind must be strings')];
  }
  const crd = findCrd(obj.apiVersion, obj.kind, bundleCrds);
  if (!crd) return [problem(label, '', `no schema for ${obj.apiVersion}/${obj.kind} (no built-in type, no CRD in crds/ or in the bundle)`)];
  const versionName = obj.apiVersion.slice(obj.apiVersion.indexOf('/') + 1);
  const version = crd.versions.find((v) => v.name === versionName);
  const known = crd.versions.map((v) => `${v.name}${v.served ? '' : ' (not served)'}`).join(', ');
  if (!version) return [problem(label, 'apiVersion', `version ${versionName} is not defined by CRD ${crd.name} (${known})`)];
  if (!version.served) return [problem(label, 'apiVersion', `version ${versionName} is not served by CRD ${crd.name} (${known})`)];
  if (!version.schema) return [problem(label, '', `CRD ${crd.name} version ${versionName} has no openAPIV3Schema`)];

  const out: string[] = [];
  const root = version.schema;
  // apiVersion/kind are implicit; metadata is always ObjectMeta, whatever the CRD says.
  if (!isPlainObject(obj.metadata)) {
    out.push(problem(label, 'metadata', `expected object, got ${describeValue(obj.metadata)}`));
  } else {
    out.push(...validateAgainstDefinition(obj.metadata, OBJECT_META, 'metadata', label));
    // A CRD may constrain metadata further (e.g. name length); apply those value rules too.
    if (root.properties?.metadata) new CrdWalker(label, out).validate(obj.metadata, root.properties.metadata, 'metadata', false);
    if (crd.scope === 'Cluster' && obj.metadata.namespace !== undefined) {
      out.push(problem(label, 'metadata.namespace', `${crd.kind} is cluster-scoped and must not have a namespace`));
    }
  }
  const rest: Record<string, unknown> = { ...obj };
  delete rest.apiVersion;
  delete rest.kind;
  delete rest.metadata;
  const rootSchema: CrdSchema = {
    ...root,
    properties: Object.fromEntries(Object.entries(root.properties ?? {}).filter(([k]) => !['apiVersion', 'kind', 'metadata'].includes(k))),
    required: (root.required ?? []).filter((k) => !['apiVersion', 'kind', 'metadata'].includes(k)),
  };
  new CrdWalker(label, out).validate(rest, rootSchema, '', true);
  return out;
}

const regexCache = new Map<string, RegExp | null>();
/** Compiles a CRD `pattern` (Go RE2 syntax); a leading `(?i)` becomes the `i` flag. Null if JS cannot compile it. */
function compilePattern(pattern: string): RegExp | null {
  let re = regexCache.get(pattern);
  if (re === undefined) {
    const ci = pattern.startsWith('(?i)');
    try {
      re = new RegExp(ci ? pattern.slice(4) : pattern, ci ? 'iu' : 'u');
    } catch {
      try {
        re = new RegExp(ci ? pattern.slice(4) : pattern, ci ? 'i' : '');
      } catch {
        re = null; // not expressible in JS: skipped
      }
    }
    regexCache.set(pattern, re);
  }
  return re;
}

/** Deep equality for enum and uniqueness checks. */
function deepEqual(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (isPlainObject(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical(v[k])]));
  return v;
}

/** Recursive validator over JSONSchemaProps. */
class CrdWalker {
  constructor(private readonly label: string, private readonly out: string[]) {}

  private fail(at: string, message: string): void {
    this.out.push(problem(this.label, at, message));
  }

  /** Runs `schema` on `value` into a scratch list (for anyOf/oneOf/not) and returns whether it passed. */
  private passes(value: unknown, schema: CrdSchema, at: string): string[] {
    const scratch: string[] = [];
    new CrdWalker(this.label, scratch).validate(value, schema, at, false);
    return scratch;
  }

  /**
   * @param structural true for the structural schema itself (unknown fields are errors);
   *   false inside allOf/anyOf/oneOf/not, which only add value validations.
   */
  validate(value: unknown, schema: CrdSchema, at: string, structural: boolean): void {
    if (value === null) {
      if (!schema.nullable && structural) this.fail(at, 'null is not allowed (schema is not nullable)');
      return;
    }
    if (schema['x-kubernetes-int-or-string']) {
      if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
        return this.fail(at, `expected integer or string, got ${describeValue(value)}`);
      }
    } else if (schema.type && !typeMatches(value, schema.type)) {
      return this.fail(at, `expected ${schema.type}, got ${describeValue(value)}`);
    }

    if (schema.enum && !schema.enum.some((e) => deepEqual(e, value))) {
      this.fail(at, `must be one of ${schema.enum.map((e) => JSON.stringify(e)).join(', ')}, got ${describeValue(value)}`);
    }
    if (schema.format) {
      const err = formatError(schema.format, value);
      if (err) this.fail(at, err);
    }
    if (typeof value === 'string') this.validateString(value, schema, at);
    else if (typeof value === 'number') this.validateNumber(value, schema, at);
    else if (Array.isArray(value)) this.validateArray(value, schema, at, structural);
    else if (isPlainObject(value)) this.validateObject(value, schema, at, structural);

    for (const sub of schema.allOf ?? []) this.validate(value, sub, at, false);
    if (schema.anyOf && !schema.anyOf.some((sub) => this.passes(value, sub, at).length === 0)) {
      this.fail(at, `must match at least one of ${schema.anyOf.length} anyOf schemas${describeBranches(schema.anyOf)}`);
    }
    if (schema.oneOf) {
      const matched = schema.oneOf.filter((sub) => this.passes(value, sub, at).length === 0).length;
      if (matched !== 1) this.fail(at, `must match exactly one of ${schema.oneOf.length} oneOf schemas, matched ${matched}${describeBranches(schema.oneOf)}`);
    }
    if (schema.not && this.passes(value, schema.not, at).length === 0) {
      this.fail(at, `must not match the "not" schema${describeBranches([schema.not])}`);
    }
  }

  private validateString(value: string, schema: CrdSchema, at: string): void {
    const length = [...value].length; // Go counts runes
    if (schema.minLength !== undefined && length < schema.minLength) this.fail(at, `length ${length} < minLength ${schema.minLength}`);
    if (schema.maxLength !== undefined && length > schema.maxLength) this.fail(at, `length ${length} > maxLength ${schema.maxLength}`);
    if (schema.pattern !== undefined) {
      const re = compilePattern(schema.pattern);
      if (re && !re.test(value)) this.fail(at, `${describeValue(value)} does not match pattern ${schema.pattern}`);
    }
  }

  private validateNumber(value: number, schema: CrdSchema, at: string): void {
    if (schema.minimum !== undefined && (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum)) {
      this.fail(at, `${value} is below the ${schema.exclusiveMinimum ? 'exclusive ' : ''}minimum ${schema.minimum}`);
    }
    if (schema.maximum !== undefined && (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum)) {
      this.fail(at, `${value} is above the ${schema.exclusiveMaximum ? 'exclusive ' : ''}maximum ${schema.maximum}`);
    }
    if (schema.multipleOf !== undefined && !Number.isInteger(value / schema.multipleOf)) {
      this.fail(at, `${value} is not a multiple of ${schema.multipleOf}`);
    }
  }

  private validateArray(value: unknown[], schema: CrdSchema, at: string, structural: boolean): void {
    if (schema.minItems !== undefined && value.length < schema.minItems) this.fail(at, `${value.length} items < minItems ${schema.minItems}`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems) this.fail(at, `${value.length} items > maxItems ${schema.maxItems}`);
    if (schema.items) value.forEach((item, i) => this.validate(item, schema.items!, joinPath(at, i), structural));
    if (schema.uniqueItems) {
      value.forEach((item, i) => {
        const j = value.findIndex((other) => deepEqual(other, item));
        if (j < i) this.fail(joinPath(at, i), `duplicates item [${j}] (uniqueItems)`);
      });
    }
    for (const err of listUniquenessErrors(value, schema['x-kubernetes-list-type'], schema['x-kubernetes-list-map-keys'])) {
      this.fail(at, err);
    }
  }

  private validateObject(value: Record<string, unknown>, schema: CrdSchema, at: string, structural: boolean): void {
    const props = schema.properties ?? {};
    const embedded = schema['x-kubernetes-embedded-resource'] === true;
    const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
    for (const [key, v] of Object.entries(value)) {
      const sub = props[key];
      if (embedded && ['apiVersion', 'kind', 'metadata'].includes(key) && !sub) continue; // checked below
      if (sub) {
        this.validate(v, sub, joinPath(at, key), structural);
      } else if (isPlainObject(schema.additionalProperties)) {
        this.validate(v, schema.additionalProperties, joinPath(at, key), structural);
      } else if (structural && schema.additionalProperties !== true && !preserve) {
        const hint = Object.keys(props).find((p) => p.toLowerCase() === key.toLowerCase());
        this.fail(joinPath(at, key), `unknown field${hint ? ` (did you mean "${hint}"?)` : ''}`);
      }
    }
    for (const req of schema.required ?? []) {
      if (!(req in value)) this.fail(at, `missing required field "${req}"`);
    }
    const count = Object.keys(value).length;
    if (schema.minProperties !== undefined && count < schema.minProperties) this.fail(at, `${count} properties < minProperties ${schema.minProperties}`);
    if (schema.maxProperties !== undefined && count > schema.maxProperties) this.fail(at, `${count} properties > maxProperties ${schema.maxProperties}`);
    if (embedded && structural) {
      // An embedded object is a full Kubernetes object: apiVersion, kind and ObjectMeta.
      for (const k of ['apiVersion', 'kind']) {
        if (typeof value[k] !== 'string' || value[k] === '') this.fail(joinPath(at, k), 'embedded resource needs a non-empty string');
      }
      if (value.metadata !== undefined) {
        this.out.push(...validateAgainstDefinition(value.metadata, OBJECT_META, joinPath(at, 'metadata'), this.label));
      }
    }
  }
}

/** For junctor messages: `(branches: {required: exact} | {required: prefix})`. */
function describeBranches(branches: readonly CrdSchema[]): string {
  const parts = branches.map((b) => {
    if (b.required && Object.keys(b).length === 1) return `{required: ${b.required.join(', ')}}`;
    if (b.type && Object.keys(b).length === 1) return `{type: ${b.type}}`;
    if (b.not) return 'not(...)';
    return '{...}';
  });
  return parts.every((p) => p === '{...}') ? '' : ` (${parts.join(' | ')})`;
}

// ---------------------------------------------------------------------------
// Checking a CRD manifest itself (ours is generated by the library)
// ---------------------------------------------------------------------------

/**
 * Checks what the API server requires of a v1 CRD beyond its OpenAPI shape:
 * name = plural.group, exactly one storage version, a schema per version, and
 * the main structural-schema rules (a type on every node unless int-or-string or
 * preserve-unknown-fields; `properties` xor `additionalProperties`; arrays have items;
 * no types inside allOf/anyOf/oneOf/not except the int-or-string idiom;
 * preserve-unknown-fields is never false). CEL rules are not compiled.
 */
export function checkCrdDefinition(crd: any): string[] {
  const label = objectLabel(crd);
  const out: string[] = [];
  const spec = crd?.spec ?? {};
  const expected = `${spec.names?.plural}.${spec.group}`;
  if (crd?.metadata?.name !== expected) out.push(problem(label, 'metadata.name', `must be <plural>.<group> = "${expected}"`));
  const versions: any[] = Array.isArray(spec.versions) ? spec.versions : [];
  const storage = versions.filter((v) => v?.storage === true).length;
  if (storage !== 1) out.push(problem(label, 'spec.versions', `exactly one version must have storage: true (found ${storage})`));
  versions.forEach((v, i) => {
    const at = `spec.versions[${i}].schema.openAPIV3Schema`;
    const schema = v?.schema?.openAPIV3Schema;
    if (!isPlainObject(schema)) out.push(problem(label, at, 'missing schema'));
    else structuralErrors(schema, at, false, out, label);
  });
  return out;
}

function structuralErrors(s: any, at: string, inJunctor: boolean, out: string[], label: string): void {
  const intOrString = s['x-kubernetes-int-or-string'] === true;
  const preserve = s['x-kubernetes-preserve-unknown-fields'] === true;
  if (s['x-kubernetes-preserve-unknown-fields'] === false) out.push(problem(label, at, 'x-kubernetes-preserve-unknown-fields must be true or absent'));
  if (!inJunctor && !s.type && !intOrString && !preserve) out.push(problem(label, at, 'structural schema: "type" is required'));
  if (inJunctor && s.type !== undefined && !(s.type === 'integer' || s.type === 'string')) {
    out.push(problem(label, at, 'structural schema: no "type" inside allOf/anyOf/oneOf/not'));
  }
  if (s.properties && s.additionalProperties !== undefined && s.additionalProperties !== false) {
    out.push(problem(label, at, 'structural schema: "properties" and "additionalProperties" are mutually exclusive'));
  }
  if (!inJunctor && s.type === 'array' && !s.items) out.push(problem(label, at, 'structural schema: arrays need "items"'));
  for (const [k, sub] of Object.entries<any>(s.properties ?? {})) structuralErrors(sub, joinPath(joinPath(at, 'properties'), k), inJunctor, out, label);
  if (isPlainObject(s.items)) structuralErrors(s.items, joinPath(at, 'items'), inJunctor, out, label);
  if (isPlainObject(s.additionalProperties)) structuralErrors(s.additionalProperties, joinPath(at, 'additionalProperties'), inJunctor, out, label);
  for (const j of ['allOf', 'anyOf', 'oneOf'] as const) {
    (Array.isArray(s[j]) ? s[j] : []).forEach((sub: any, i: number) => structuralErrors(sub, `${joinPath(at, j)}[${i}]`, true, out, label));
  }
  if (isPlainObject(s.not)) structuralErrors(s.not, joinPath(at, 'not'), true, out, label);
}
