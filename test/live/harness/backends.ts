/**
 * User backends for the live harness: small servers that say which instance answered and
 * which client address they saw (from the socket, or from a PROXY protocol v2 header when
 * one arrives). Clients with bounded timeouts. Everything on 127.0.0.0/8.
 */
import * as dgram from 'dgram';
import * as http from 'http';
import * as net from 'net';
import { Closeable } from './cluster';

/** What an HTTP backend answers (JSON). */
export interface HttpAnswer {
  readonly instance: string;
  readonly client: string;
  readonly path: string;
  readonly headers: Record<string, string | string[] | undefined>;
}

export interface HttpBackendOptions {
  /** The health path; null for none. @default '/health' */
  readonly healthPath?: string | null;
  /** Answer 200 on every path (a stand-in whose health path is unknown). @default false */
  readonly anyPathOk?: boolean;
}

/**
 * An HTTP backend. Its health path (`/health` unless given) answers 200 while `healthy`,
 * else 503; with `healthPath: null` it has none (`/health` is 404), unless `anyPathOk`.
 * `?delay=MS` holds the answer that long (slow LLM answers).
 */
export class HttpBackend implements Closeable {
  public static async start(instance: string, host: string, port: number, opts: HttpBackendOptions = {}): Promise<HttpBackend> {
    const b = new HttpBackend(instance, opts.healthPath === undefined ? '/health' : opts.healthPath, opts.anyPathOk ?? false);
    await new Promise<void>((resolve, reject) => {
      b.server.once('error', reject);
      b.server.listen(port, host, () => resolve());
    });
    return b;
  }

  public healthy = true;
  /** The next this many health checks fail (503), whatever `healthy` says. */
  public failNextChecks = 0;
  public hits = 0;
  /** Requests being answered right now. */
  public inflight = 0;
  public healthChecks = 0;
  private readonly sockets = new Set<net.Socket>();
  /** Answers being held (`?delay=`): cleared on close, so a test ends when it ends. */
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly server: http.Server;

  private constructor(public readonly instance: string, private readonly healthPath: string | null, private readonly anyPathOk: boolean) {
    this.server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      if (this.healthPath !== null && url.pathname === this.healthPath) {
        this.healthChecks++;
        const ok = this.healthy && this.failNextChecks === 0;
        if (this.failNextChecks > 0) this.failNextChecks--;
        res.writeHead(ok ? 200 : 503).end(ok ? 'ok' : 'unhealthy');
        return;
      }
      if (this.healthPath === null && url.pathname === '/health' && !this.anyPathOk) {
        res.writeHead(404).end('no such path');
        return;
      }
      this.hits++;
      this.inflight++;
      res.on('close', () => { this.inflight--; });
      const delay = Math.min(Number(url.searchParams.get('delay') ?? 0), 120_000);
      const body: HttpAnswer = { instance, client: (req.socket.remoteAddress ?? '').replace(/^::ffff:/, ''), path: url.pathname, headers: req.headers };
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      }, delay);
      this.timers.add(timer);
    });
    this.server.on('connection', (s) => { this.sockets.add(s); s.on('close', () => this.sockets.delete(s)); });
  }

  public close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Parses a PROXY v2 header at the start of `buf`: the source address, and the header's length. */
export function parseProxyV2(buf: Buffer): { source: string; length: number } | undefined {
  const sig = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  if (buf.length < 16 || !buf.subarray(0, 12).equals(sig)) return undefined;
  const len = buf.readUInt16BE(14);
  const fam = Math.floor(buf[13] / 16); // high nibble: address family
  const source = fam === 1 ? [...buf.subarray(16, 20)].join('.') : 'unknown';
  return { source, length: 16 + len };
}

/**
 * A TCP backend: on each line it receives it answers `<instance> <client>\n`, where the
 * client is the PROXY v2 source when the connection starts with one, else the peer.
 */
export class TcpBackend implements Closeable {
  public static async start(instance: string, host: string, port: number): Promise<TcpBackend> {
    const b = new TcpBackend(instance);
    await new Promise<void>((resolve, reject) => {
      b.server.once('error', reject);
      b.server.listen(port, host, () => resolve());
    });
    return b;
  }

  public connections = 0;
  private readonly sockets = new Set<net.Socket>();
  private readonly server: net.Server;

