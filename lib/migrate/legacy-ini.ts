/**
 * frp's legacy INI client format (deprecated, `conf/legacy/frpc_legacy_full.ini`),
 * converted to the shape of a TOML v1 frpc config the way frp itself converts it
 * (`pkg/config/legacy/conversion.go`), for the keys the importer can use.
 * Keys it does not convert are returned by their INI name, so that the importer
 * reports them instead of dropping them.
 */

/** One `key = value` with its line, for messages. @internal */
export interface IniEntry {
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

/** One `[section]`. @internal */
export interface IniSection {
  readonly name: string;
  readonly line: number;
  readonly entries: IniEntry[];
}

/**
 * Parses INI as frp loads it (go-ini with IgnoreInlineComment and
 * AllowBooleanKeys): `#` and `;` start comment lines only, keys are
 * case-sensitive, `key = value` or `key: value`, a bare key is `true`.
 * @internal
 */
export function parseIni(text: string): IniSection[] {
  const sections: IniSection[] = [{ name: 'DEFAULT', line: 0, entries: [] }];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[(.*)\]$/.exec(line);
    if (header) {
      sections.push({ name: header[1].trim(), line: i + 1, entries: [] });
      return;
    }
    const m = /^([^=:]+?)\s*[=:]\s*(.*)$/.exec(line);
    const entries = sections[sections.length - 1].entries;
    if (m) entries.push({ key: m[1], value: unquote(m[2]), line: i + 1 });
    else entries.push({ key: line, value: 'true', line: i + 1 });
  });
  return sections;
}

function unquote(v: string): string {
  const m = /^"(.*)"$/.exec(v) ?? /^'(.*)'$/.exec(v) ?? /^`(.*)`$/.exec(v);
  return m ? m[1] : v;
}

/** Whether a text is legacy INI the way frp decides it: it parses as INI and has `[common]`. @internal */
export function isLegacyIni(text: string): boolean {
  return /^\s*\[common\]\s*$/m.test(text);
}

/** A legacy INI file in v1 shape, plus what was not converted. @internal */
export interface ConvertedIni {
  /** The config in TOML v1 shape (camelCase keys, `proxies`, `visitors`). */
  readonly config: Record<string, any>;
  /** Keys not converted: `[section] key` with the v1 owner to report them under. */
  readonly unconverted: { readonly owner: string; readonly key: string; readonly line: number }[];
}

/** [common] keys whose `false` is frp's default (nothing to report). */
const DEFAULT_FALSE = new Set(['disable_log_color', 'authenticate_heartbeats', 'authenticate_new_work_conns', 'pprof_enable']);

const COMMON_KEYS: Record<string, (out: Record<string, any>, v: string) => void> = {
  server_addr: (o, v) => { o.serverAddr = v; },
  server_port: (o, v) => { o.serverPort = int(v); },
  user: (o, v) => { o.user = v; },
  token: (o, v) => { set(o, 'auth.token', v); },
  authentication_method: (o, v) => { if (v) set(o, 'auth.method', v); },
  pool_count: (o, v) => { set(o, 'transport.poolCount', int(v)); },
  dial_server_timeout: (o, v) => { set(o, 'transport.dialServerTimeout', int(v)); },
  dial_server_keepalive: (o, v) => { set(o, 'transport.dialServerKeepalive', int(v)); },
  protocol: (o, v) => { set(o, 'transport.protocol', v); },
  tls_enable: (o, v) => { set(o, 'transport.tls.enable', bool(v)); },
  tls_cert_file: (o, v) => { if (v) set(o, 'transport.tls.certFile', v); },
  tls_key_file: (o, v) => { if (v) set(o, 'transport.tls.keyFile', v); },
  tls_trusted_ca_file: (o, v) => { if (v) set(o, 'transport.tls.trustedCaFile', v); },
  tls_server_name: (o, v) => { if (v) set(o, 'transport.tls.serverName', v); },
  log_file: (o, v) => { set(o, 'log.to', v); },
  log_level: (o, v) => { set(o, 'log.level', v); },
  log_max_days: (o, v) => { set(o, 'log.maxDays', int(v)); },
  admin_addr: (o, v) => { set(o, 'webServer.addr', v); },
  admin_port: (o, v) => { set(o, 'webServer.port', int(v)); },
  login_fail_exit: (o, v) => { o.loginFailExit = bool(v); },
};

