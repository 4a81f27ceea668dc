// Small Node backends and clients for the functional tests: everything on 127/8 (the
// programs under test on the test's own address, test/helpers/loopback.ts), backends on
// ephemeral ports, and a timeout on every wait.
import { createSign, KeyObject } from 'crypto';
import * as dgram from 'dgram';
import * as http from 'http';
import * as net from 'net';

/** What a test backend answers (JSON). */
export interface BackendReply {
  readonly backend: string;
  readonly path: string;
  readonly method: string;
  readonly xff?: string;
  readonly authorization?: string;
}

/** A Node HTTP backend that names itself in every reply. */
export class HttpBackend {
  public static async start(name: string, host = '127.0.0.1', port = 0): Promise<HttpBackend> {
    const b = new HttpBackend(name);
    await new Promise<void>((resolve, reject) => {
      b.server.once('error', reject);
      b.server.listen(port, host, () => resolve());
    });
    b.port = (b.server.address() as net.AddressInfo).port;
    return b;
  }

  public port = 0;
  /** Requests served, health checks excluded. */
  public hits = 0;
  /** Health checks received. */
  public healthChecks = 0;
  /** Health checks received while unhealthy. */
  public failedHealthChecks = 0;
  /** What `/health` answers: 200 when true, 500 when false. */
  public healthy = true;
  /** Requests currently held open on `/slow`. */
  public held = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly server: http.Server;

  private constructor(public readonly name: string) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.keepAliveTimeout = 1_000;
  }

  /** Answers every request held on `/slow`. */
  public releaseSlow(): void {
    this.waiting.splice(0).forEach(f => f());
  }

  public async close(): Promise<void> {
    this.releaseSlow();
    this.server.closeAllConnections();
    await new Promise(resolve => this.server.close(resolve));
  }

  private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = req.url ?? '/';
    if (url === '/health') {
      this.healthChecks++;
      if (!this.healthy) this.failedHealthChecks++;
      res.writeHead(this.healthy ? 200 : 500, { 'content-type': 'text/plain' });
      res.end(this.healthy ? 'ok' : 'failing');
      return;
    }
    this.hits++;
    const reply: BackendReply = {
      backend: this.name,
      path: url,
      method: req.method ?? '',
      xff: req.headers['x-forwarded-for'] as string | undefined,
      authorization: req.headers.authorization,
    };
    const send = () => {
      const body = JSON.stringify(reply);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (url === '/slow') {
      this.held++;
      this.waiting.push(() => {
        this.held--;
        send();
      });
      return;
    }
    send();
  }
}

/** A response as the tests look at it. */
export interface Reply {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** The backend that answered, when the body is a backend reply. */
  readonly backend?: string;
  readonly json?: BackendReply;
}

export interface RequestOptions {
  readonly port: number;
  /** The address to connect to. @default 127.0.0.1 */
  readonly host?: string;
  readonly path?: string;
  readonly method?: string;
  readonly headers?: http.OutgoingHttpHeaders;
  /** Source address of the client, e.g. 127.0.0.2 (any 127/8 address works on Linux). */
  readonly localAddress?: string;
  readonly timeoutMs?: number;
}

/** One HTTP request on a fresh connection, to 127.0.0.1 (or `host`). */
export function request(o: RequestOptions): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: o.host ?? '127.0.0.1',
      port: o.port,
      path: o.path ?? '/',
      method: o.method ?? 'GET',
      headers: o.headers,
      localAddress: o.localAddress,
      agent: false,
    }, res => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', c => (body += c));
      res.on('end', () => {
        let json: BackendReply | undefined;
        try {
          json = JSON.parse(body) as BackendReply;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json, backend: json?.backend });
      });
    });
    req.setTimeout(o.timeoutMs ?? 3_000, () => req.destroy(new Error(`request to :${o.port}${o.path ?? '/'} timed out`)));
    req.once('error', reject);
    req.end();
  });
}

