// Runs the real haproxy / nginx binaries on rendered configs: `-c` / `-t` checks, and
// foreground runs that are always stopped, listening on the test's own loopback address
// and ports (test/helpers/loopback.ts). Missing binaries fail loudly.
import { ChildProcess, spawn, spawnSync } from 'child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'fs';
import * as net from 'net';
import { tmpdir } from 'os';
import { join } from 'path';

/** Every process started here; killed on exit whatever happens to the tests. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) killGroup(child, 'SIGKILL');
});

/**
 * Children are started in their own process group (`detached`), so a signal reaches the
 * master and its workers (nginx) even if the master dies first.
 */
function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/**
 * Throws unless `binary` runs; the message says which Debian package to install.
 */
export function requireBinary(binary: string, versionArg: string, packages: string): void {
  const r = spawnSync(binary, [versionArg], { encoding: 'utf8', timeout: 10_000 });
  if (r.error || (r.status !== 0 && !`${r.stdout}${r.stderr}`.length)) {
    throw new Error(`${binary} is required by these tests but was not found or does not run (${r.error?.message ?? `exit ${r.status}`}): run apt-get install -y ${packages}`);
  }
}

/** A temp directory for configs and the files they read. */
export class TempDir {
  public readonly dir: string;

  constructor(prefix: string) {
    this.dir = mkdtempSync(join(tmpdir(), prefix));
  }

  /** Writes `content` to `name` inside the directory; returns the absolute path. */
  public write(name: string, content: string): string {
    const path = join(this.dir, name);
    writeFileSync(path, content);
    return path;
  }

  public remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The outcome of a config check. */
export interface CheckResult {
  readonly ok: boolean;
  readonly output: string;
}

/** A running server process (haproxy or nginx) in the foreground. */
export class RunningProcess {
  private out = '';
  private exited = false;
  private readonly exit: Promise<void>;

  constructor(public readonly name: string, private readonly child: ChildProcess) {
    running.add(child);
    const append = (b: Buffer) => {
      if (this.out.length < 200_000) this.out += b.toString();
    };
    child.stdout?.on('data', append);
    child.stderr?.on('data', append);
    this.exit = new Promise(resolve => child.once('exit', () => {
      this.exited = true;
      running.delete(child);
      resolve();
    }));
  }

  /** Everything the process printed so far. */
  public output(): string {
    return this.out;
  }

  public get hasExited(): boolean {
    return this.exited;
  }

  /** SIGTERM, then SIGKILL after 2 s; resolves once the process is gone. */
  public async stop(): Promise<void> {
    if (this.exited) {
      killGroup(this.child, 'SIGKILL'); // leftover workers, if any
      return;
    }
    killGroup(this.child, 'SIGTERM');
    if (!(await this.exitWithin(2_000))) {
      killGroup(this.child, 'SIGKILL');
      await this.exitWithin(2_000);
    }
  }

  /** Waits for the exit without leaving a timer behind; true when the process exited. */
  private exitWithin(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<boolean>(resolve => (timer = setTimeout(() => resolve(false), ms)));
    return Promise.race([this.exit.then(() => true), timeout]).finally(() => clearTimeout(timer));
  }

  /**
   * Resolves when `host:port` accepts connections; rejects when the process exits first
   * or after `timeoutMs`.
   */
  public async waitForPort(port: number, host = '127.0.0.1', timeoutMs = 5_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.exited) throw new Error(`${this.name} exited before listening on ${host}:${port}:\n${this.out}`);
      if (await canConnect(host, port)) return;
      await sleep(25);
    }
    throw new Error(`${this.name} did not listen on ${host}:${port} within ${timeoutMs}ms:\n${this.out}`);
  }
}

/** Writes configs to a temp dir and runs the Debian haproxy binary on them. */
export class HaproxyHarness {
  /** Fails (never skips) when haproxy is missing. */
  public static create(): HaproxyHarness {
    requireBinary('haproxy', '-v', 'haproxy');
    return new HaproxyHarness();
  }