const PROXY_KEYS: Record<string, (out: Record<string, any>, v: string) => void> = {
  type: (o, v) => { o.type = v || 'tcp'; },
  local_ip: (o, v) => { o.localIP = v; },
  local_port: (o, v) => { o.localPort = int(v); },
  remote_port: (o, v) => { o.remotePort = int(v); },
  custom_domains: (o, v) => { o.customDomains = list(v); },
  subdomain: (o, v) => { o.subdomain = v; },
  locations: (o, v) => { o.locations = list(v); },
  http_user: (o, v) => { o.httpUser = v; },
  http_pwd: (o, v) => { o.httpPassword = v; },
  host_header_rewrite: (o, v) => { o.hostHeaderRewrite = v; },
  route_by_http_user: (o, v) => { o.routeByHTTPUser = v; },
  group: (o, v) => { set(o, 'loadBalancer.group', v); },
  group_key: (o, v) => { set(o, 'loadBalancer.groupKey', v); },
  use_encryption: (o, v) => { set(o, 'transport.useEncryption', bool(v)); },
  use_compression: (o, v) => { set(o, 'transport.useCompression', bool(v)); },
  bandwidth_limit: (o, v) => { set(o, 'transport.bandwidthLimit', v); },
  bandwidth_limit_mode: (o, v) => { set(o, 'transport.bandwidthLimitMode', v); },
  proxy_protocol_version: (o, v) => { set(o, 'transport.proxyProtocolVersion', v); },
  health_check_type: (o, v) => { set(o, 'healthCheck.type', v); },
  health_check_timeout_s: (o, v) => { set(o, 'healthCheck.timeoutSeconds', int(v)); },
  health_check_max_failed: (o, v) => { set(o, 'healthCheck.maxFailed', int(v)); },
  health_check_interval_s: (o, v) => { set(o, 'healthCheck.intervalSeconds', int(v)); },
  health_check_url: (o, v) => { set(o, 'healthCheck.path', v); },
  plugin: (o, v) => { set(o, 'plugin.type', v); },
  sk: (o, v) => { o.secretKey = v; },
  allow_users: (o, v) => { o.allowUsers = list(v); },
  multiplexer: (o, v) => { o.multiplexer = v; },
};

/**
 * Converts a legacy INI frpc config to the TOML v1 shape. `range:` sections
 * are expanded as frp expands them (`<prefix>_<i>` per port pair); sections
 * with `role = visitor` become `visitors`.
 * @internal
 */
export function convertLegacyIni(text: string): ConvertedIni {
  const sections = parseIni(text);
  const config: Record<string, any> = { proxies: [] as any[], visitors: [] as any[] };
  const unconverted: { owner: string; key: string; line: number }[] = [];
  for (const s of sections) {
    if (s.name === 'DEFAULT') {
      for (const e of s.entries) unconverted.push({ owner: 'file', key: e.key, line: e.line });
      continue;
    }
    if (s.name === 'common') {
      for (const e of s.entries) {
        if (e.key.startsWith('meta_')) set(config, `metadatas.${e.key.slice(5)}`, e.value);
        else if (COMMON_KEYS[e.key]) COMMON_KEYS[e.key](config, e.value);
        else if (e.value !== '' && !(DEFAULT_FALSE.has(e.key) && e.value.trim() === 'false')) unconverted.push({ owner: 'common', key: e.key, line: e.line });
      }
      continue;
    }
    const get = (k: string) => s.entries.find(e => e.key === k)?.value;
    if (get('role') === 'visitor') {
      config.visitors.push({ name: s.name, type: get('type') ?? 'stcp', line: s.line });
      continue;
    }
    const ranges = s.name.startsWith('range:') ? expandRange(s) : [{ name: s.name, localPort: undefined, remotePort: undefined }];
    if (ranges.length === 0) {
      unconverted.push({ owner: s.name, key: 'local_port/remote_port (ranges of different lengths)', line: s.line });
      continue;
    }
    for (const r of ranges) {
      const proxy: Record<string, any> = { name: r.name, type: 'tcp' };
      for (const e of s.entries) {
        if (e.key === 'role') continue;
        if (r.localPort !== undefined && (e.key === 'local_port' || e.key === 'remote_port')) continue;
        if (e.key.startsWith('meta_')) set(proxy, `metadatas.${e.key.slice(5)}`, e.value);
        else if (e.key.startsWith('header_')) set(proxy, `requestHeaders.set.${e.key.slice(7)}`, e.value);
        else if (e.key.startsWith('plugin_')) set(proxy, `plugin.${e.key.slice(7)}`, e.value);
        else if (PROXY_KEYS[e.key]) PROXY_KEYS[e.key](proxy, e.value);
        else if (r === ranges[0]) unconverted.push({ owner: s.name, key: e.key, line: e.line });
      }
      if (r.localPort !== undefined) {
        proxy.localPort = r.localPort;
        proxy.remotePort = r.remotePort;
      }
      config.proxies.push(proxy);
    }
  }
  return { config, unconverted };
}

/** `[range:prefix]` → `prefix_0`, `prefix_1`, ... with paired ports; [] if the lists differ in length. */
function expandRange(s: IniSection): { name: string; localPort?: number; remotePort?: number }[] {
  const prefix = s.name.slice('range:'.length).trim();
  const local = portList(s.entries.find(e => e.key === 'local_port')?.value ?? '');
  const remote = portList(s.entries.find(e => e.key === 'remote_port')?.value ?? '');
  if (local.length === 0 || local.length !== remote.length) return [];
  return local.map((p, i) => ({ name: `${prefix}_${i}`, localPort: p, remotePort: remote[i] }));
}

function portList(v: string): number[] {
  const out: number[] = [];
  for (const part of v.split(',').map(x => x.trim()).filter(x => x)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return [];
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let p = a; p <= b; p++) out.push(p);
  }
  return out;
}

function set(o: Record<string, any>, path: string, v: unknown): void {
  const keys = path.split('.');
  let cur = o;
  for (const k of keys.slice(0, -1)) cur = cur[k] ??= {};
  cur[keys[keys.length - 1]] = v;
}

function int(v: string): number | string {
  return /^-?\d+$/.test(v.trim()) ? Number(v.trim()) : v;
}

function bool(v: string): boolean | string {
  const t = v.trim().toLowerCase();
  return t === 'true' ? true : t === 'false' ? false : v;
}

function list(v: string): string[] {
  return v.split(',').map(x => x.trim()).filter(x => x !== '');
}
