import { ChildProcess, spawn } from 'child_process';
import { join } from 'path';
import { startCluster } from './cluster';

const BIN = join(__dirname, '..', '..', 'bin', 'cdk8s-frp');

/** One `cdk8s-frp operator` child process against the test cluster, with its JSON log lines. */
export class OperatorProcess {
  readonly lines: any[] = [];
  private readonly child: ChildProcess;
  private exited?: Promise<number | null>;
  private buffer = '';

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [BIN, 'operator', '--kubeconfig', startCluster(), '--metrics-address', '127.0.0.1:0', '--health-address', '127.0.0.1:0', ...args], {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    });
    this.exited = new Promise(resolve => this.child.once('exit', code => resolve(code)));
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => {
      this.buffer += chunk;
      const parts = this.buffer.split('\n');
      this.buffer = parts.pop()!;
      for (const line of parts) {
        try {
          this.lines.push(JSON.parse(line));
        } catch {
          this.lines.push({ msg: 'non-json', line });
        }
      }
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /** Log lines from `from` on with message `msg` (and matching `where`). */
  logged(msg: string, where: (l: any) => boolean = () => true, from = 0): any[] {
    return this.lines.slice(from).filter(l => l.msg === msg && where(l));
  }

  /** Waits (bounded) until a line `msg` matching `where` is logged after `from`; returns it. */
  async waitFor(msg: string, where: (l: any) => boolean = () => true, from = 0, timeoutMs = 120_000): Promise<any> {
    for (const start = Date.now(); Date.now() - start < timeoutMs;) {
      const hit = this.logged(msg, where, from)[0];
      if (hit) return hit;
      if (this.child.exitCode !== null) throw new Error(`operator exited ${this.child.exitCode} before "${msg}":\n${this.tail()}`);
      await new Promise(r => setTimeout(r, 100));
    }
    throw new Error(`no "${msg}" within ${timeoutMs} ms:\n${this.tail()}`);
  }

  /** The address a server (metrics or health) listens on. */
  async address(what: 'metrics' | 'health'): Promise<string> {
    return (await this.waitFor(`${what} listening`)).address;
  }

  tail(n = 30): string {
    return this.lines.slice(-n).map(l => JSON.stringify(l)).join('\n');
  }

  /** SIGTERM (a graceful stop) or SIGKILL; resolves with the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 30_000);
    try {
      return await this.exited!;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Polls `check` (bounded; it may be async) until it returns a value other than undefined. */
export async function eventually<T>(
  check: () => T | undefined | Promise<T | undefined>, describe: () => string, timeoutMs = 120_000, everyMs = 500,
): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() - start >= timeoutMs) throw new Error(`not within ${timeoutMs} ms: ${describe()}`);
    await new Promise(r => setTimeout(r, everyMs));
  }
}
