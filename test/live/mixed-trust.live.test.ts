/**
 * Live (issue 12 item 8): the specification's four example manifests rendered together by
 * one `cdk8s-frp render --namespace frp` run — auto mTLS (ollama-cluster), manual mTLS with
 * the team's own CA (user-service), and two services without mTLS — start on the harness:
 * frps demands client certificates and trusts both CAs as one PEM bundle (joined by its init
 * container), every frpc verifies frps against the bundle's CA (a ClusterIssuer: frpc runs in
 * four other namespaces), and every proxy of every member comes online. A client certificate
 * from a third CA is still refused; the manual team's certificate logs in.
 */
import { generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { parseFrpTomlValues as parse } from '../helpers';
import { GROUP_KEY, onlineProxies, TOKEN } from './fixtures';
import { autoBackends } from './harness/auto-backends';
import { mintCa, mintLeaf, mintStrangerCert, SecretData } from './harness/certs';
import { claimSubnet, LiveCluster, waitFor } from './harness/cluster';
import { tryLogin } from './harness/rogue';
import { main } from '../../lib/cli/render';

jest.setTimeout(180_000);

const MANIFESTS = path.join(__dirname, '..', '..', 'examples', 'manifests');

/** The Secrets a user creates for these manifests, with test values, where the pods name them. */
function userSecrets(manifests: any[], ca: SecretData, dir: string): Record<string, Record<string, string | Buffer>> {
  const out: Record<string, Record<string, string | Buffer>> = {};
  const issued = new Set(manifests.filter((o) => o.kind === 'Certificate').map((o) => `${o.metadata.namespace}/${o.spec.secretName}`));
  const jwtKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const value = (name: string, key: string): Record<string, string | Buffer> | undefined => {
    if (name === 'frp-token') return { token: TOKEN };
    if (/-group-key$/.test(name)) return { [key]: GROUP_KEY };
    if (name === 'ollama-api-keys') return { keys: 'test-key\n' };
    if (name === 'oauth2-config') return { 'public-key.pem': jwtKey };
    // the team's CA as `kubectl create secret tls internal-ca` makes it (no ca.crt)
    if (name === 'internal-ca') return { 'tls.crt': ca['tls.crt'], 'tls.key': ca['tls.key'] };
    if (name === 'user-service-cert') return mintLeaf(dir, ca, 'user-service frpc', ['digital signature', 'key encipherment', 'client auth']);
    return undefined;
  };
  for (const o of manifests) {
    const spec = o.spec?.template?.spec;
    if (!spec) continue;
    const refs: [string, string][] = [];
    for (const v of spec.volumes ?? []) if (v.secret) refs.push([v.secret.secretName, v.secret.items?.[0]?.key ?? '']);
    for (const c of [...spec.containers ?? [], ...spec.initContainers ?? []]) {
      for (const e of c.env ?? []) if (e.valueFrom?.secretKeyRef) refs.push([e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key]);
    }
    for (const [name, key] of refs) {
      const id = `${o.metadata.namespace}/${name}`;
      if (issued.has(id) || out[id]) continue;
      const v = value(name, key);
      if (!v) throw new Error(`no test value for the Secret ${id}`);
      out[id] = v;
    }
  }
  return out;
}

describe('live: the four example manifests in one render (auto, manual and no mTLS on one frps)', () => {
  let cluster: LiveCluster | undefined;
  let stopBackends: (() => Promise<unknown>) | undefined;
  let dir: string | undefined;
  afterAll(async () => {
    await cluster?.stop();
    await stopBackends?.();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test('every pod ready, every proxy online; frps trusts both CAs and no other', async () => {
    const files = fs.readdirSync(MANIFESTS).filter((f) => f.endsWith('.yaml')).sort().map((f) => path.join(MANIFESTS, f));
    expect(files).toHaveLength(4);
    const out: string[] = [];
    const err: string[] = [];
    expect(main(['render', '--namespace', 'frp', ...files], (s) => out.push(s), (s) => err.push(s))).toBe(0);
    expect(err.join('')).not.toMatch(/error/i);
    const manifests = parseAllDocuments(out.join('')).map((d) => d.toJS());
    const frpsToml = parse(manifests.find((o) => o.kind === 'ConfigMap' && o.data?.['frps.toml']).data['frps.toml']) as any;
    expect(frpsToml.transport.tls.trustedCaFile).toBe('/etc/frp/client-ca/ca.crt');

    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frp-mixed-'));
    const ca = mintCa(dir, 'internal CA');
    const subnet = await claimSubnet();
    const auto = await autoBackends(manifests, subnet.base);
    stopBackends = () => Promise.all(auto.running.map((b) => b.close()));
    cluster = await LiveCluster.start(manifests, { subnet, ...auto, secrets: userSecrets(manifests, ca, dir) });
    const c = cluster;
    await c.waitAllReady(60_000);
    let expected = 0;
    for (const cm of manifests.filter((o: any) => o.kind === 'ConfigMap' && o.data?.['frpc.toml'])) {
      const proxies = (parse(cm.data['frpc.toml']) as any).proxies?.length ?? 0;
      const mounts = (p: any) => (p.workload.spec.template.spec.volumes ?? []).some((v: any) => v.configMap?.name === cm.metadata.name);
      const pods = c.podsOf((p) => p.namespace === cm.metadata.namespace && mounts(p));
      expected += proxies * pods.length;
    }
    expect(expected).toBeGreaterThanOrEqual(4);
    await waitFor(`${expected} proxies online`, async () => (await onlineProxies(c)).length === expected, 60_000)
      .catch(async (e) => { throw new Error(`${e.message} (online: ${(await onlineProxies(c)).join(', ')})\n${c.allLogs()}`); });
    // members of every namespace are online, the manual team's among them
    const online = await onlineProxies(c);
    for (const ns of ['ai-services', 'microservices', 'databases', 'web']) expect(online.some((p) => p.startsWith(`${ns}.`))).toBe(true);

    // a client with the token and a certificate from a third CA is refused; the manual team's certificate logs in
    const control = c.address(c.findService('frps control', (s) => s.metadata.namespace === 'frp' && s.spec.ports?.some((p: any) => p.name === 'control')), 'control');
    const frpcCm = manifests.find((o) => o.kind === 'ConfigMap' && o.metadata.namespace === 'microservices' && o.data?.['frpc.toml']);
    const tls = (parse(frpcCm.data['frpc.toml']) as any).transport.tls;
    const frpc = manifests.find((o) => o.kind === 'Deployment' && o.metadata.namespace === 'microservices'
      && o.spec.template.spec.volumes?.some((v: any) => v.configMap?.name === frpcCm.metadata.name));
    // frpc verifies frps against the bundle's CA: ca.crt of a certificate the ClusterIssuer issued in microservices
    const trust = frpc.spec.template.spec.volumes.find((v: any) => v.name === 'tls-ca').secret.secretName;
    const serverCa = c.secretData('microservices', trust)['ca.crt'];
    const attempt = (cert: SecretData) =>
      tryLogin({ server: control, token: TOKEN, tls: { cert, ca: serverCa, serverName: tls.serverName }, dir: c.root });
    const team = await attempt(c.secretData('microservices', 'user-service-cert'));
    expect(team.log).toMatch(/login to server success/);
    const stranger = await attempt(mintStrangerCert(c.root, 'stranger'));
    expect(stranger.ok).toBe(false);
  });
});
