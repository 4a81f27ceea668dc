/**
 * What the benchmark runs outside any bundle: the nginx backends (Debian's nginx, one
 * process serving every backend address) and frp as frp's own README configures it.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { frpBinDir } from '../../test/helpers/frp-verify';
import { tcpOk, waitFor } from '../../test/live/harness/cluster';

/** A process group the benchmark started; stop() ends it, and so does the benchmark's exit. */
export class Proc {
  public static start(argv: string[], log: string): Proc {
    const out = fs.openSync(log, 'a');
    const child = spawn(argv[0], argv.slice(1), { stdio: ['ignore', out, out], detached: true });
    fs.closeSync(out);
    return new Proc(child);
  }

  private static readonly all = new Set<Proc>();

  static {
    process.once('exit', () => { for (const p of Proc.all) p.kill('SIGKILL'); });
  }

  private exited = false;

  private constructor(public readonly child: ChildProcess) {
    Proc.all.add(this);
    child.once('exit', () => { this.exited = true; Proc.all.delete(this); });
  }

  public get pid(): number { return this.child.pid!; }

  public async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.kill('SIGTERM');
    const t = setTimeout(() => this.kill('SIGKILL'), 3000);
    await gone;
    clearTimeout(t);
  }

  private kill(signal: NodeJS.Signals): void {
    try { process.kill(-this.child.pid!, signal); } catch { /* gone */ }
  }
}

/** The small answer and the bulk file every backend serves. */
export const SMALL_PATH = '/';
export const BULK_PATH = '/bulk.bin';
export const BULK_BYTES = 16 * 1024 * 1024;
export const BACKEND_PORT = 8080;

/**
 * nginx serving `/` (a 64-byte page), `/health` and a 16 MiB file on each address, port
 * 8080; no access log, keep-alive without a request limit, so that it is not the bottleneck.
 */
export function startNginx(dir: string, addresses: string[]): Proc {
  const www = path.join(dir, 'www');
  fs.mkdirSync(www, { recursive: true, mode: 0o755 });
  fs.writeFileSync(path.join(www, 'index.html'), `${'x'.repeat(63)}\n`);
  fs.writeFileSync(path.join(www, 'health'), 'ok\n');
  // not compressible, not all zeros (nothing compresses here, but a reader may wonder)
  const bulk = Buffer.alloc(BULK_BYTES);
  for (let i = 0; i < bulk.length; i += 4) bulk.writeUInt32LE((i * 2654435761) % 4294967296, i);
  fs.writeFileSync(path.join(www, BULK_PATH.slice(1)), bulk);
  fs.chmodSync(dir, 0o755);
  const conf = path.join(dir, 'nginx.conf');
  fs.writeFileSync(conf, `daemon off;
master_process on;
worker_processes 2;
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
events { worker_connections 8192; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 120s;
  default_type application/octet-stream;
  client_body_temp_path ${dir}/tmp-body;
  proxy_temp_path ${dir}/tmp-proxy;
  fastcgi_temp_path ${dir}/tmp-fastcgi;
  uwsgi_temp_path ${dir}/tmp-uwsgi;
  scgi_temp_path ${dir}/tmp-scgi;
  server {
${addresses.map((a) => `    listen ${a}:${BACKEND_PORT} reuseport;`).join('\n')}
    root ${www};
    index index.html;
  }
}
`);
  return Proc.start(['nginx', '-c', conf, '-e', `${dir}/nginx-error.log`], path.join(dir, 'nginx.log'));
}

/** The frp proxies of the README-style set-up: a tcp proxy of 1, 3 or 10 members, or an http vhost proxy. */
export interface PlainProxy {
  readonly name: string;
  readonly type: 'tcp' | 'http';
  readonly backends: string[];
  readonly remotePort?: number;
  readonly domain?: string;
}

/**
 * frps and frpc configured as frp's README does (its "Access your computer in a LAN
 * network via SSH", "Token Authentication", "Load balancing" and http examples): only
 * the addresses, the token and the proxies are set, every other setting is frp's default
 * (TLS on with frp's own certificate, tcp mux on, no connection pool).
 */
/**
 * One of the bundle's settings added to frp's defaults, to tell what each costs: lines for
 * the top of frps.toml and frpc.toml, and for every proxy (`{server}`: the frps address).
 */
export interface PlainSetting {
  readonly frps?: string[];
  readonly frpc?: string[];
  readonly proxy?: string[];
}

export async function startPlainFrp(
  dir: string, server: string, token: string, proxies: PlainProxy[], setting: PlainSetting = {},
): Promise<{ frps: Proc; frpc: Proc; vhostPort: number }> {
  const vhostPort = 8080;
  dir = path.join(dir, `frp-${server}`);
  fs.mkdirSync(dir, { recursive: true });
  const frps = path.join(dir, 'frps.toml');
  const at = (lines: string[] = []) => lines.map((l) => l.replace('{server}', server));
  fs.writeFileSync(frps, [`bindAddr = "${server}"`, 'bindPort = 7000', `vhostHTTPPort = ${vhostPort}`, `auth.token = "${token}"`, ...at(setting.frps), ''].join('\n'));
  const lines = [`serverAddr = "${server}"`, 'serverPort = 7000', `auth.token = "${token}"`, ...setting.frpc ?? [], ''];
  for (const p of proxies) {
    p.backends.forEach((b, i) => {
      lines.push('[[proxies]]', `name = "${p.backends.length > 1 ? `${p.name}-${i}` : p.name}"`, `type = "${p.type}"`, `localIP = "${b}"`, `localPort = ${BACKEND_PORT}`);
      if (p.type === 'tcp') lines.push(`remotePort = ${p.remotePort}`);
      else lines.push(`customDomains = ["${p.domain}"]`);
      if (p.backends.length > 1) lines.push(`loadBalancer.group = "${p.name}"`, `loadBalancer.groupKey = "${token}"`);
      lines.push(...setting.proxy ?? []);
      lines.push('');
    });
  }
  const frpc = path.join(dir, 'frpc.toml');
  fs.writeFileSync(frpc, lines.join('\n'));
  const bin = frpBinDir();
  const server_ = Proc.start([path.join(bin, 'frps'), '-c', frps], path.join(dir, 'frps.log'));
  // frpc's default loginFailExit: it gives up if frps is not listening yet
  await waitFor('frps (frp defaults) listening', () => tcpOk(server, 7000, 1000), 20_000);
  return { frps: server_, frpc: Proc.start([path.join(bin, 'frpc'), '-c', frpc], path.join(dir, 'frpc.log')), vhostPort };
}
