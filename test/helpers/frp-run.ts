/**
 * Runs the real frps/frpc v0.70.1 on a test's own loopback address for targeted tests of one defect
 * (the whole-bundle harness is test/live). Every process is bounded: the caller
 * stops it in `finally`, and each wait has a deadline.
 */
import { spawn } from 'child_process';
import * as http from 'http';
import { frpBinary, FrpProgram } from './frp-verify';
import { RunningProcess, sleep, TempDir } from '../balancer/haproxy-harness';

/** Starts frps or frpc on a config file; `env` is the pod's environment. */
export function startFrp(program: FrpProgram, configFile: string, env: Record<string, string> = {}): RunningProcess {
  const child = spawn(frpBinary(program), ['-c', configFile], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  return new RunningProcess(program, child);
}

/** GET on `host` with optional basic auth; resolves status and body. */
export function httpGet(port: number, path: string, auth?: string, host = '127.0.0.1', timeoutMs = 2_000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host, port, path, auth, timeout: timeoutMs }, res => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on('error', reject);
  });
}

/**
 * Polls until `check` returns true (or throws the last reason after `timeoutMs`);
 * `describe` says what was awaited and shows the processes' output.
 */
export async function waitUntil(check: () => Promise<boolean>, describe: () => string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (e) {
      last = (e as Error).message;
    }
    await sleep(100);
  }
  throw new Error(`timed out: ${describe()}${last ? ` (last error: ${last})` : ''}`);
}

/** Names of the proxies frps has online, per type (frps dashboard API). */
export async function onlineProxies(port: number, type: string, auth?: string, host = '127.0.0.1'): Promise<string[]> {
  const r = await httpGet(port, `/api/proxy/${type}`, auth, host);
  if (r.status !== 200) throw new Error(`frps /api/proxy/${type}: ${r.status} ${r.body}`);
  const proxies = (JSON.parse(r.body).proxies ?? []) as { name: string; status: string }[];
  return proxies.filter(p => p.status === 'online').map(p => p.name).sort();
}

/** A temp dir plus the processes started in it; `stop()` ends them all and removes it. */
export class FrpRun {
  public readonly tmp = new TempDir('frp-run-');
  public readonly processes: RunningProcess[] = [];

  public write(name: string, content: string): string {
    return this.tmp.write(name, content);
  }

  public start(program: FrpProgram, config: string, env: Record<string, string> = {}): RunningProcess {
    const p = startFrp(program, this.write(`${program}-${this.processes.length}.toml`, config), env);
    this.processes.push(p);
    return p;
  }

  /** Everything each process printed, for failure messages. */
  public logs(): string {
    return this.processes.map((p, i) => `--- ${p.name}[${i}]\n${p.output()}`).join('\n');
  }

  public async stop(): Promise<void> {
    await Promise.all(this.processes.map(p => p.stop()));
    this.tmp.remove();
  }
}
