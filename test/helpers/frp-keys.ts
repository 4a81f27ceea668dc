/**
 * Strict checks of frps.toml / frpc.toml text against frp v0.70.1
 * (`test/fixtures/frp/config-keys.json`, derived from frp v0.70.1's source).
 *
 * Structure (from config-keys.json): every key path must exist for the side; proxies and
 * visitors are checked against the complete list for their own `type`; `plugin` tables
 * against `proxyPlugin[plugin.type]` / `visitorPlugin[plugin.type]`; keys under `maps`
 * entries are free-form; value types follow `types` (TOML ints must be integers, not
 * floats); enum values follow `enums`. Key matching is case-sensitive (frp itself is
 * not), so only canonical spellings pass.
 *
 * Semantics (from FACTS.md): no top-level `[common]` table (§1); Go template syntax
 * (§2: only `{{ .Envs.NAME }}` and the `{{ "{{" }}` escape are accepted, `<no value>`
 * is an error); load-balancing groups (§3: supported types only; a grouped http/https/
 * tcpmux proxy has exactly one domain, an http one at most one location); unique proxy
 * and visitor names; `auth.token` xor `auth.tokenSource`; pointer tables fully populated
 * (§1.8); ports in range; and the statically checkable validators of §9.
 *
 * Not checked: anything that needs frps and frpc together (group parameter consistency
 * across members, subdomain vs subDomainHost, vhost ports enabled on frps), files named
 * by the config (TLS files, `includes`), and the templates' rendered values.
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse, TomlDate } from 'smol-toml';
import { FIXTURES_DIR, isPlainObject, isQualifiedName, joinPath, subPath } from './k8s-schema';
import { SECRET_STRING_DEFINE, SECRET_STRING_TEMPLATE } from '../../lib/frp/template';

export type FrpSide = 'server' | 'client';

export const FRP_CONFIG_KEYS_FILE = path.join(FIXTURES_DIR, 'frp/config-keys.json');

type KeyList = readonly string[];
type TypeMap = Readonly<Record<string, string>>;

/** The parts of config-keys.json this checker reads. */
interface ConfigKeys {
  readonly server: KeyList;
  readonly client: KeyList;
  readonly proxyTypes: KeyList;
  readonly proxy: Readonly<Record<string, KeyList>>;
  readonly visitorTypes: KeyList;
  readonly visitor: Readonly<Record<string, KeyList>>;
  readonly proxyPluginTypes: KeyList;
  readonly proxyPlugin: Readonly<Record<string, KeyList>>;
  readonly visitorPluginTypes: KeyList;
  readonly visitorPlugin: Readonly<Record<string, KeyList>>;
  readonly loadBalancerGroupSupported: KeyList;
  readonly arrayOfTables: {
    readonly server: TypeMap;
    readonly client: TypeMap;
    readonly proxy: Readonly<Record<string, TypeMap>>;
    readonly visitor: Readonly<Record<string, TypeMap>>;
  };
  readonly maps: {
    readonly server: KeyList;
    readonly client: KeyList;
    readonly proxy: Readonly<Record<string, KeyList>>;
    readonly visitor: Readonly<Record<string, KeyList>>;
    readonly proxyPlugin: Readonly<Record<string, KeyList>>;
  };
  readonly enums: Readonly<Record<string, KeyList>>;
  readonly types: {
    readonly server: TypeMap;
    readonly client: TypeMap;
    readonly proxy: Readonly<Record<string, TypeMap>>;
    readonly visitor: Readonly<Record<string, TypeMap>>;
    readonly proxyPlugin: Readonly<Record<string, TypeMap>>;
    readonly visitorPlugin: Readonly<Record<string, TypeMap>>;
  };
}

/** One schema section: the top level of a side, one proxy/visitor type, or one plugin type. */
interface Section {
  /** For messages: "client", "tcp proxy", "socks5 plugin". */
  readonly title: string;
  /** Prefixes to try when looking up `enums`, most specific first ("" = unprefixed). */
  readonly enumScopes: readonly string[];
  readonly keys: ReadonlySet<string>;
  readonly types: TypeMap;
}

