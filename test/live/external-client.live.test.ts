/**
 * Live: frpc outside the cluster. The bundle runs in the harness; an "external" frpc
 * runs as its systemd unit would (ExecStart / ExecReload lines of the rendered unit,
 * EnvironmentFile read by systemd's rules, the token file) from the files
 * FrpExternalClient renders and its export script writes (run against a stand-in
 * kubectl serving the same Secret values the pods get), dialling frps' external
 * (LoadBalancer) control Service. It joins the service's group next to the in-cluster
 * member and serves traffic, with a group key Secret as `kubectl create secret
 * --from-file` writes it (a trailing newline; issue 9 defect 2: the export script used
 * to lose it, so the machine's key differed); adding a proxy and running the unit's
 * reload leaves the other proxy's open connections alive.
 */
import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Backends, fixtureSecrets, NS, remotePortService, vhostService } from './fixtures';
import {
  CertificateAuthority, DistributedService, ServiceProtocol, ExposeType, FrpAuth, FrpExternalClient, FrpServer, NetworkPeer,
} from '../../lib';
import { expectValidBundle, frpBinary } from '../helpers';
import { localhostPort } from '../helpers/loopback';
import { parseSystemdEnvFile } from '../helpers/systemd-env';
import { HttpBackend, httpRequest, tally, TcpBackend } from './harness/backends';
import { mintCa, mintLeaf, SecretData } from './harness/certs';
import { claimSubnet, LiveCluster, sleep } from './harness/cluster';

jest.setTimeout(120_000);

/** The group key Secret's value: as `--from-file` writes it (trailing newline), with quotes, a backslash and `{{`. */
const GROUP_KEY = 'live-gr"oup\\key{{\n';
/** The Secret values of the bundle (the pods' and the export script's). */
const SECRETS = fixtureSecrets({ [`${NS}/group-key`]: { 'group-key': GROUP_KEY } });

/** The in-cluster side: frps with a LoadBalancer control Service, services with a group key. */
function cluster(services: Record<string, (chart: Chart, server: FrpServer, key: kplus.ISecret) => DistributedService>) {
  const chart = new Chart(Testing.app(), 'live', { namespace: NS });
  const server = new FrpServer(chart, 'frps', {
    auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 'frp-token', 'frp-token')),
    externalAccess: { addresses: ['frps.example.test'] },
    clientPeers: [NetworkPeer.cidr('127.0.0.0/8')],
  });
  const key = kplus.Secret.fromSecretName(chart, 'group-key', 'group-key');
  const made = Object.fromEntries(Object.entries(services).map(([name, f]) => [name, f(chart, server, key)]));
  const manifests = Testing.synth(chart);
  expectValidBundle(manifests);
  return { chart, server, services: made, manifests };
}

/** An http service `web` (web.example.test) with one in-cluster member forwarding to `podBackend`:8000. */
function webCluster(podBackend: string) {
  return cluster({
    web: (chart, server, groupKeySecret) => new DistributedService(chart, 'web', {
      server,
      groupKeySecret,
      serviceType: ServiceProtocol.HTTP,
      backends: { replicas: 1, endpoints: [{ host: podBackend, port: 8000 }] },
      expose: { domain: 'web.example.test' },
    }),
  });
}

/**
 * The machine's FrpExternalClient, dialling frps' LoadBalancer Service at the address the
 * harness gives it, and verifying frps' certificate by the external DNS name it carries
 * (serverName).
 */
async function externalClient(c: LiveCluster, bundle: { chart: Chart; server: FrpServer }): Promise<FrpExternalClient> {
  const external = c.address(c.service(bundle.server.externalService!.name, NS), 'control');
  return new FrpExternalClient(bundle.chart, 'gpu', {
    server: bundle.server,
    machine: 'gpu-1',
    serverAddress: external.host,
    serverName: 'frps.example.test',
    serverPort: external.port,
    frpcPath: frpBinary('frpc'),
    // the machine's admin API listens on 127.0.0.1 (as on a real machine): a port of the test's claim
    adminPort: localhostPort(c.base),
    configDir: Machine.dir(),
  });
}

/**
 * The Secrets cert-manager would fill for the machine: its client certificate, minted from
 * the server's CA as the harness issues in-cluster certificates (the machine's Certificate is
 * made after the bundle started), and the CA Secret whose ca.crt the machine trusts.
 */
