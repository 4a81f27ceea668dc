/**
 * HARNESS-REWRITE: pod-local and wildcard listen addresses in a rendered config become
 * `ip`: the pod's own address in the live harness (every pod there shares one network
 * namespace), a test's own address elsewhere (test/helpers/loopback.ts), so that no
 * program listens on a port of every address. Nothing else in the config changes.
 */
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml';

const local = (v: unknown) => v === '0.0.0.0' || v === '::' || v === '127.0.0.1' || v === 'localhost' || v === '';

/**
 * frps' bindAddr and proxyBindAddr, the webServer address, and a proxy's localIP; undefined
 * when `text` is no frp config (or no TOML: frp itself will say what is wrong).
 */
export function frpListenOn(text: string, ip: string): string | undefined {
  if (!/^\s*(bindPort|serverAddr|\[\[proxies\]\])/m.test(text)) return undefined;
  let cfg: any;
  // secrets are template actions inside TOML strings, filled by frp at start; the
  // comment line defining the library's secret template is kept (parsing drops comments)
  const define = text.split('\n').find((l) => l.startsWith('#') && l.includes('{{ define '));
  try { cfg = parseToml(text); } catch { return undefined; }
  if (cfg.bindPort !== undefined) { // frps
    if (cfg.bindAddr === undefined || local(cfg.bindAddr)) cfg.bindAddr = ip;
    if (cfg.proxyBindAddr !== undefined && local(cfg.proxyBindAddr)) cfg.proxyBindAddr = ip;
  }
  if (cfg.webServer?.port !== undefined && (cfg.webServer.addr === undefined || local(cfg.webServer.addr))) cfg.webServer.addr = ip;
  for (const p of cfg.proxies ?? []) if (p.localIP !== undefined && local(p.localIP)) p.localIP = ip;
  for (const p of cfg.proxies ?? []) if (p.localIP === undefined && p.plugin === undefined) p.localIP = ip;
  return `${define ? `${define}\n` : ''}${stringifyToml(cfg)}`;
}

/** HAProxy: `bind` addresses, and `server` lines at the pod's own 127.0.0.1 or localhost. */
export function haproxyListenOn(text: string, ip: string): string {
  return text
    .replace(/^(\s*bind\s+)(?:\*|0\.0\.0\.0|::|127\.0\.0\.1)?:(\d+)/gm, `$1${ip}:$2`)
    .replace(/^(\s*server\s+\S+\s+)(?:127\.0\.0\.1|localhost):(\d+)/gm, `$1${ip}:$2`);
}

/** nginx: `listen` addresses (none, a wildcard or 127.0.0.1). */
export function nginxListenOn(text: string, ip: string): string {
  return text.replace(/^(\s*listen\s+)(?:(?:0\.0\.0\.0|127\.0\.0\.1|\*):)?(\d+)(?=[\s;])/gm, `$1${ip}:$2`);
}