  public readonly tmp = new TempDir('haproxy-test-');
  private readonly started: RunningProcess[] = [];
  private configs = 0;

  private constructor() {}

  public get dir(): string {
    return this.tmp.dir;
  }

  /** Writes a file the config reads (key lists, public keys); returns its path. */
  public writeFile(name: string, content: string): string {
    return this.tmp.write(name, content);
  }

  /** `haproxy -c -f FILE` (with `env` added to its environment, and what a pod has for a `peers` section). */
  public check(config: string, env: NodeJS.ProcessEnv = {}): CheckResult {
    const file = this.tmp.write(`haproxy-${++this.configs}.cfg`, config);
    const [cmd, args, fullEnv] = this.checkCommand(config, file, env);
    const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 15_000, env: fullEnv });
    return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
  }

  /** `haproxy -c -f FILE` without blocking: haproxy takes ~150 ms to start, so checks run in parallel. */
  public checkAsync(config: string): Promise<CheckResult> {
    const file = this.tmp.write(`haproxy-${++this.configs}.cfg`, config);
    const [cmd, args, env] = this.checkCommand(config, file, {});
    return new Promise(resolve => {
      const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
      let output = '';
      child.stdout.on('data', b => (output += b));
      child.stderr.on('data', b => (output += b));
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('error', e => {
        clearTimeout(timer);
        resolve({ ok: false, output: `${output}${e.message}` });
      });
      child.once('close', code => {
        clearTimeout(timer);
        resolve({ ok: code === 0, output });
      });
    });
  }

  /**
   * The command that checks `file`. A config with a `peers` section needs what its pod
   * has: the environment variable naming the local peer (set to the first peer unless
   * `env` has it), and peer addresses that resolve (HAProxy resolves them at start; in a
   * cluster they are Services). For the latter the check runs in a private mount
   * namespace whose /etc/hosts maps the peer names to 127.0.0.1; nothing in the text
   * changes.
   */
  private checkCommand(config: string, file: string, env: NodeJS.ProcessEnv): [string, string[], NodeJS.ProcessEnv] {
    const peers = config.split('\n\n').find(b => /^peers /.test(b));
    const localEnv = /^\s*localpeer "\$\{([A-Za-z_][A-Za-z0-9_]*)\}"$/m.exec(config)?.[1];
    const first = peers && /\.if streq\("\$\{[A-Za-z_0-9]+\}",([^)]+)\)/.exec(peers)?.[1];
    const fullEnv = { ...process.env, ...(localEnv && first && env[localEnv] === undefined ? { [localEnv]: first } : {}), ...env };
    const names = peers ? [...peers.matchAll(/^\s*server \S+ ([A-Za-z][A-Za-z0-9.-]*):\d+$/gm)].map(m => m[1]) : [];
    if (names.length === 0) return ['haproxy', ['-c', '-f', file], fullEnv];
    const hosts = this.tmp.write(`hosts-${this.configs}`, `127.0.0.1\tlocalhost\n${names.map(n => `127.0.0.1\t${n}`).join('\n')}\n`);
    return ['unshare', ['-m', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$0" /etc/hosts && exec haproxy -c -f "$1"', hosts, file], fullEnv];
  }

  /** Checks many configs, `concurrency` at a time; results in input order. */
  public async checkAll(configs: string[], concurrency = 8): Promise<CheckResult[]> {
    const results: CheckResult[] = new Array(configs.length);
    let next = 0;
    const worker = async () => {
      while (next < configs.length) {
        const i = next++;
        results[i] = await this.checkAsync(configs[i]);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, configs.length) }, worker));
    return results;
  }

  /** Throws with haproxy's output unless the config is valid. */
  public expectValid(config: string, env: NodeJS.ProcessEnv = {}): void {
    const r = this.check(config, env);
    if (!r.ok) throw new Error(`haproxy -c rejected the config:\n${r.output}\n--- config ---\n${config}`);
  }

  /**
   * Starts `haproxy -db -f FILE` in the foreground (with `env` added to its environment)
   * and waits until `readyPort` on `host` accepts connections.
   */
  public async start(config: string, readyPort: number, host = '127.0.0.1', env: NodeJS.ProcessEnv = {}): Promise<RunningProcess> {
    this.expectValid(config, env);
    const file = this.tmp.write(`haproxy-${++this.configs}.cfg`, config);
    const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: { ...process.env, ...env } });
    const proc = new RunningProcess('haproxy', child);
    this.started.push(proc);
    try {
      await proc.waitForPort(readyPort, host);
    } catch (e) {
      await proc.stop();
      throw e;
    }
    return proc;
  }

  /** Stops every haproxy started here and removes the temp dir. */
  public async cleanup(): Promise<void> {
    await Promise.all(this.started.map(p => p.stop()));
    this.tmp.remove();
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise(resolve => setTimeout(resolve, ms));
}