interface Schema {
  readonly raw: ConfigKeys;
  readonly sides: Readonly<Record<FrpSide, Section>>;
  readonly proxies: ReadonlyMap<string, Section>;
  readonly visitors: ReadonlyMap<string, Section>;
  readonly proxyPlugins: ReadonlyMap<string, Section>;
  readonly visitorPlugins: ReadonlyMap<string, Section>;
}

/** `auth.oidc.tokenSource` is the same ValueSource type as `auth.tokenSource` (FACTS §5/§6). */
const ENUM_ALIASES: Readonly<Record<string, string>> = { 'auth.oidc.tokenSource.type': 'auth.tokenSource.type' };

let schema: Schema | undefined;

function loadSchema(): Schema {
  if (schema) return schema;
  const raw = JSON.parse(fs.readFileSync(FRP_CONFIG_KEYS_FILE, 'utf8')) as ConfigKeys;
  const section = (title: string, enumScopes: string[], keys: KeyList, types: TypeMap): Section =>
    ({ title, enumScopes, keys: new Set(keys), types });
  const perType = (kind: 'proxy' | 'visitor', types: KeyList) => new Map(types.map((t) => [t, section(
    `${t} ${kind}`, [`${kind}.${t}`, kind], raw[kind][t], { ...raw.types[kind].common, ...raw.types[kind][t] })]));
  const perPlugin = (kind: 'proxyPlugin' | 'visitorPlugin', types: KeyList) => new Map(types.map((t) => [t, section(
    `${t} plugin`, [`${kind}.${t}`, kind], raw[kind][t], raw.types[kind][t])]));
  schema = {
    raw,
    sides: {
      server: section('frps config', ['server', ''], raw.server, raw.types.server),
      client: section('frpc config', ['client', ''], raw.client, raw.types.client),
    },
    proxies: perType('proxy', raw.proxyTypes),
    visitors: perType('visitor', raw.visitorTypes),
    proxyPlugins: perPlugin('proxyPlugin', raw.proxyPluginTypes),
    visitorPlugins: perPlugin('visitorPlugin', raw.visitorPluginTypes),
  };
  selfCheck(schema);
  return schema;
}

/**
 * Fails loudly if config-keys.json says something this checker would misread: every key
 * has a type, every `maps` entry is a map type, every `arrayOfTables` entry a table[] type.
 */
function selfCheck(s: Schema): void {
  const problems: string[] = [];
  const all: Array<[string, Section]> = [
    ['server', s.sides.server], ['client', s.sides.client],
    ...[...s.proxies].map(([t, sec]): [string, Section] => [`proxy.${t}`, sec]),
    ...[...s.visitors].map(([t, sec]): [string, Section] => [`visitor.${t}`, sec]),
    ...[...s.proxyPlugins].map(([t, sec]): [string, Section] => [`proxyPlugin.${t}`, sec]),
    ...[...s.visitorPlugins].map(([t, sec]): [string, Section] => [`visitorPlugin.${t}`, sec]),
  ];
  for (const [id, sec] of all) {
    for (const k of sec.keys) if (!sec.types[k]) problems.push(`${id}: key ${k} has no type`);
  }
  const { maps, arrayOfTables } = s.raw;
  const expectType = (sec: Section | undefined, key: string, re: RegExp, what: string) => {
    if (sec && !re.test(sec.types[key] ?? '')) problems.push(`${what} ${key} has type ${sec.types[key]}`);
  };
  for (const side of ['server', 'client'] as const) {
    for (const k of maps[side]) expectType(s.sides[side], k, /^map</, 'map');
    for (const [k, v] of Object.entries(arrayOfTables[side])) expectType(s.sides[side], k, v === 'self' ? /^table\[\]$/ : new RegExp(`^table\\[\\]<${v}>$`), 'arrayOfTables');
  }
  for (const kind of ['proxy', 'visitor'] as const) {
    const secs = kind === 'proxy' ? s.proxies : s.visitors;
    for (const [t, keys] of Object.entries(maps[kind])) {
      for (const k of keys) for (const [tt, sec] of secs) if (t === 'common' || t === tt) expectType(sec, k, /^map</, 'map');
    }
    for (const [t, entries] of Object.entries(arrayOfTables[kind])) {
      for (const k of Object.keys(entries)) for (const [tt, sec] of secs) if (t === 'common' || t === tt) expectType(sec, k, /^table\[\]$/, 'arrayOfTables');
    }
  }
  for (const [t, keys] of Object.entries(maps.proxyPlugin)) for (const k of keys) expectType(s.proxyPlugins.get(t), k, /^map</, 'map');
  if (problems.length) throw new Error(`config-keys.json does not have the expected shape:\n${problems.join('\n')}`);
}

