/**
 * Live: frpc verifies frps (issue 9 defect 12) and certificates are issued where frpc runs
 * (defect 1).
 * - Without mTLS, the bundle's frpc logs in to its frps; an impostor frps (a real frps with
 *   the same token and a certificate for the same name, from another CA) is refused with
 *   the CA and server name the bundle renders, while frp's old skip-verify would log in.
 * - `cdk8s-frp render --namespace frp` with an auto-mTLS service in namespace `apps`: the
 *   client certificate is issued in `apps` by the CA ClusterIssuer (its CA in cert-manager's
 *   namespace), the frpc pod there mounts it, and the tunnel carries traffic.
 */
import { spawn } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { parseFrpTomlValues as parse, withoutRequiredSecrets } from '../helpers';
import { Backends, bundleOf, fixtureSecrets, GROUP_KEY, NS, onlineProxies, remotePortService, TOKEN } from './fixtures';
import { ServiceProtocol, ExposeType, MtlsMode } from '../../lib';
import { TcpBackend, tcpAsk } from './harness/backends';
import { mintCa, mintLeaf } from './harness/certs';
import { claimSubnet, LiveCluster, waitFor } from './harness/cluster';
import { tryLogin } from './harness/rogue';
import { main } from '../../lib/cli/render';
import { frpBinary } from '../helpers/frp-verify';

jest.setTimeout(120_000);

/** A real frps with the bundle's token and `cert`, on `ip`:7000; stopped by the returned function. */
async function impostor(dir: string, ip: string, cert: Record<string, Buffer>): Promise<() => void> {
  fs.writeFileSync(path.join(dir, 'tls.crt'), cert['tls.crt']);
  fs.writeFileSync(path.join(dir, 'tls.key'), cert['tls.key']);
  fs.writeFileSync(path.join(dir, 'frps.toml'), [
    `bindAddr = "${ip}"`, 'bindPort = 7000', `auth.token = "${TOKEN}"`,
    `transport.tls.certFile = "${path.join(dir, 'tls.crt')}"`, `transport.tls.keyFile = "${path.join(dir, 'tls.key')}"`, '',
  ].join('\n'));
  const log = fs.openSync(path.join(dir, 'frps.log'), 'a');
  const proc = spawn(frpBinary('frps'), ['-c', path.join(dir, 'frps.toml')], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  const stop = () => { proc.kill('SIGKILL'); };
  try {
    await waitFor('the impostor frps listening', () => tcpOpen(ip, 7000), 10_000);
  } catch (e) {
    stop();
    throw e;
  }
  return stop;
}

function tcpOpen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.once('connect', () => { s.destroy(); resolve(true); });
    s.once('error', () => resolve(false));
  });
}

/** A tcp backend `db-0` on a fresh subnet and the bundle of a tcp service `db` in front of it (remote port 25432). */
async function dbTunnel(replicas: number, security?: any) {
  const subnet = await claimSubnet();
  const backends = new Backends(subnet.base);
  const ip = backends.address();
  await backends.add(TcpBackend.start('db-0', ip, 5432));
  const manifests = bundleOf({
    db: {
      serviceType: ServiceProtocol.TCP,
      backends: { replicas, endpoints: [{ host: ip, port: 5432 }] },
      expose: { type: ExposeType.PORT, port: 25432 },
      security,
    },
  });
  return { subnet, backends, manifests };
}

describe('live: frpc verifies frps without mTLS', () => {
  let cluster: LiveCluster | undefined;
  let backends: Backends;
  let stopImpostor: (() => void) | undefined;
  afterAll(async () => {
    stopImpostor?.();
    await cluster?.stop();
    await backends?.closeAll();
  });

  test('the bundle\'s frps is trusted; an impostor frps with a certificate from another CA is refused', async () => {
    const { subnet, manifests, ...rest } = await dbTunnel(1);
    backends = rest.backends;
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    const c = cluster;
    await c.waitAllReady();
    const svc = c.address(remotePortService(c, 25432), 25432);
    let answer = '';
    await waitFor('a tcp answer through the tunnel', async () => (answer = await tcpAsk({ ...svc, timeoutMs: 1000 })).startsWith('db-0'), 30_000)
      .catch((e) => { throw new Error(`${e.message} (last: ${answer})\n${c.allLogs()}`); });

    // what the bundle's frpc verifies with: the CA from its own certificate's Secret, and the name it dials
    const frpcCm = c.manifests.find((o) => o.kind === 'ConfigMap' && o.data?.['frpc.toml']);
    const tls = (parse(frpcCm.data['frpc.toml']) as any).transport.tls;
    expect(tls.trustedCaFile).toBe('/etc/frp/tls-ca/ca.crt');
    expect(tls.certFile).toBeUndefined();
    const frpc = c.manifests.find((o) => o.kind === 'Deployment' && o.spec.template.spec.volumes?.some((v: any) => v.configMap?.name === frpcCm.metadata.name));
    // only the CA certificate is mounted (frpc presents no certificate, so not its key)
    const caVolume = frpc.spec.template.spec.volumes.find((v: any) => v.name === 'tls-ca').secret;
    expect(caVolume.items).toEqual([{ key: 'ca.crt', path: 'ca.crt' }]);
    const secretName = caVolume.secretName;
    const ca = c.secretData(NS, secretName)['ca.crt'];
    const control = c.address(c.findService('frps control', (s) => s.spec.ports?.some((p: any) => p.name === 'control')), 'control');

    // control: the real frps passes the bundle's check
    const real = await tryLogin({ server: control, token: TOKEN, tls: { ca, serverName: tls.serverName }, dir: c.root });
    expect(real.log).toMatch(/login to server success/);

    // an impostor with the token and a certificate for the same name, from a CA the bundle does not trust
    const dir = fs.mkdtempSync(path.join(c.root, 'impostor-'));
    const fake = mintLeaf(dir, mintCa(dir, 'impostor CA'), 'frps', ['digital signature', 'key encipherment', 'server auth'], [tls.serverName]);
    const impostorIp = backends.address();
    stopImpostor = await impostor(dir, impostorIp, fake);
    const refused = await tryLogin({ server: { host: impostorIp, port: 7000 }, token: TOKEN, tls: { ca, serverName: tls.serverName }, dir: c.root });
    expect(refused.ok).toBe(false);
    expect(refused.log).toMatch(/login to the server failed/);
    // frpc stopped at the TLS handshake: the impostor never saw a login (nor the token)
    expect(fs.readFileSync(path.join(dir, 'frps.log'), 'utf8')).not.toMatch(/client login info/);
    // what frpc did before (no trustedCaFile: skip-verify) hands the token to the impostor
    const skipVerify = await tryLogin({ server: { host: impostorIp, port: 7000 }, token: TOKEN, dir: c.root });
    expect(skipVerify.log).toMatch(/login to server success/);
    expect(fs.readFileSync(path.join(dir, 'frps.log'), 'utf8')).toMatch(/client login info/);
  });
});

