/**
 * Migration: existing frpc configs (TOML v1, YAML/JSON v1, or legacy INI) in,
 * DistributedService manifests out. Proxies sharing a load-balancing group
 * become one service with one endpoint per member; domains, locations and
 * remote ports become `expose`; health checks, bandwidth and the connection
 * settings map where the spec has a field. Everything else is reported, one
 * line per key or proxy, never dropped silently.
 */
import { basename, extname } from 'path';
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { parse as parseToml } from 'smol-toml';
import { parseDocument } from 'yaml';
import { convertLegacyIni, isLegacyIni } from './legacy-ini';
import { FrpAuth } from '../frp-auth';
import { documentValue } from '../k8s/yaml-input';
import { FrpServer } from '../server/frp-server';
import { DISTRIBUTED_SERVICE_API_VERSION, DistributedService } from '../service/distributed-service';

/** One frpc config to import. @internal */
export interface ImportSource {
  /** File name (for messages and the imported-from annotation). */
  readonly path: string;
  /** File content. */
  readonly text: string;
}

/** Options of an import. @internal */
export interface ImportOptions {
  /** metadata.namespace of every manifest. */
  readonly namespace?: string;
  /** Values for `{{ .Envs.NAME }}` templates (frp fills them from its environment). */
  readonly env?: { [name: string]: string | undefined };
}

/** The import's result. @internal */
export interface ImportResult {
  /** DistributedService manifests, in the order their first proxy appears. */
  readonly manifests: any[];
  /** What could not be mapped (or needs attention): `file: where: key: message`. */
  readonly reports: string[];
}

/** Annotation naming the file and proxies a manifest came from. */
export const IMPORTED_FROM_ANNOTATION = 'frp.io/imported-from';

/** A proxy route: what frps listens for. */
type Expose =
  | { type: 'port'; port: number }
  | { type: 'domain'; domain: string }
  | { type: 'subdomain'; subdomain: string }
  | { type: 'path'; domain?: string; subdomain?: string; path: string };

interface Draft {
  name: string;
  /** Group identity (`<type>/<group>`) or undefined for a lone proxy. */
  groupKey?: string;
  serviceType: 'http' | 'tcp' | 'udp';
  expose: Expose;
  endpoints: { host: string; port: number; weight?: number; metadata?: { [k: string]: string } }[];
  /** Spec parts other than backends and expose, as JSON (members must agree). */
  settings: Record<string, unknown>;
  settingsJson: string;
  from: { file: string; proxies: string[] };
}

const SKIPPED_TYPES: Record<string, string> = {
  https: 'type https (TLS passed through by SNI) has no DistributedService serviceType (http, tcp, udp, grpc)',
  tcpmux: 'type tcpmux (HTTP CONNECT multiplexing) has no DistributedService serviceType',
  stcp: 'type stcp (secret tcp for visitors) has no DistributedService serviceType',
  xtcp: 'type xtcp (peer-to-peer) has no DistributedService serviceType',
  sudp: 'type sudp (secret udp for visitors) has no DistributedService serviceType',
};

/** Proxy keys the importer maps (everything else is reported). */
const MAPPED_PROXY_KEYS = new Set([
  'name', 'type', 'localIP', 'localPort', 'remotePort', 'customDomains', 'subdomain', 'locations',
  'loadBalancer.group', 'healthCheck.type', 'healthCheck.path', 'healthCheck.intervalSeconds',
  'healthCheck.timeoutSeconds', 'healthCheck.maxFailed', 'transport.bandwidthLimit', 'transport.bandwidthLimitMode',
]);

/** Top-level keys the importer maps (everything else is reported). */
const MAPPED_COMMON_KEYS = new Set([
  'transport.poolCount', 'transport.dialServerTimeout', 'transport.dialServerKeepalive',
  'transport.tls.enable', 'transport.tls.certFile', 'transport.tls.keyFile',
]);

