/**
 * The load generator: Debian's `wrk` (scripts/install-tools.sh), driven with a small Lua
 * script that spreads its threads over several addresses (the replicas of a path) and
 * prints its own summary as one machine-readable line.
 */
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';

/** What one wrk run measured. */
export interface WrkResult {
  readonly requests: number;
  readonly seconds: number;
  readonly bytes: number;
  /** Connect, read, write and timeout errors. */
  readonly socketErrors: number;
  /** Answers other than 2xx/3xx. */
  readonly statusErrors: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
}

export interface WrkOptions {
  /** host:port pairs; wrk's threads are spread over them round robin. */
  readonly addresses: readonly { host: string; port: number }[];
  readonly path: string;
  readonly connections: number;
  readonly seconds: number;
  /** The Host header (frp's http vhost routes on it). @default - the first address */
  readonly host?: string;
  /** A new connection per request (`Connection: close`). */
  readonly close?: boolean;
}

const LUA = `-- written by bench/dataplane (wrk's own Lua API: setup, done)
local addrs = {}
for host, port in string.gmatch(os.getenv("BENCH_ADDRS") or "", "([^,:]+):(%d+)") do
  table.insert(addrs, wrk.lookup(host, port)[1])
end
local n = 0
function setup(thread)
  if #addrs > 0 then
    thread.addr = addrs[n % #addrs + 1]
    n = n + 1
  end
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("BENCH %d %d %d %d %d %d %d\\n", summary.requests, summary.duration, summary.bytes,
    e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50), latency:percentile(99)))
end
`;

export class Wrk {
  private readonly script: string;

  constructor(dir: string) {
    this.script = path.join(dir, 'bench.lua');
    fs.writeFileSync(this.script, LUA);
  }

  /** One bounded run (wrk's own duration, and a kill after twice that). */
  public run(o: WrkOptions): Promise<WrkResult> {
    const first = o.addresses[0];
    const threads = Math.min(o.connections, Math.max(2, o.addresses.length));
    const args = [
      '-t', String(threads), '-c', String(o.connections), '-d', `${o.seconds}s`, '--timeout', '5s',
      '-s', this.script,
      ...(o.host ? ['-H', `Host: ${o.host}`] : []),
      ...(o.close ? ['-H', 'Connection: close'] : []),
      `http://${first.host}:${first.port}${o.path}`,
    ];
    return new Promise((resolve, reject) => {
      execFile('wrk', args, {
        env: { ...process.env, BENCH_ADDRS: o.addresses.map((a) => `${a.host}:${a.port}`).join(',') },
        timeout: (o.seconds * 2 + 10) * 1000,
        killSignal: 'SIGKILL',
      }, (err, stdout, stderr) => {
        const line = /^BENCH (.*)$/m.exec(stdout);
        if (err || !line) {
          reject(new Error(`wrk ${args.join(' ')} failed: ${err?.message ?? ''}\n${stdout}\n${stderr}`));
          return;
        }
        const [requests, micros, bytes, socketErrors, statusErrors, p50, p99] = line[1].split(' ').map(Number);
        resolve({ requests, seconds: micros / 1e6, bytes, socketErrors, statusErrors, p50Ms: p50 / 1000, p99Ms: p99 / 1000 });
      });
    });
  }
}