function machineCertificates(c: LiveCluster, client: FrpExternalClient): Record<string, SecretData> {
  const cert = client.certificate!;
  const ns = Chart.of(cert).namespace ?? 'default';
  // the server's own CA (FrpServer makes one by default): its root Secret holds the CA key pair
  const authority = client.server.certificateAuthority as CertificateAuthority;
  const ca = c.secretData(Chart.of(authority).namespace ?? 'default', authority.caSecretName);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'frp-machine-cert-'));
  try {
    const leaf = mintLeaf(work, ca, client.machine, ['digital signature', 'client auth']);
    // the issued Secret holds the CA certificate as ca.crt, as cert-manager's CA issuer writes it
    return { [`${ns}/${cert.secret.name}`]: leaf, [`${ns}/${cert.caSecret.name}`]: { ...leaf, 'ca.crt': ca['tls.crt'] } };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** The machine: its files in a directory, frpc started from the unit's ExecStart with its EnvironmentFile. */
class Machine {
  /** The machine's config directory (FrpExternalClientProps.configDir). */
  public static dir(): string {
    return fs.mkdtempSync(path.join(os.tmpdir(), 'frp-machine-'));
  }

  public proc?: ChildProcess;
  public log = '';

  /**
   * @param certificates Secrets the harness' cert-manager would hold for the machine: its
   *   client certificate (issued after synth, so minted here from the server's CA) and the CA.
   */
  constructor(public readonly client: FrpExternalClient, private readonly certificates: Record<string, SecretData> = {}) {}

  public get dir(): string { return this.client.configDir; }

  /**
   * Writes frpc.toml and frpc.service, and runs the export script in the machine's
   * directory, its kubectl a stand-in that serves the Secrets' base64 data.
   */
  public writeFiles(): void {
    fs.writeFileSync(path.join(this.dir, 'frpc.toml'), this.client.renderConfig());
    fs.writeFileSync(path.join(this.dir, 'frpc.service'), this.client.renderSystemdUnit());
    const bin = fs.mkdtempSync(path.join(os.tmpdir(), 'frp-kubectl-'));
    try {
      const data = path.join(bin, 'data');
      for (const [ref, keys] of Object.entries<Record<string, string | Buffer>>({ ...SECRETS, ...this.certificates })) {
        for (const [key, value] of Object.entries(keys)) {
          fs.mkdirSync(path.join(data, ref), { recursive: true });
          fs.writeFileSync(path.join(data, ref, key), Buffer.from(value).toString('base64'));
        }
      }
      // kubectl -n NS get secret NAME -o jsonpath={.data.KEY}: prints the key's base64 data
      fs.writeFileSync(path.join(bin, 'kubectl'), `#!/bin/sh
key=$(printf '%s' "$7" | sed -e 's/^jsonpath={.data.//' -e 's/}$//' -e 's/\\\\//g')
cat "${data}/$2/$5/$key" 2>/dev/null || true
`, { mode: 0o755 });
      fs.writeFileSync(path.join(this.dir, 'export-credentials.sh'), this.client.renderExportScript());
      const r = spawnSync('sh', ['export-credentials.sh'], { cwd: this.dir, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` }, timeout: 30_000 });
      if (r.status !== 0) throw new Error(`export-credentials.sh: exit ${r.status}: ${r.stderr}`);
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
    }
  }

  private unitLine(key: string): string[] {
    const line = this.client.renderSystemdUnit().split('\n').find((l) => l.startsWith(`${key}=`));
    if (!line) throw new Error(`the unit has no ${key}`);
    return line.slice(key.length + 1).split(' ');
  }

  /** The environment systemd would give frpc (EnvironmentFile, by systemd's parsing rules). */
  private env(): Record<string, string> {
    const env: Record<string, string> = { PATH: '/usr/bin:/bin' };
    const file = this.client.renderSystemdUnit().split('\n').find((l) => l.startsWith('EnvironmentFile='))?.slice('EnvironmentFile='.length);
    if (file) for (const [k, v] of parseSystemdEnvFile(fs.readFileSync(file))) env[k] = v.toString('utf8');
    return env;
  }

  public start(): void {
    const [cmd, ...args] = this.unitLine('ExecStart');
    this.proc = spawn(cmd, args, { env: this.env(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const append = (d: Buffer) => { this.log += d.toString(); };
    this.proc.stdout!.on('data', append);
    this.proc.stderr!.on('data', append);
  }

  /** `systemctl reload frpc`: the unit's ExecReload, bounded. */
  public reload(): { status: number | null; output: string } {
    const [cmd, ...args] = this.unitLine('ExecReload');
    const r = spawnSync(cmd, args, { env: this.env(), encoding: 'utf8', timeout: 30_000 });
    return { status: r.status, output: `${r.stdout}${r.stderr}` };
  }

  public async stop(): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (p?.pid && p.exitCode === null) {
      let timer: NodeJS.Timeout | undefined;
      const exited = new Promise<void>((r) => {
        p.once('exit', () => r());
        timer = setTimeout(r, 5_000);
      });
      try { process.kill(-p.pid, 'SIGKILL'); } catch { /* gone */ }
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A kept-open TCP connection that sends a line and reads the answer line. */
class OpenConnection {
  public static async open(host: string, port: number): Promise<OpenConnection> {
    const s = net.connect({ host, port });
    await new Promise<void>((resolve, reject) => { s.once('connect', () => resolve()); s.once('error', reject); });
    return new OpenConnection(s);
  }

  private buf = '';
  public closed = false;
  private constructor(private readonly socket: net.Socket) {
    socket.on('data', (d) => { this.buf += d.toString(); });
    socket.on('close', () => { this.closed = true; });
    socket.on('error', () => { this.closed = true; });
  }

  /** Sends a line; the answer line, or 'closed' / 'timeout'. */
  public async ask(timeoutMs = 5_000): Promise<string> {
    if (this.closed) return 'closed';
    this.buf = '';
    this.socket.write('hello\n');
    const end = Date.now() + timeoutMs;
    while (!this.buf.includes('\n')) {
      if (this.closed) return 'closed';
      if (Date.now() > end) return 'timeout';
      await sleep(20);
    }
    return this.buf.trim();
  }

  public close(): void { this.socket.destroy(); }
}

describe('live: frpc on a machine outside the cluster', () => {
  let live: LiveCluster | undefined;
  let machine: Machine | undefined;
  let backends: Backends | undefined;
  const open: OpenConnection[] = [];
  afterEach(async () => {
    for (const c of open.splice(0)) c.close();
    await machine?.stop();
    machine = undefined;
    await live?.stop();
    live = undefined;
    await backends?.closeAll();
  });

  test('joins the group of an in-cluster member (same group key) and serves: http round robin over both', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const podBackend = backends.address();
    const machineBackend = backends.address();
    await backends.add(HttpBackend.start('in-cluster', podBackend, 8000));
    await backends.add(HttpBackend.start('machine', machineBackend, 8000));
    const bundle = webCluster(podBackend);
    live = await LiveCluster.start(bundle.manifests, { subnet, secrets: SECRETS });
    await live.waitAllReady();
    const frpsBefore = bundle.server.renderConfig();

    const client = await externalClient(live, bundle);
    client.addService(bundle.services.web, { localIp: machineBackend });
    machine = new Machine(client, machineCertificates(live, client));
    // a machine joining changes nothing in the cluster's frps config
    expect(bundle.server.renderConfig()).toBe(frpsBefore);
    machine.writeFiles();
    machine.start();

    const vhost = live.address(vhostService(live), 'http');
    const ask = () => httpRequest({ ...vhost, path: '/x', headers: { host: 'web.example.test' } });
    // both members register (the in-cluster frpc retries its login while frps starts)
    const seen = new Set<string>();
    for (const end = Date.now() + 45_000; seen.size < 2 && Date.now() < end;) {
      const r = await ask();
      if (r.answer) seen.add(r.answer.instance);
      await sleep(100);
    }
    expect({ seen: [...seen].sort(), log: seen.size < 2 ? machine.log + live.allLogs() : '' }).toEqual({ seen: ['in-cluster', 'machine'], log: '' });
    // frps names the machine's member <machine>.<proxy>
    const frpsPod = live.podsWithImage('frps')[0];
    expect(live.logs(frpsPod)).toMatch(/\[gpu-1\.web\]/);
    const answers = [];
    for (let i = 0; i < 20; i++) answers.push((await ask()).answer?.instance ?? 'failed');
    expect(tally(answers)).toEqual({ 'in-cluster': 10, 'machine': 10 });
  });

  test('the machine verifies frps: trusting another CA, it never logs in (an impostor frps would be refused the same way)', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const podBackend = backends.address();
    await backends.add(HttpBackend.start('in-cluster', podBackend, 8000));
    const bundle = webCluster(podBackend);
    live = await LiveCluster.start(bundle.manifests, { subnet, secrets: SECRETS });
    await live.waitAllReady();
    const client = await externalClient(live, bundle);
    client.addService(bundle.services.web, { localIp: backends.address() });
    const certs = machineCertificates(live, client);
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'frp-stranger-'));
    try {
      const stranger = mintCa(work, 'stranger CA');
      for (const data of Object.values(certs)) data['ca.crt'] = stranger['tls.crt'];
    } finally {
      fs.rmSync(work, { recursive: true, force: true });
    }
    const logins = () => (live!.logs(live!.podsWithImage('frps')[0]).match(/client login info/g) ?? []).length;
    // the in-cluster member serves first (its login is done before the machine starts)
    const vhost = live.address(vhostService(live), 'http');
    let served = '';
    for (const end = Date.now() + 45_000; served !== 'in-cluster' && Date.now() < end; await sleep(100)) {
      served = (await httpRequest({ ...vhost, path: '/x', headers: { host: 'web.example.test' } })).answer?.instance ?? '';
    }
    expect(served).toBe('in-cluster');
    const loginsBefore = logins();
    machine = new Machine(client, certs);
    machine.writeFiles();
    machine.start();
    // frpc aborts the TLS handshake (it logs only "session shutdown"); with the right CA the same
    // machine logs in (the first test)
    const attempts = () => (machine!.log.match(/connect to server error/g) ?? []).length;
    for (const end = Date.now() + 30_000; attempts() < 3 && Date.now() < end;) await sleep(100);
    expect({ attempts: attempts() >= 3, loggedIn: /login to server success/.test(machine.log) }).toEqual({ attempts: true, loggedIn: false });
    // frps saw no login from the machine (its token never left it)
    expect(live.logs(live.podsWithImage('frps')[0])).not.toMatch(/\[gpu-1\.web\]/);
    expect(logins()).toBe(loginsBefore);
  });

  test('adding a proxy and running the unit\'s reload keeps the other proxy\'s open connections alive', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const dbHost = backends.address();
    const cacheHost = backends.address();
    const inCluster = backends.address();
    await backends.add(TcpBackend.start('machine-db', dbHost, 5432));
    await backends.add(TcpBackend.start('machine-cache', cacheHost, 6379));
    await backends.add(TcpBackend.start('in-cluster-db', inCluster, 5432));
    await backends.add(TcpBackend.start('in-cluster-cache', inCluster, 6379));
    const tcp = (name: string, port: number, backendPort: number) => (chart: Chart, server: FrpServer, groupKeySecret: kplus.ISecret) =>
      new DistributedService(chart, name, {
        server,
        groupKeySecret,
        serviceType: ServiceProtocol.TCP,
        backends: { replicas: 1, endpoints: [{ host: inCluster, port: backendPort }] },
        expose: { type: ExposeType.PORT, port },
      });
    const bundle = cluster({ db: tcp('db', 15432, 5432), cache: tcp('cache', 16379, 6379) });
    live = await LiveCluster.start(bundle.manifests, { subnet, secrets: SECRETS });
    await live.waitAllReady();
    const client = await externalClient(live, bundle);
    client.addService(bundle.services.db, { localIp: dbHost });
    machine = new Machine(client, machineCertificates(live, client));
    machine.writeFiles();
    machine.start();

    // an open connection that reached the machine's db member (the group spreads connections)
    const db = live.address(remotePortService(live, 15432), 15432);
    let onMachine: OpenConnection | undefined;
    for (let i = 0; i < 100 && !onMachine; i++) {
      const c = await OpenConnection.open(db.host, db.port);
      open.push(c);
      const a = await c.ask(2_000);
      if (a.startsWith('machine-db')) onMachine = c;
      else await sleep(100);
    }
    expect({ reached: !!onMachine, log: onMachine ? '' : machine.log }).toEqual({ reached: true, log: '' });

    // add a proxy (cache) to the machine's config and reload as `systemctl reload frpc` does
    client.addService(bundle.services.cache, { localIp: cacheHost });
    machine.writeFiles();
    const reload = machine.reload();
    expect(reload).toEqual({ status: 0, output: expect.stringContaining('reload success') });

    // the open db connection still answers, from the same member
    for (let i = 0; i < 5; i++) expect(await onMachine!.ask()).toMatch(/^machine-db /);
    // and the new proxy serves: the cache group now has the machine as a member
    const cache = live.address(remotePortService(live, 16379), 16379);
    const seen = new Set<string>();
    for (let i = 0; i < 100 && !seen.has('machine-cache'); i++) {
      const c = await OpenConnection.open(cache.host, cache.port);
      open.push(c);
      seen.add((await c.ask(2_000)).split(' ')[0]);
      c.close();
      if (!seen.has('machine-cache')) await sleep(100);
    }
    expect(seen.has('machine-cache')).toBe(true);
    expect(await onMachine!.ask()).toMatch(/^machine-db /);
  });
});