/** Counts how many of `replies` each backend answered. */
export function tally(replies: Reply[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of replies) {
    const k = r.backend ?? `status ${r.status}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** Runs `n` requests one after the other. */
export async function sequential(n: number, o: RequestOptions): Promise<Reply[]> {
  const out: Reply[] = [];
  for (let i = 0; i < n; i++) out.push(await request(o));
  return out;
}

/** A compact JWS (RS256/384/512) signed with `key`. */
export function signJwt(key: KeyObject, payload: object, header: object = { alg: 'RS256', typ: 'JWT' }): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const input = `${b64(header)}.${b64(payload)}`;
  const signer = createSign('SHA256');
  signer.update(input);
  return `${input}.${signer.sign(key).toString('base64url')}`;
}

/**
 * A PROXY protocol v2 header: PROXY command, TCP over IPv4, with the given addresses.
 * @see https://www.haproxy.org/download/2.6/doc/proxy-protocol.txt
 */
export function proxyV2Header(src: string, srcPort: number, dst: string, dstPort: number): Buffer {
  const signature = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
  const head = Buffer.from([0x21, 0x11, 0x00, 12]); // v2 PROXY, AF_INET + STREAM, 12 bytes
  const addr = (ip: string) => Buffer.from(ip.split('.').map(Number));
  const ports = Buffer.alloc(4);
  ports.writeUInt16BE(srcPort, 0);
  ports.writeUInt16BE(dstPort, 2);
  return Buffer.concat([signature, head, addr(src), addr(dst), ports]);
}

/** Sends raw bytes on a new TCP connection to `host` and collects everything until the peer closes. */
export function rawExchange(port: number, data: Buffer, host = '127.0.0.1', timeoutMs = 3_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port }, () => socket.write(data));
    let out = '';
    socket.setEncoding('utf8');
    socket.on('data', c => (out += c));
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('raw exchange timed out')));
    socket.once('error', reject);
    socket.once('close', () => resolve(out));
  });
}

/** A UDP echo server that prefixes replies with its name. */
export class UdpEcho {
  public static async start(name: string): Promise<UdpEcho> {
    const e = new UdpEcho(name);
    await new Promise<void>((resolve, reject) => {
      e.socket.once('error', reject);
      e.socket.bind(0, '127.0.0.1', () => resolve());
    });
    e.port = e.socket.address().port;
    return e;
  }

  public port = 0;
  public received = 0;
  private readonly socket = dgram.createSocket('udp4');

  private constructor(public readonly name: string) {
    this.socket.on('message', (msg, rinfo) => {
      this.received++;
      this.socket.send(`${this.name}:${msg.toString()}`, rinfo.port, rinfo.address);
    });
  }

  public close(): Promise<void> {
    return new Promise(resolve => this.socket.close(() => resolve()));
  }
}

/** Sends one datagram from a fresh socket to `host` and waits for one reply. */
export function udpExchange(port: number, message: string, timeoutMs = 2_000, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      reject(new Error(`no udp reply from ${host}:${port} within ${timeoutMs}ms`));
    }, timeoutMs);
    socket.once('message', msg => {
      clearTimeout(timer);
      socket.close();
      resolve(msg.toString());
    });
    socket.once('error', e => {
      clearTimeout(timer);
      socket.close();
      reject(e);
    });
    socket.send(message, port, host);
  });
}

/** A DNS response to `query` with one A record per address (and none for other types). */
export function dnsAnswer(query: Buffer, addresses: string[]): Buffer {
  let end = 12;
  while (query[end] !== 0) end += query[end] + 1;
  end += 5; // zero label + qtype + qclass
  const qtype = query.readUInt16BE(end - 4);
  const answers = qtype === 1 ? addresses : [];
  const header = Buffer.alloc(12);
  query.copy(header, 0, 0, 2); // id
  header.writeUInt16BE(0x8180, 2); // response, recursion desired + available, NOERROR
  header.writeUInt16BE(1, 4);
  header.writeUInt16BE(answers.length, 6);
  const records = answers.map(ip => {
    const rr = Buffer.alloc(16);
    rr.writeUInt16BE(0xc00c, 0); // pointer to the question name
    rr.writeUInt16BE(1, 2); // A
    rr.writeUInt16BE(1, 4); // IN
    rr.writeUInt32BE(5, 6); // ttl
    rr.writeUInt16BE(4, 10);
    ip.split('.').forEach((o, i) => rr.writeUInt8(Number(o), 12 + i));
    return rr;
  });
  return Buffer.concat([header, query.subarray(12, end), ...records]);
}