describe('live: external mTLS with only caSecret (issue 12 item 9)', () => {
  let cluster: LiveCluster | undefined;
  let backends: Backends;
  afterAll(async () => {
    await cluster?.stop();
    await backends?.closeAll();
  });

  test('cert-manager issues frps\' and frpc\'s certificates from the external CA; members log in over mTLS and carry traffic', async () => {
    const { subnet, manifests, ...rest } = await dbTunnel(2, { mtls: { enabled: true, mode: MtlsMode.EXTERNAL, caSecret: 'corp-ca' } });
    backends = rest.backends;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frp-corp-ca-'));
    // the external CA as `kubectl create secret tls corp-ca` makes it
    const ca = mintCa(dir, 'corp CA');
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets({ [`${NS}/corp-ca`]: { 'tls.crt': ca['tls.crt'], 'tls.key': ca['tls.key'] } }) });
    fs.rmSync(dir, { recursive: true, force: true });
    const c = cluster;
    await c.waitAllReady();
    await waitFor('both members online', async () => (await onlineProxies(c)).length === 2, 30_000)
      .catch((e) => { throw new Error(`${e.message}\n${c.allLogs()}`); });
    expect(await tcpAsk(c.address(remotePortService(c, 25432), 25432))).toMatch(/^db-0 /);
    // frps demands client certificates; frpc's, issued here, chains to the external CA
    const frps = parse(c.manifests.find((o) => o.kind === 'ConfigMap' && o.data?.['frps.toml']).data['frps.toml']) as any;
    expect(frps.transport.tls.trustedCaFile).toBeDefined();
    const client = c.manifests.find((o) => o.kind === 'Certificate' && o.spec.usages.includes('client auth'));
    expect(c.secretData(NS, client.spec.secretName)['ca.crt'].equals(ca['tls.crt'])).toBe(true);
  });
});

describe('live: frps in one namespace, an auto-mTLS service in another (CLI --namespace)', () => {
  let cluster: LiveCluster | undefined;
  let backends: Backends;
  afterAll(async () => {
    await cluster?.stop();
    await backends?.closeAll();
  });

  test('the client certificate is issued where frpc runs, from the CA ClusterIssuer; the tunnel works', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const ip = backends.address();
    await backends.add(TcpBackend.start('db-0', ip, 5432));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frp-trust-'));
    const file = path.join(dir, 'db.yaml');
    fs.writeFileSync(file, [
      'apiVersion: frp.io/v1beta1', 'kind: DistributedService', 'metadata: { name: db, namespace: apps }',
      'spec:', '  serviceType: tcp', `  backends: { replicas: 2, endpoints: [{ host: "${ip}", port: 5432 }] }`,
      '  expose: { type: port, port: 25432 }', '  security: { mtls: { enabled: true, mode: auto } }', '',
    ].join('\n'));
    const out: string[] = [];
    const err: string[] = [];
    expect(main(['render', '--namespace', 'frp', file], (s) => out.push(s), (s) => err.push(s))).toBe(0);
    expect(withoutRequiredSecrets(err)).toBe('');
    const manifests = parseAllDocuments(out.join('')).map((d) => d.toJS());
    const certs = manifests.filter((o) => o.kind === 'Certificate');
    const client = certs.find((o) => o.spec.usages?.includes('client auth'));
    expect(client.metadata.namespace).toBe('apps');
    expect(client.spec.issuerRef.kind).toBe('ClusterIssuer');
    expect(certs.find((o) => o.spec.isCA).metadata.namespace).toBe('cert-manager');
    fs.rmSync(dir, { recursive: true, force: true });

    cluster = await LiveCluster.start(manifests, {
      subnet,
      secrets: { 'frp/frp-token': { token: TOKEN }, 'apps/frp-token': { token: TOKEN }, 'apps/db-group-key': { 'group-key': GROUP_KEY } },
    });
    const c = cluster;
    await c.waitAllReady();
    await waitFor('both members online', async () => (await onlineProxies(c)).length === 2, 30_000)
      .catch((e) => { throw new Error(`${e.message}\n${c.allLogs()}`); });
    const svc = c.address(remotePortService(c, 25432), 25432);
    expect(await tcpAsk(svc)).toMatch(/^db-0 /);
    // frps demands the client certificate: the members got theirs in apps
    const frps = parse(manifests.find((o) => o.kind === 'ConfigMap' && o.data?.['frps.toml']).data['frps.toml']) as any;
    expect(frps.transport.tls.trustedCaFile).toBeDefined();
  });
});