/** Keys whose `false` is frp's default: nothing to map, nothing to report. */
const DEFAULT_FALSE_KEYS = new Set([
  'transport.useEncryption', 'transport.useCompression', 'webServer.pprofEnable', 'log.disablePrintColor',
]);

/** Why top-level keys are not carried over, by first path segment. */
const COMMON_REASONS: Record<string, string> = {
  serverAddr: 'the bundle\'s frpc dials the bundle\'s frps',
  serverPort: 'the bundle\'s frpc dials the bundle\'s frps',
  auth: 'frpc-frps authentication comes from the bundle\'s token Secret (or OIDC), not from the file',
  user: 'the bundle sets user to the pod name (one group member per pod)',
  clientID: 'the bundle leaves clientID empty (several frpc pods)',
  loginFailExit: 'the bundle always sets loginFailExit = false',
  log: 'the bundle logs to the console',
  webServer: 'the bundle runs the admin API on 127.0.0.1 for probes and reload',
  metadatas: 'client metadatas have no spec field (proxy metadatas map to endpoint metadata)',
  visitors: 'visitors have no DistributedService counterpart',
  includes: 'included files are not read: import them too (give them as further FILEs)',
};

/**
 * Imports frpc configs. Throws (with every message) when a file cannot be read
 * as an frpc config at all; per-key and per-proxy problems are reports.
 * @internal
 */
export function importFrpcConfigs(sources: ImportSource[], options: ImportOptions = {}): ImportResult {
  const reports: string[] = [];
  const errors: string[] = [];
  const drafts: Draft[] = [];
  const byGroup = new Map<string, Draft>();
  // a template whose variable is not set stands as a placeholder until we know whether its field is mapped
  const unset = new Map<string, { path: string; name: string }>();
  for (const src of sources) {
    let config: Record<string, any>;
    const report = (where: string, message: string) => reports.push(`${src.path}: ${where}: ${message}`);
    const names: string[] = [];
    const placeholder = (name: string) => {
      const p = `cdk8sfrpunsetenv${unset.size}x`;
      unset.set(p, { path: src.path, name });
      if (!names.includes(name)) names.push(name);
      return p;
    };
    try {
      config = loadConfig(src, options, report, placeholder);
    } catch (e) {
      // a template in a place only a value can stand (a bare number): the file cannot be read without it
      errors.push(`${src.path}: ${names.length > 0 ? `${notSet(names)}; without them the file is not an frpc config: ${(e as Error).message}` : (e as Error).message}`);
      continue;
    }
    const common = commonSettings(config, report);
    const proxies: any[] = Array.isArray(config.proxies) ? config.proxies : [];
    proxies.forEach((p, i) => {
      const where = `proxies[${i}] ${JSON.stringify(p?.name ?? '')}`;
      const r = (m: string) => report(where, m);
      for (const d of proxyDrafts(p, common, basename(src.path), r)) {
        if (d.groupKey && byGroup.has(d.groupKey)) {
          const g = byGroup.get(d.groupKey)!;
          if (JSON.stringify(g.expose) !== JSON.stringify(d.expose)) {
            r(`not mapped: member of group ${d.groupKey.split('/')[1]} with another route (${describe(d.expose)}) than its first member (${describe(g.expose)}); frps would refuse it`);
            continue;
          }
          if (g.settingsJson !== d.settingsJson) r(`settings differ from the group's first member (${g.from.proxies[0]}); the service takes the first member's: ${g.settingsJson}`);
          for (const e of d.endpoints) addEndpoint(g, e);
          g.from.proxies.push(...d.from.proxies);
          continue;
        }
        drafts.push(d);
        if (d.groupKey) byGroup.set(d.groupKey, d);
      }
    });
  }
  // only what is mapped needs a value: a template in a dropped field (the token, a group key) does not
  if (unset.size > 0) {
    const mapped = JSON.stringify(drafts);
    const needed = new Map<string, Set<string>>();
    for (const [placeholder, { path, name }] of unset) {
      if (!mapped.includes(placeholder)) continue;
      if (!needed.has(path)) needed.set(path, new Set());
      needed.get(path)!.add(name);
    }
    for (const [path, names] of needed) errors.push(`${path}: ${notSet([...names])}`);
    const restore = (s: string) => s.replace(PLACEHOLDER, m => `{{ .Envs.${unset.get(m)?.name ?? m} }}`);
    reports.splice(0, reports.length, ...reports.map(restore));
  }
  if (errors.length > 0) throw new Error(errors.join('\n'));

  const used = new Set<string>();
  const manifests: any[] = [];
  for (const d of drafts) {
    let name = d.name;
    for (let n = 2; used.has(name); n++) name = `${d.name.slice(0, 50)}-${n}`;
    used.add(name);
    const manifest = {
      apiVersion: DISTRIBUTED_SERVICE_API_VERSION,
      kind: 'DistributedService',
      metadata: {
        name,
        ...(options.namespace ? { namespace: options.namespace } : {}),
        annotations: { [IMPORTED_FROM_ANNOTATION]: d.from.proxies.join(', ') },
      },
      spec: {
        serviceType: d.serviceType,
        backends: { endpoints: d.endpoints },
        expose: d.expose,
        ...d.settings,
      },
    };
    const problem = renderProblem(manifest);
    if (problem) {
      reports.push(`${d.from.proxies.join(', ')}: not mapped: the service it would become is invalid: ${problem}`);
      continue;
    }
    manifests.push(manifest);
  }
  return { manifests, reports };
}