  private constructor(public readonly instance: string) {
    this.server = net.createServer((s) => {
      this.connections++;
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
      s.on('error', () => s.destroy());
      let client = (s.remoteAddress ?? '').replace(/^::ffff:/, '');
      let buf = Buffer.alloc(0);
      let first = true;
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        if (first) {
          if (buf.length < 16 && buf[0] === 0x0d) return; // wait for the whole PROXY header
          first = false;
          const h = parseProxyV2(buf);
          if (h) { client = h.source; buf = buf.subarray(h.length); }
        }
        let nl: number;
        while ((nl = buf.indexOf(0x0a)) >= 0) {
          buf = buf.subarray(nl + 1);
          s.write(`${instance} ${client}\n`);
        }
      });
    });
  }

  public close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A UDP backend answering `<instance> <client>` to every datagram. */
export class UdpBackend implements Closeable {
  public static async start(instance: string, host: string, port: number): Promise<UdpBackend> {
    const b = new UdpBackend(instance);
    await new Promise<void>((resolve, reject) => {
      b.socket.once('error', reject);
      b.socket.bind(port, host, () => resolve());
    });
    return b;
  }

  private readonly socket = dgram.createSocket('udp4');

  private constructor(public readonly instance: string) {
    this.socket.on('message', (_m, r) => this.socket.send(`${instance} ${r.address}`, r.port, r.address));
  }

  public close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}

// ---------------------------------------------------------------------- clients

export interface HttpResult {
  readonly status: number;
  readonly body: string;
  readonly headers: http.IncomingHttpHeaders;
  /** The backend's JSON answer, when it is one. */
  readonly answer?: HttpAnswer;
}

export interface HttpRequestOptions {
  readonly host: string;
  readonly port: number;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly localAddress?: string;
  readonly method?: string;
  readonly timeoutMs?: number;
  /** The agent whose connections to reuse (keep-alive). @default - a new connection per request */
  readonly agent?: http.Agent;
}

/** One HTTP request with a deadline; a network error is status 0. */
export function httpRequest(o: HttpRequestOptions): Promise<HttpResult> {
  return new Promise((resolve) => {
    const req = http.request({
      host: o.host,
      port: o.port,
      path: o.path ?? '/',
      method: o.method ?? 'GET',
      headers: o.headers,
      localAddress: o.localAddress,
      agent: o.agent ?? false,
      timeout: o.timeoutMs ?? 10_000,
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => {
        let answer: HttpAnswer | undefined;
        try { answer = JSON.parse(body); } catch { answer = undefined; }
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers, answer: answer?.instance ? answer : undefined });
      });
      res.on('error', () => resolve({ status: 0, body, headers: {} }));
    });
    req.on('timeout', () => { req.destroy(); resolve({ status: 0, body: 'client timeout', headers: {} }); });
    req.on('error', (e) => resolve({ status: 0, body: String(e), headers: {} }));
    req.end();
  });
}

/** Sends one line over a new TCP connection and returns the backend's answer line. */
export function tcpAsk(o: { host: string; port: number; localAddress?: string; timeoutMs?: number }): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host: o.host, port: o.port, localAddress: o.localAddress });
    let got = '';
    const t = setTimeout(() => { s.destroy(); resolve(got ? got : 'timeout'); }, o.timeoutMs ?? 5_000);
    s.on('connect', () => s.write('hello\n'));
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('\n')) { clearTimeout(t); s.destroy(); resolve(got.trim()); }
    });
    s.on('error', (e) => { clearTimeout(t); resolve(`error ${e.message}`); });
    s.on('close', () => { clearTimeout(t); resolve(got ? got.trim() : 'closed'); });
  });
}

/** Sends one datagram and returns the answer (or 'timeout'). */
export function udpAsk(o: { host: string; port: number; localAddress?: string; timeoutMs?: number }): Promise<string> {
  return new Promise((resolve) => {
    const s = dgram.createSocket('udp4');
    const t = setTimeout(() => { s.close(); resolve('timeout'); }, o.timeoutMs ?? 2_000);
    s.on('message', (m) => { clearTimeout(t); s.close(); resolve(m.toString()); });
    s.bind({ address: o.localAddress ?? '127.0.0.1', port: 0 }, () => s.send('ping', o.port, o.host));
  });
}

/** Counts answers per instance. */
export function tally(instances: string[]): Record<string, number> {
  const t: Record<string, number> = {};
  for (const i of instances) t[i] = (t[i] ?? 0) + 1;
  return t;
}