// ---------------------------------------------------------------------------
// Templates (FACTS §2): the file is a Go text/template rendered before TOML parsing.
// ---------------------------------------------------------------------------

const ENV_REF = /^\{\{\s*\.Envs\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/;
// The library's forms for secrets, inside TOML strings (Go raw strings need no TOML
// escaping): a value written byte for byte by the template defined at the top of the
// file, and a group key as the hex of its bytes.
const SECRET_ENV_REF = new RegExp(`^\\{\\{\\s*(?:template\\s+\`${SECRET_STRING_TEMPLATE.replace(/\./g, '\\.')}\`|printf\\s+\`%x\`)\\s+\\.Envs\\.([A-Za-z_][A-Za-z0-9_]*)\\s*\\}\\}`);
// `{{ "{{" }}` in raw text, or the raw-string form {{`{{`}} the library emits:
// inside a TOML basic string the double quotes would be backslash-escaped and
// break the action, backquotes need no TOML escaping.
const ESCAPED_BRACES = /^\{\{\s*(?:"\{\{"|`\{\{`)\s*\}\}/;

interface TemplateScan {
  /** The text as frp would see it after rendering, with env references left in place. */
  readonly rendered: string;
  readonly envRefs: readonly string[];
  readonly errors: readonly string[];
}

function scanTemplates(text: string): TemplateScan {
  const errors: string[] = [];
  const envRefs: string[] = [];
  let rendered = '';
  let i = 0;
  for (let at = text.indexOf('{{'); at >= 0; at = text.indexOf('{{', i)) {
    rendered += text.slice(i, at);
    const rest = text.slice(at);
    const env = ENV_REF.exec(rest);
    const secret = SECRET_ENV_REF.exec(rest);
    const esc = ESCAPED_BRACES.exec(rest);
    if (rest.startsWith(SECRET_STRING_DEFINE)) {
      // the definition renders as nothing
      i = at + SECRET_STRING_DEFINE.length;
    } else if (secret) {
      // read as the string value `{{ .Envs.NAME }}`, like an env reference in quotes
      envRefs.push(secret[1]);
      rendered += `{{ .Envs.${secret[1]} }}`;
      i = at + secret[0].length;
    } else if (env) {
      envRefs.push(env[1]);
      rendered += env[0];
      i = at + env[0].length;
    } else if (esc) {
      rendered += '{{';
      i = at + esc[0].length;
    } else {
      const line = text.slice(0, at).split('\n').length;
      const snippet = rest.split('\n')[0].slice(0, 40);
      errors.push(`line ${line}, at \`${snippet}\`: frp renders the file as a Go template, so "{{" must start `
        + '{{ .Envs.NAME }}, a secret form of the library or be escaped as {{ "{{" }} or {{`{{`}}');
      rendered += '{{';
      i = at + 2;
    }
  }
  rendered += text.slice(i);
  return { rendered, envRefs, errors };
}

/** Names of the env vars an frp config reads through `{{ .Envs.NAME }}`, sorted and de-duplicated. */
export function frpTomlEnvRefs(text: string): string[] {
  return [...new Set(scanTemplates(text).envRefs)].sort();
}

/** True when a string value is exactly one `{{ .Envs.NAME }}` reference. */
export function isEnvTemplate(value: unknown): boolean {
  return typeof value === 'string' && new RegExp(`${ENV_REF.source}$`).test(value);
}

/**
 * Parses frp TOML the way frp does (escapes rendered, env references kept as text).
 * Integers come back as bigint, floats as number. Throws smol-toml's error on bad TOML.
 */
export function parseFrpToml(text: string): Record<string, unknown> {
  return parse(scanTemplates(text).rendered, { integersAsBigInt: true }) as Record<string, unknown>;
}

/**
 * Like parseFrpToml, with integers as numbers: what tests compare rendered configs
 * against. A secret (`{{ template `cdk8s-frp.string` .Envs.NAME }}`, or a group key's
 * `{{ printf `%x` .Envs.NAME }}`) reads as the string `{{ .Envs.NAME }}`.
 */
export function parseFrpTomlValues(text: string): any {
  const plain = (v: unknown): unknown => typeof v === 'bigint' ? Number(v)
    : Array.isArray(v) ? v.map(plain)
      : isPlainObject(v) ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
        : v;
  return plain(parseFrpToml(text));
}

// ---------------------------------------------------------------------------
// The checker
// ---------------------------------------------------------------------------

const BANDWIDTH = /^\d+(\.\d+)?(MB|KB)$/;

function tomlKind(v: unknown): string {
  if (typeof v === 'bigint') return `int ${v}`;
  if (typeof v === 'number') return `float ${v}`;
  if (typeof v === 'string') return `string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 37)}...` : v)}`;
  if (typeof v === 'boolean') return `bool ${v}`;
  if (v instanceof TomlDate || v instanceof Date) return 'datetime';
  if (Array.isArray(v)) return 'array';
  if (isPlainObject(v)) return 'table';
  return typeof v;
}

/** Looks up a dotted path inside parsed TOML. */
function get(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split('.')) {
    if (!isPlainObject(cur)) return undefined;
    cur = cur[part];
  }
  return cur;
}

const nonEmpty = (v: unknown): boolean => typeof v === 'string' && v !== '';
const asNumber = (v: unknown): number | undefined => (typeof v === 'bigint' ? Number(v) : typeof v === 'number' ? v : undefined);
const stringList = (v: unknown): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []);

class FrpChecker {
  readonly errors: string[] = [];
  constructor(private readonly s: Schema) {}

  fail(at: string, message: string): void {
    this.errors.push(`${at || '(top level)'}: ${message}`);
  }

  /** Checks every key of `table` (at key path `prefix` within `section`). */
  walkTable(table: Record<string, unknown>, section: Section, prefix: string, at: string): void {
    for (const [key, value] of Object.entries(table)) {
      const keyPath = prefix ? `${prefix}.${key}` : key;
      const where = joinPath(at, key);
      if (!section.keys.has(keyPath)) {
        this.fail(where, `unknown key "${keyPath}" for a ${section.title}${this.hint(section, keyPath)}`);
        continue;
      }
      this.checkValue(value, section.types[keyPath], section, keyPath, where);
    }
  }

  private hint(section: Section, keyPath: string): string {
    const lower = keyPath.toLowerCase();
    const same = [...section.keys].find((k) => k.toLowerCase() === lower);
    if (same) return ` (did you mean "${same}"? frp matches case-insensitively, but emit the canonical spelling)`;
    const inTypes = [...this.s.proxies].filter(([, sec]) => sec.keys.has(keyPath)).map(([t]) => t);
    if (section.title.endsWith(' proxy') && inTypes.length) return ` (only valid for ${inTypes.join(', ')} proxies)`;
    return '';
  }

  private checkValue(value: unknown, type: string, section: Section, keyPath: string, at: string): void {
    const wrong = (expected: string) => this.fail(at, `expected ${expected}, got ${tomlKind(value)}`);
    switch (type) {
      case 'string':
        if (typeof value !== 'string') return wrong('string');
        return this.checkEnum(value, section, keyPath, at);
      case 'int':
        if (typeof value !== 'bigint') return wrong('int');
        return this.checkPort(value, section, keyPath, at);
      case 'bool':
        return typeof value === 'boolean' ? undefined : wrong('bool');
      case 'string[]':
        if (!Array.isArray(value)) return wrong('array of strings');
        value.forEach((v, i) => {
          if (typeof v !== 'string') this.fail(joinPath(at, i), `expected string, got ${tomlKind(v)}`);
          else this.checkEnum(v, section, `${keyPath}[]`, joinPath(at, i));
        });
        return;
      case 'string(bandwidth)':
        if (typeof value !== 'string') return wrong('bandwidth string like "10MB"');
        if (!BANDWIDTH.test(value)) this.fail(at, `invalid bandwidth ${JSON.stringify(value)}: must be <number>MB or <number>KB (upper case; convert GB to MB)`);
        return;
      case 'table':
        if (!isPlainObject(value)) return wrong('table');
        return this.walkTable(value, section, keyPath, at);
      case 'table[]':
        if (!Array.isArray(value)) return wrong('array of tables');
        value.forEach((el, i) => {
          if (!isPlainObject(el)) this.fail(joinPath(at, i), `expected table, got ${tomlKind(el)}`);
          else this.walkTable(el, section, `${keyPath}[]`, joinPath(at, i));
        });
        return;
      case 'map<string,string>':
      case 'map<string,bool>': {
        if (!isPlainObject(value)) return wrong('table (free-form keys)');
        const valueType = type === 'map<string,string>' ? 'string' : 'boolean';
        const allowedKeys = this.enumFor(section, keyPath, ' keys');
        for (const [k, v] of Object.entries(value)) {
          if (typeof v !== valueType) this.fail(joinPath(at, k), `expected ${valueType === 'boolean' ? 'bool' : 'string'}, got ${tomlKind(v)}`);
          if (allowedKeys && !allowedKeys.includes(k)) this.fail(joinPath(at, k), `unknown key "${k}" (valid: ${allowedKeys.join(', ')})`);
        }
        return;
      }
      case 'table[]<proxy>':
      case 'table[]<visitor>':
        if (!Array.isArray(value)) return wrong('array of tables ([[proxies]] / [[visitors]])');
        value.forEach((el, i) => this.checkTyped(el, type === 'table[]<proxy>' ? 'proxy' : 'visitor', joinPath(at, i)));
        return;
      case 'table<proxyPlugin>':
      case 'table<visitorPlugin>':
        return this.checkPlugin(value, type === 'table<proxyPlugin>' ? 'proxyPlugin' : 'visitorPlugin', at);
      default:
        return this.fail(at, `checker bug: unhandled type "${type}" in config-keys.json`);
    }
  }

  /** A proxy or visitor: dispatched by its own `type`. */
  private checkTyped(el: unknown, kind: 'proxy' | 'visitor', at: string): void {
    if (!isPlainObject(el)) return this.fail(at, `expected table, got ${tomlKind(el)}`);
    const sections = kind === 'proxy' ? this.s.proxies : this.s.visitors;
    const sec = typeof el.type === 'string' ? sections.get(el.type) : undefined;
    if (!sec) {
      const valid = [...sections.keys()].join(', ');
      return this.fail(joinPath(at, 'type'), el.type === undefined
        ? `${kind} has no type (valid: ${valid})` : `unknown ${kind} type ${tomlKind(el.type)} (valid: ${valid})`);
    }
    this.walkTable(el, sec, '', at);
  }

  /** A plugin table: keys relative to `plugin.`, dispatched by `plugin.type`. */
  private checkPlugin(value: unknown, kind: 'proxyPlugin' | 'visitorPlugin', at: string): void {
    if (!isPlainObject(value)) return this.fail(at, `expected table, got ${tomlKind(value)}`);
    const sections = kind === 'proxyPlugin' ? this.s.proxyPlugins : this.s.visitorPlugins;
    const sec = typeof value.type === 'string' ? sections.get(value.type) : undefined;
    if (!sec) {
      return this.fail(joinPath(at, 'type'), `unknown plugin type ${value.type === undefined ? '(missing)' : tomlKind(value.type)} (valid: ${[...sections.keys()].join(', ')})`);
    }
    this.walkTable(value, sec, '', at);
  }

  private enumFor(section: Section, keyPath: string, suffix = ''): readonly string[] | undefined {
    const paths = [keyPath, ENUM_ALIASES[keyPath]].filter((p): p is string => !!p);
    for (const p of paths) {
      for (const scope of section.enumScopes) {
        const found = this.s.raw.enums[`${scope ? `${scope}.` : ''}${p}${suffix}`];
        if (found) return found;
      }
    }
    return undefined;
  }

  private checkEnum(value: string, section: Section, keyPath: string, at: string): void {
    const allowed = this.enumFor(section, keyPath);
    if (allowed && !allowed.includes(value)) {
      this.fail(at, `invalid value ${JSON.stringify(value)} (valid: ${allowed.map((a) => JSON.stringify(a)).join(', ')})`);
    }
  }

  /** Ports must fit in 0..65535 (FACTS §9); a visitor's bindPort may be negative (no listener). */
  private checkPort(value: bigint, section: Section, keyPath: string, at: string): void {
    const last = keyPath.slice(keyPath.lastIndexOf('.') + 1);
    const isPort = /Port$/.test(last) || last === 'port' || /^allowPorts\[\]\.(start|end|single)$/.test(keyPath);
    if (!isPort) return;
    const min = section.title.endsWith(' visitor') && keyPath === 'bindPort' ? -Infinity : 0;
    if (value < min || value > 65535n) this.fail(at, `port ${value} out of range 0..65535`);
  }
}

// ---------------------------------------------------------------------------
// Semantic rules
// ---------------------------------------------------------------------------

function checkAuth(doc: Record<string, unknown>, side: FrpSide, c: FrpChecker): void {
  if (get(doc, 'auth.token') !== undefined && get(doc, 'auth.tokenSource') !== undefined) {
    c.fail('auth', 'auth.token and auth.tokenSource are mutually exclusive (FACTS §5)');
  }
  for (const p of ['auth.tokenSource', 'auth.oidc.tokenSource']) {
    const src = get(doc, p);
    if (!isPlainObject(src)) continue;
    // Pointer tables are validated as soon as they exist, even when empty (FACTS §1.8).
    if (src.type === 'file' && !nonEmpty(get(src, 'file.path'))) c.fail(p, 'type "file" needs a non-empty file.path');
    else if (src.type === 'exec' && !nonEmpty(get(src, 'exec.command'))) c.fail(p, 'type "exec" needs a non-empty exec.command');
    else if (src.type === undefined) c.fail(p, 'a tokenSource table needs type = "file" or "exec" (do not emit it half-filled)');
  }
  if (side !== 'client') return;
  const oidc = get(doc, 'auth.oidc');
  if (!isPlainObject(oidc)) {
    if (get(doc, 'auth.method') === 'oidc') c.fail('auth.oidc', 'auth.method = "oidc" needs auth.oidc.clientID and tokenEndpointURL, or auth.oidc.tokenSource');
    return;
  }
  if (oidc.tokenSource !== undefined) {
    const others = Object.keys(oidc).filter((k) => k !== 'tokenSource');
    if (others.length) c.fail('auth.oidc', `auth.oidc.tokenSource excludes every other auth.oidc key (found ${others.join(', ')}) (FACTS §9)`);
  } else if (get(doc, 'auth.method') === 'oidc') {
    if (!nonEmpty(oidc.clientID)) c.fail('auth.oidc.clientID', 'required when auth.method = "oidc" without tokenSource');
    const url = oidc.tokenEndpointURL;
    if (!nonEmpty(url)) c.fail('auth.oidc.tokenEndpointURL', 'required when auth.method = "oidc" without tokenSource');
    else if (!/^https?:\/\/[^\s/]+/.test(url as string) && !isEnvTemplate(url)) c.fail('auth.oidc.tokenEndpointURL', 'must be an absolute http(s) URL');
    const params = isPlainObject(oidc.additionalEndpointParams) ? oidc.additionalEndpointParams : {};
    if ('scope' in params) c.fail('auth.oidc.additionalEndpointParams.scope', 'forbidden: use auth.oidc.scope');
    if ('audience' in params && oidc.audience !== undefined) c.fail('auth.oidc', 'audience and additionalEndpointParams.audience are mutually exclusive');
  }
}

function checkCommon(doc: Record<string, unknown>, side: FrpSide, c: FrpChecker): void {
  const tls = get(doc, 'webServer.tls');
  if (isPlainObject(tls) && (!nonEmpty(tls.certFile) || !nonEmpty(tls.keyFile))) {
    c.fail('webServer.tls', 'a webServer.tls table needs both certFile and keyFile (FACTS §1.8, §9)');
  }
  if (side === 'server') {
    if (doc.enablePrometheus === true && !((asNumber(get(doc, 'webServer.port')) ?? 0) > 0)) {
      c.fail('enablePrometheus', 'needs webServer.port > 0: metrics are served by the web server (FACTS §5)');
    }
    return;
  }
  if (get(doc, 'virtualNet.address') !== undefined && get(doc, 'featureGates.VirtualNet') !== true) {
    c.fail('virtualNet.address', 'requires featureGates = { VirtualNet = true } (FACTS §9)');
  }
  const hbInterval = asNumber(get(doc, 'transport.heartbeatInterval'));
  const hbTimeout = asNumber(get(doc, 'transport.heartbeatTimeout'));
  if (hbInterval !== undefined && hbTimeout !== undefined && hbInterval > 0 && hbTimeout > 0 && hbTimeout < hbInterval) {
    c.fail('transport.heartbeatTimeout', `must be >= transport.heartbeatInterval (${hbTimeout} < ${hbInterval})`);
  }
}

/** Plugins whose validator requires a key (FACTS §9). */
const PLUGIN_REQUIRED: Readonly<Record<string, string>> = {
  http2https: 'localAddr',
  https2http: 'localAddr',
  https2https: 'localAddr',
  tls2raw: 'localAddr',
  static_file: 'localPath',
  unix_domain_socket: 'unixPath',
};
const DOMAIN_TYPES = new Set(['http', 'https', 'tcpmux']);

function checkProxies(doc: Record<string, unknown>, s: Schema, c: FrpChecker): Set<string> {
  const names = new Map<string, number>();
  const proxies = Array.isArray(doc.proxies) ? doc.proxies : [];
  proxies.forEach((p, i) => {
    if (!isPlainObject(p)) return;
    const at = `proxies[${i}]`;
    const type = typeof p.type === 'string' ? p.type : '';
    const label = `${type || 'untyped'} proxy ${JSON.stringify(p.name ?? '')}`;
    if (!nonEmpty(p.name)) {
      c.fail(joinPath(at, 'name'), 'every proxy needs a non-empty name');
    } else if (names.has(p.name as string)) {
      c.fail(joinPath(at, 'name'), `duplicate proxy name "${p.name}" (also proxies[${names.get(p.name as string)}]); frps rejects the second (FACTS §3)`);
    } else {
      names.set(p.name as string, i);
    }

    const group = get(p, 'loadBalancer.group');
    const domains = stringList(p.customDomains).length + (nonEmpty(p.subdomain) ? 1 : 0);
    if (nonEmpty(group)) {
      if (!s.raw.loadBalancerGroupSupported.includes(type)) {
        c.fail(subPath(at, 'loadBalancer.group'), `${label}: frp ignores load-balancing groups on ${type || 'untyped'} proxies `
          + `(supported: ${s.raw.loadBalancerGroupSupported.join(', ')}) (FACTS §3)`);
      }
      // One group holds exactly one domain (and for http one location): server/group/{http,https,tcpmux}.go.
      if (DOMAIN_TYPES.has(type) && domains !== 1) {
        c.fail(at, `${label} in group "${group}" must resolve to exactly one domain (customDomains + subdomain = ${domains}); `
          + 'frps fails the extra registrations with "group params invalid" (FACTS §3)');
      }
      if (type === 'http' && stringList(p.locations).length > 1) {
        c.fail(joinPath(at, 'locations'), `${label} in group "${group}" may have at most one location (has ${stringList(p.locations).length}) (FACTS §3)`);
      }
    }
    if (DOMAIN_TYPES.has(type) && domains === 0) c.fail(at, `${label} needs customDomains or subdomain (FACTS §9)`);
    if (typeof p.subdomain === 'string' && /[.*]/.test(p.subdomain)) c.fail(joinPath(at, 'subdomain'), 'may not contain "." or "*" (FACTS §7)');
    if (type === 'tcpmux' && p.multiplexer === undefined) c.fail(joinPath(at, 'multiplexer'), 'tcpmux proxies need multiplexer = "httpconnect" (FACTS §9)');
    if (get(p, 'healthCheck.type') === 'http' && !nonEmpty(get(p, 'healthCheck.path'))) {
      c.fail(subPath(at, 'healthCheck.path'), 'required when healthCheck.type = "http" (FACTS §4)');
    }
    const plugin = p.plugin;
    if (isPlainObject(plugin) && typeof plugin.type === 'string') {
      const need = PLUGIN_REQUIRED[plugin.type];
      if (need && !nonEmpty(plugin[need])) c.fail(subPath(at, `plugin.${need}`), `required by the ${plugin.type} plugin (FACTS §9)`);
    }
    if (isPlainObject(p.annotations)) {
      for (const k of Object.keys(p.annotations)) {
        if (!isQualifiedName(k)) c.fail(joinPath(joinPath(at, 'annotations'), k), 'annotation keys must be Kubernetes qualified names (FACTS §9)');
      }
    }
  });
  return new Set(names.keys());
}

function checkVisitors(doc: Record<string, unknown>, c: FrpChecker): Set<string> {
  const names = new Map<string, number>();
  const visitors = Array.isArray(doc.visitors) ? doc.visitors : [];
  visitors.forEach((v, i) => {
    if (!isPlainObject(v)) return;
    const at = `visitors[${i}]`;
    if (!nonEmpty(v.name)) c.fail(joinPath(at, 'name'), 'every visitor needs a non-empty name');
    else if (names.has(v.name as string)) c.fail(joinPath(at, 'name'), `duplicate visitor name "${v.name}" (also visitors[${names.get(v.name as string)}])`);
    else names.set(v.name as string, i);
    if (!nonEmpty(v.serverName)) c.fail(joinPath(at, 'serverName'), 'required for visitors (FACTS §9)');
    if (!asNumber(v.bindPort)) c.fail(joinPath(at, 'bindPort'), 'a non-zero bindPort is required for visitors (FACTS §9)');
  });
  return new Set(names.keys());
}

/** Every string value anywhere containing `<no value>`: a missing env var (FACTS §2). */
function checkNoValue(value: unknown, at: string, c: FrpChecker): void {
  if (typeof value === 'string') {
    if (value.includes('<no value>')) c.fail(at, 'contains "<no value>": a template referenced a missing variable (FACTS §2)');
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => checkNoValue(v, joinPath(at, i), c));
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) checkNoValue(v, joinPath(at, k), c);
  }
}

/**
 * Checks frps.toml (`side = 'server'`) or frpc.toml (`'client'`) text strictly.
 * Returns problems as `json.path: message`; empty when the config is valid.
 */
export function checkFrpToml(text: string, side: FrpSide): string[] {
  const s = loadSchema();
  const c = new FrpChecker(s);
  const scan = scanTemplates(text);
  for (const e of scan.errors) c.fail('(template)', e);

  let doc: Record<string, unknown>;
  try {
    doc = parse(scan.rendered, { integersAsBigInt: true }) as Record<string, unknown>;
  } catch (e) {
    c.fail('(toml)', `TOML parse error: ${(e as Error).message.split('\n')[0]}`);
    if (scan.rendered.includes('<no value>')) c.fail('(template)', 'text contains "<no value>": a template referenced a missing variable (FACTS §2)');
    return c.errors;
  }

  const top = { ...doc };
  if ('common' in top) {
    c.fail('common', 'a [common] table makes frp load the file as legacy INI; v1 TOML has no [common] (FACTS §1)');
    delete top.common;
  }
  c.walkTable(top, s.sides[side], '', '');
  checkNoValue(doc, '', c);
  checkAuth(doc, side, c);
  checkCommon(doc, side, c);
  if (side === 'client') {
    const known = new Set([...checkProxies(doc, s, c), ...checkVisitors(doc, c)]);
    // With `includes`, proxies may live in other files: skip the cross-check then.
    if (doc.includes === undefined) {
      stringList(doc.start).forEach((name, i) => {
        if (!known.has(name)) c.fail(`start[${i}]`, `"${name}" is not a proxy or visitor in this file, and only listed ones start (FACTS §6)`);
      });
    }
  }
  return c.errors;
}
