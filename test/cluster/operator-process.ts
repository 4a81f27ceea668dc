import { ChildProcess, spawn } from 'child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { kubectlClean, spawnKubectl, startCluster } from './cluster';

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

/**
 * Every state the API server reports for the DistributedServices of the cluster, in order:
 * a watch (`kubectl get --raw` of the watch URL) from the resourceVersion of a list taken
 * when it starts, so that it delivers every later write, however briefly a state lasted.
 */
export class StateHistory {
  readonly seen: { service: string; resourceVersion: string; generation: number; state: string }[] = [];
  private readonly child: ChildProcess;
  private buffer = '';
  private stderr = '';
  private exited?: number | null;

  constructor() {
    const from = JSON.parse(kubectlClean(['get', '--raw', '/apis/frp.io/v1beta1/distributedservices'])).metadata.resourceVersion;
    this.child = spawnKubectl(['get', '--raw', `/apis/frp.io/v1beta1/distributedservices?watch=1&resourceVersion=${from}&timeoutSeconds=3000`]);
    this.child.once('exit', code => { this.exited = code; });
    this.child.stdout!.setEncoding('utf8');
    this.child.stderr!.setEncoding('utf8');
    this.child.stderr!.on('data', (chunk: string) => { this.stderr += chunk; });
    this.child.stdout!.on('data', (chunk: string) => {
      this.buffer += chunk;
      const parts = this.buffer.split('\n');
      this.buffer = parts.pop()!;
      for (const line of parts.filter(Boolean)) {
        const { type, object: o } = JSON.parse(line);
        if (type === 'ERROR') {
          this.stderr += line;
          continue;
        }
        this.seen.push({
          service: `${o.metadata.namespace}/${o.metadata.name}`, resourceVersion: o.metadata.resourceVersion, generation: o.metadata.generation, state: o.status?.state ?? '',
        });
      }
    });
  }

  /**
   * Waits (bounded) until the watch has delivered the write of `service` at `resourceVersion`
   * (what a read returned): the watch runs beside synchronous kubectl calls, so it may lag.
   */
  async caughtUp(service: string, resourceVersion: string): Promise<void> {
    await eventually(() => (this.seen.some(s => s.service === service && s.resourceVersion === resourceVersion) ? true : undefined),
      () => `the watch never delivered ${service} at resourceVersion ${resourceVersion} (last: ${JSON.stringify(this.seen.slice(-3))})`, 60_000, 100);
  }

  /** The states `service` (namespace/name) went through from entry `from` on, each once per stay (no state yet: left out). */
  walk(service: string, from = 0): string[] {
    if (this.exited !== undefined || this.stderr !== '') throw new Error(`the watch of DistributedServices ended (${this.exited}): ${this.stderr}`);
    const out: string[] = [];
    for (const s of this.seen.slice(from)) {
      if (s.service === service && s.state !== '' && out[out.length - 1] !== s.state) out.push(s.state);
    }
    return out;
  }

  /** Stops the watch. */
  async stop(): Promise<void> {
    if (this.exited !== undefined) return;
    const done = new Promise(r => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    await done;
  }
}

/**
 * One operator test file at a time on the test cluster: an operator prunes what its field
 * manager applied that its own render lacks in cert-manager's namespace (every test's CA
 * goes there) and among cluster-scoped objects (the CAs' ClusterIssuers), so two at once
 * (jest's parallel workers share the run's cluster) would prune each other's CAs. Waits
 * (bounded) for the lock in the cluster's state directory; resolves with its release. A
 * lock whose holder died is taken over.
 */
export async function operatorLock(timeoutMs = 1_500_000): Promise<() => void> {
  const dir = join(process.env.CDK8S_FRP_CLUSTER_DIR ?? tmpdir(), 'operator-test.lock');
  const pidFile = join(dir, 'pid');
  for (const start = Date.now(); ;) {
    try {
      mkdirSync(dir);
      writeFileSync(pidFile, String(process.pid));
      return () => rmSync(dir, { recursive: true, force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    let holder = 0;
    try {
      holder = Number(readFileSync(pidFile, 'utf8'));
    } catch {
      // just taken: the holder writes its pid next
    }
    if (holder > 0 && !alive(holder)) rmSync(dir, { recursive: true, force: true });
    if (Date.now() - start > timeoutMs) throw new Error(`the operator test lock ${dir} is held by process ${holder} after ${timeoutMs} ms`);
    await new Promise(r => setTimeout(r, 1_000));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