/** Parses one file into the v1 shape (legacy INI converted, templates filled). */
function loadConfig(src: ImportSource, options: ImportOptions, report: (where: string, m: string) => void,
  placeholder: (name: string) => string): Record<string, any> {
  let text = src.text;
  if (text.includes('{{')) text = fillTemplates(text, options.env ?? {}, placeholder);
  if (isLegacyIni(text)) {
    const { config, unconverted } = convertLegacyIni(text);
    for (const u of unconverted) report(`[${u.owner}] ${u.key} (line ${u.line})`, 'not mapped: no counterpart in the DistributedService spec');
    return config;
  }
  const ext = extname(src.path).toLowerCase();
  let value: unknown;
  try {
    value = ext === '.yaml' || ext === '.yml' || ext === '.json' ? yamlValue(text) : parseToml(text);
  } catch (e) {
    throw new Error(`not a frpc config (${ext === '.yaml' || ext === '.yml' || ext === '.json' ? 'YAML/JSON' : 'TOML'}): ${(e as Error).message.split('\n')[0]}`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not a frpc config: the top level must be a table');
  const config = value as Record<string, any>;
  if (config.proxies !== undefined && !Array.isArray(config.proxies)) throw new Error('proxies must be a list ([[proxies]])');
  return config;
}

/** What a placeholder of an unset variable looks like (letters and digits: it passes as a name, host or domain). */
const PLACEHOLDER = /cdk8sfrpunsetenv\d+x/g;

/** The message for variables a mapped field needs. */
const notSet = (names: string[]) => `the config uses environment variables that are not set: ${[...names].sort().join(', ')} (frp fills {{ .Envs.NAME }} from its environment; set them when importing)`;

/**
 * Fills `{{ .Envs.NAME }}` as frp does; any other template action is an error.
 * A variable that is not set becomes a placeholder (`placeholder(name)`): the
 * caller asks for it only if its field is mapped.
 */
function fillTemplates(text: string, env: { [name: string]: string | undefined }, placeholder: (name: string) => string): string {
  const out = text.replace(/\{\{-?\s*(?:\.Envs\.([A-Za-z_][A-Za-z0-9_]*)|index \.Envs "([^"]+)")\s*-?\}\}/g, (_m, a, b) => {
    const name = a ?? b;
    const v = env[name];
    return v !== undefined ? v : placeholder(name);
  });
  if (out.includes('{{')) throw new Error('the config uses Go template actions other than {{ .Envs.NAME }}: render it with frp first');
  return out;
}

/** A YAML/JSON config's value (limits and circular aliases as for manifests). */
function yamlValue(text: string): unknown {
  const { value, error } = documentValue(parseDocument(text, { merge: true, logLevel: 'error', uniqueKeys: true }));
  if (error) throw new Error(error.replace(/^invalid YAML: /, ''));
  return value;
}

/** The spec parts that come from the file's top level (same for all its proxies). */
function commonSettings(config: Record<string, any>, report: (where: string, m: string) => void): Record<string, any> {
  for (const [path, value] of flatten(config)) {
    const head = path.split('.')[0];
    if (head === 'proxies' || MAPPED_COMMON_KEYS.has(path) || (value === false && DEFAULT_FALSE_KEYS.has(path))) continue;
    if (head === 'visitors') {
      (value as any[]).forEach((v, i) => report(`visitors[${i}] ${JSON.stringify(v?.name ?? '')}`, `not mapped: ${COMMON_REASONS.visitors}`));
      continue;
    }
    report(path, `not mapped: ${COMMON_REASONS[head] ?? 'no counterpart in the DistributedService spec'}`);
  }
  const t = config.transport ?? {};
  const advanced: Record<string, any> = {};
  if (typeof t.poolCount === 'number') {
    if (t.poolCount <= 0) advanced.connectionPool = { enabled: false };
    else if (t.poolCount <= 100) advanced.connectionPool = { size: t.poolCount };
    else report('transport.poolCount', `not mapped: ${t.poolCount} is above the spec's 100`);
  }
  const timeout: Record<string, string> = {};
  if (typeof t.dialServerTimeout === 'number' && t.dialServerTimeout > 0) timeout.dial = `${t.dialServerTimeout}s`;
  if (typeof t.dialServerKeepalive === 'number') {
    if (t.dialServerKeepalive > 0) timeout.keepAlive = `${t.dialServerKeepalive}s`;
    else report('transport.dialServerKeepalive', 'not mapped: keepalive off has no spec value (the spec default is 30s)');
  }
  if (Object.keys(timeout).length > 0) advanced.timeout = timeout;
  const settings: Record<string, any> = {};
  if (Object.keys(advanced).length > 0) settings.advanced = advanced;
  const tls = t.tls ?? {};
  if (tls.enable === false) report('transport.tls.enable', 'not mapped: the bundle always uses TLS between frpc and frps');
  if (tls.certFile || tls.keyFile) {
    settings.security = { mtls: { enabled: true } };
    report('transport.tls.certFile', 'mapped to security.mtls.enabled (mode auto): the bundle issues new certificates from a cert-manager CA; the files themselves are not carried over (use mode manual with Secrets to keep them)');
  }
  return settings;
}

/** The services one proxy becomes (one per route), or none with a report. */
function proxyDrafts(p: any, common: Record<string, any>, file: string, report: (m: string) => void): Draft[] {
  if (p === null || typeof p !== 'object') {
    report('not mapped: not a table');
    return [];
  }
  const name = String(p.name ?? '');
  const type = String(p.type ?? '');
  if (p.enabled === false) {
    report('not mapped: the proxy is disabled (enabled = false)');
    return [];
  }
  if (SKIPPED_TYPES[type]) {
    report(`not mapped: ${SKIPPED_TYPES[type]}`);
    return [];
  }
  if (!['tcp', 'udp', 'http'].includes(type)) {
    report(`not mapped: unknown proxy type ${JSON.stringify(type)}`);
    return [];
  }
  if (p.plugin !== undefined) {
    report(`not mapped: plugin ${JSON.stringify(p.plugin?.type)} runs inside frpc; a DistributedService forwards to backends`);
    return [];
  }
  if (typeof p.localPort !== 'number' || p.localPort < 1 || p.localPort > 65535) {
    report(`not mapped: localPort must be 1-65535, got ${JSON.stringify(p.localPort)}`);
    return [];
  }
  for (const [path, value] of flatten(p)) {
    if (MAPPED_PROXY_KEYS.has(path) || path.startsWith('metadatas.') || path === 'enabled') continue;
    if (value === false && DEFAULT_FALSE_KEYS.has(path)) continue;
    if (path === 'loadBalancer.groupKey') {
      report('loadBalancer.groupKey: not mapped: no secret values in manifests; give the group key as a Secret (groupKeySecret) when rendering');
      continue;
    }
    report(`${path}: not mapped: no counterpart in the DistributedService spec`);
  }

  // ---- routes
  const routes: Expose[] = [];
  if (type === 'tcp' || type === 'udp') {
    if (typeof p.remotePort !== 'number' || p.remotePort < 1 || p.remotePort > 65535) {
      report(`not mapped: remotePort ${JSON.stringify(p.remotePort ?? 0)} lets frps pick a random port; expose.port needs a fixed one`);
      return [];
    }
    routes.push({ type: 'port', port: p.remotePort });
  } else {
    const locations: (string | undefined)[] = Array.isArray(p.locations) && p.locations.length > 0
      ? p.locations.map((l: string) => (l === '' || l === '/' ? undefined : l)) : [undefined];
    const hosts: ({ domain: string } | { subdomain: string })[] = [
      ...(Array.isArray(p.customDomains) ? p.customDomains.map((d: string) => ({ domain: String(d) })) : []),
      ...(typeof p.subdomain === 'string' && p.subdomain ? [{ subdomain: p.subdomain }] : []),
    ];
    if (hosts.length === 0) {
      report('not mapped: an http proxy needs customDomains or subdomain');
      return [];
    }
    for (const h of hosts) {
      for (const path of [...new Set(locations)]) {
        if (path === undefined) routes.push('domain' in h ? { type: 'domain', domain: h.domain } : { type: 'subdomain', subdomain: h.subdomain });
        else routes.push({ type: 'path', ...h, path });
      }
    }
    if (routes.length > 1) report(`one route per DistributedService: its ${routes.length} routes (domains × locations) become ${routes.length} services`);
  }

  // ---- group
  let groupKey: string | undefined;
  const group = p.loadBalancer?.group;
  if (typeof group === 'string' && group !== '') {
    if (type === 'udp') report('loadBalancer.group: not mapped: frp ignores groups on udp proxies');
    else if (routes.length > 1) report('loadBalancer.group: frps refuses an http group member with several routes; the routes become separate services without the group');
    else groupKey = `${type}/${group}`;
  }

  // ---- settings
  const settings: Record<string, any> = {};
  const hc = p.healthCheck ?? {};
  if (hc.type === 'tcp' || hc.type === 'http') {
    if (type === 'udp') {
      report('healthCheck: not mapped: frp does not check udp backends');
      settings.loadBalancing = { healthCheck: { enabled: false } };
    } else {
      settings.loadBalancing = {
        healthCheck: {
          type: hc.type,
          ...(hc.type === 'http' ? { path: typeof hc.path === 'string' && hc.path.startsWith('/') ? hc.path : `/${hc.path ?? ''}` } : {}),
          interval: `${hc.intervalSeconds ?? 10}s`,
          timeout: `${hc.timeoutSeconds ?? 3}s`,
          failureThreshold: hc.maxFailed ?? 1,
        },
      };
    }
  } else {
    // frp checks nothing without healthCheck.type; the spec checks by default
    settings.loadBalancing = { healthCheck: { enabled: false } };
  }
  const bw = p.transport?.bandwidthLimit;
  if (typeof bw === 'string' && bw !== '') {
    const limit = specBandwidth(bw);
    if (limit === undefined) {report(`transport.bandwidthLimit: not mapped: ${JSON.stringify(bw)} is not a whole number of MB or KB`);} else {
      const mode = p.transport?.bandwidthLimitMode;
      settings.advanced = { bandwidth: { limit, ...(mode === 'server' || mode === 'client' ? { mode } : {}) } };
    }
  }
  if (common.advanced) settings.advanced = { ...common.advanced, ...settings.advanced };
  if (common.security) settings.security = common.security;

  const host = typeof p.localIP === 'string' && p.localIP !== '' ? p.localIP : '127.0.0.1';
  if (/^(127\.|localhost$|::1$)/.test(host)) {
    report(`localIP ${host}: the backend was on the frpc machine itself; in the cluster frpc runs in a pod of its own: change the endpoint to the backend's address (or keep frpc on that machine: cdk8s-frp client-bundle)`);
  }
  const metadata = p.metadatas && typeof p.metadatas === 'object' ? Object.fromEntries(Object.entries(p.metadatas).map(([k, v]) => [k, String(v)])) : undefined;
  const endpoint = { host, port: p.localPort as number, ...(metadata ? { metadata } : {}) };
  const base = dnsName(groupKey ? group : name);
  return routes.map((expose, i) => ({
    name: i === 0 ? base : `${base.slice(0, 50)}-${i + 1}`,
    groupKey,
    serviceType: type as 'http' | 'tcp' | 'udp',
    expose,
    endpoints: [endpoint],
    settings,
    settingsJson: JSON.stringify(settings),
    from: { file, proxies: [`${file}:${name}`] },
  }));
}

/** One more member: the same host and port again raises its weight. */
function addEndpoint(d: Draft, e: Draft['endpoints'][number]): void {
  const same = d.endpoints.find(x => x.host === e.host && x.port === e.port && JSON.stringify(x.metadata) === JSON.stringify(e.metadata));
  if (same) same.weight = (same.weight ?? 1) + 1;
  else d.endpoints.push(e);
}

/** frp's `<number>MB|KB` as the spec's `<integer>(MB|KB)`, or undefined. */
function specBandwidth(v: string): string | undefined {
  const m = /^([0-9]+(?:\.[0-9]+)?)(MB|KB)$/.exec(v.trim());
  if (!m) return undefined;
  const n = Number(m[1]);
  if (Number.isInteger(n)) return `${n}${m[2]}`;
  const kb = m[2] === 'MB' ? n * 1024 : n;
  return Number.isInteger(kb) ? `${kb}KB` : undefined;
}

/** A name as a DNS-1035 label short enough for the library's suffixes. */
function dnsName(s: string): string {
  let n = s.toLowerCase().replace(/[^a-z0-9-]+/g, '-').replace(/-+/g, '-').replace(/^[^a-z]+/, '').slice(0, 54).replace(/-+$/, '');
  if (n === '') n = 'proxy';
  return n;
}

function describe(e: Expose): string {
  switch (e.type) {
    case 'port': return `port ${e.port}`;
    case 'domain': return e.domain;
    case 'subdomain': return `subdomain ${e.subdomain}`;
    default: return `${e.domain ?? `subdomain ${e.subdomain}`}${e.path}`;
  }
}

/** Leaf paths of a tree (arrays are leaves). */
function flatten(o: Record<string, any>, prefix = ''): [string, unknown][] {
  const out: [string, unknown][] = [];
  for (const [k, v] of Object.entries(o)) {
    const path = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)) out.push(...flatten(v, path));
    else out.push([path, v]);
  }
  return out;
}

/** Renders the manifest alone; returns the error message, if any. */
function renderProblem(manifest: any): string | undefined {
  try {
    const app = new App();
    const chart = new Chart(app, 'import-check', { namespace: manifest.metadata.namespace });
    const auth = FrpAuth.token(kplus.Secret.fromSecretName(chart, 'token', 'frp-token'));
    // an mTLS service brings its own frps (the CA); the others share one
    const mtls = manifest.spec.security?.mtls?.enabled === true;
    const server = mtls ? undefined : new FrpServer(chart, 'frps', { auth, subDomainHost: 'example.invalid' });
    DistributedService.fromManifest(chart, manifest.metadata.name, manifest, server ? { server } : { auth, subDomainHost: 'example.invalid' });
    app.synthYaml();
    return undefined;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}