export function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise(resolve => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Writes nginx configs to a temp dir and runs the Debian nginx binary on them. */
export class NginxHarness {
  /** The stream module of Debian's libnginx-mod-stream package. */
  public static readonly STREAM_MODULE = '/usr/lib/nginx/modules/ngx_stream_module.so';

  /** Fails (never skips) when nginx or its stream module is missing. */
  public static create(): NginxHarness {
    requireBinary('nginx', '-v', 'nginx-light libnginx-mod-stream');
    if (!existsSync(NginxHarness.STREAM_MODULE)) {
      throw new Error(`${NginxHarness.STREAM_MODULE} is missing: run apt-get install -y libnginx-mod-stream`);
    }
    return new NginxHarness();
  }

  public readonly tmp = new TempDir('nginx-test-');
  private readonly started: RunningProcess[] = [];
  private configs = 0;

  private constructor() {}

  public get dir(): string {
    return this.tmp.dir;
  }

  /** `nginx -t -c FILE` with the temp dir as prefix. */
  public check(config: string): CheckResult {
    const file = this.tmp.write(`nginx-${++this.configs}.conf`, config);
    // stdout is a file: nginx opens /dev/stdout for its access log, which fails on a socket.
    const stdout = openSync(join(this.dir, 'stdout.log'), 'a');
    const r = spawnSync('nginx', ['-t', '-p', this.dir, '-e', 'stderr', '-c', file], { encoding: 'utf8', timeout: 15_000, stdio: ['ignore', stdout, 'pipe'] });
    closeSync(stdout);
    return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
  }

  public expectValid(config: string): void {
    const r = this.check(config);
    if (!r.ok) throw new Error(`nginx -t rejected the config:\n${r.output}\n--- config ---\n${config}`);
  }

  /** Starts nginx in the foreground (the config says `daemon off`). */
  public start(config: string): RunningProcess {
    this.expectValid(config);
    const file = this.tmp.write(`nginx-${++this.configs}.conf`, config);
    const stdout = openSync(join(this.dir, 'stdout.log'), 'a');
    const child = spawn('nginx', ['-p', this.dir, '-e', 'stderr', '-c', file], { stdio: ['ignore', stdout, 'pipe'], detached: true });
    closeSync(stdout);
    const proc = new RunningProcess('nginx', child);
    this.started.push(proc);
    return proc;
  }

  public async cleanup(): Promise<void> {
    await Promise.all(this.started.map(p => p.stop()));
    this.tmp.remove();
  }
}

/**
 * Writes the files the HAProxy ConfigMaps of `manifests` carry next to haproxy.cfg (the
 * Lua scripts) where the pod mounts them, under `root` (the FS_ROOT_CONTEXT of the chart).
 */
export function writeBalancerScripts(manifests: readonly any[], root: string): void {
  for (const cm of manifests.filter(m => m.kind === 'ConfigMap' && m.data?.['haproxy.cfg'])) {
    for (const [key, text] of Object.entries<string>(cm.data)) {
      if (key === 'haproxy.cfg') continue;
      const dir = join(root, 'usr/local/etc/haproxy');
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, key), text);
    }
  }
}
