/**
 * Live: every example app's bundle, exactly as `cdk8s synth` writes it, starts on the
 * harness: every pod becomes ready (no crash loop, no missing Secret key, no volume that
 * cannot mount) and frps reports every proxy of every frpc member online. Backends the
 * examples point at are stand-ins (auto-backends.ts); Secrets the user creates out of
 * band are test fixtures.
 */
import { generateKeyPairSync } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Chart } from 'cdk8s';
import { parseFrpTomlValues as parse } from '../helpers';
import { GROUP_KEY, onlineProxies, TOKEN } from './fixtures';
import { autoBackends } from './harness/auto-backends';
import { mintCa, mintLeaf } from './harness/certs';
import { claimSubnet, LiveCluster, waitFor } from './harness/cluster';
import { MtlsTunnelChart } from '../../examples/mtls-tunnel';
import { OllamaClusterChart, PostgresProxyChart, UserServiceChart, WebappFrontendChart } from '../../examples/seed-use-cases';
import { TcpTunnelChart } from '../../examples/tcp-tunnel';

jest.setTimeout(180_000);

const EXAMPLES: Record<string, (app: App) => Chart> = {
  'tcp-tunnel': app => new TcpTunnelChart(app, 'tcp-tunnel'),
  'mtls-tunnel': app => new MtlsTunnelChart(app, 'mtls-tunnel'),
  'ollama-cluster': app => new OllamaClusterChart(app, 'ollama-cluster'),
  'user-service': app => new UserServiceChart(app, 'user-service'),
  'postgres-proxy': app => new PostgresProxyChart(app, 'postgres-proxy'),
  'webapp-frontend': app => new WebappFrontendChart(app, 'webapp-frontend'),
};

/** The Secrets the examples' READMEs tell the user to create, with test values. */
function userSecrets(manifests: any[], dir: string): Record<string, Record<string, string | Buffer>> {
  const out: Record<string, Record<string, string | Buffer>> = {};
  const mounts = (o: any, name: string) => o.spec?.template?.spec?.volumes?.some((v: any) => v.secret?.secretName === name);
  const envs = (o: any, name: string) => o.spec?.template?.spec?.containers
    ?.some((c: any) => (c.env ?? []).some((e: any) => e.valueFrom?.secretKeyRef?.name === name));
  const nsOf = (name: string) => manifests.find((o) => mounts(o, name) || envs(o, name))?.metadata.namespace;
  const put = (name: string, data: Record<string, string | Buffer>) => { const n = nsOf(name); if (n) out[`${n}/${name}`] = data; };
  put('frp-token', { token: TOKEN });
  // every load-balancing group's key (DistributedService reads <name>-group-key by default)
  for (const o of manifests) {
    for (const c of o.spec?.template?.spec?.containers ?? []) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && /-group-key$/.test(ref.name)) out[`${o.metadata.namespace}/${ref.name}`] = { [ref.key]: GROUP_KEY };
      }
    }
  }
  put('ollama-api-keys', { keys: 'test-key\n' });
  const jwtKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey;
  put('oauth2-config', { 'public-key.pem': jwtKey.export({ type: 'spki', format: 'pem' }).toString() });
  // manual mTLS: the team's own CA and frpc's client certificate from it
  const ca = mintCa(dir, 'internal CA');
  const caNs = manifests.find((o) => o.kind === 'Issuer' && o.spec?.ca?.secretName === 'internal-ca')?.metadata.namespace;
  // as `kubectl create secret tls internal-ca --cert --key` makes it: no ca.crt key
  if (caNs) out[`${caNs}/internal-ca`] = { 'tls.crt': ca['tls.crt'], 'tls.key': ca['tls.key'] };
  put('user-service-cert', mintLeaf(dir, ca, 'user-service frpc', ['digital signature', 'key encipherment', 'client auth']));
  return out;
}

describe.each(Object.keys(EXAMPLES))('live: example %s', (name) => {
  test('every pod ready and every proxy of every member online at frps', async () => {
    const manifests = EXAMPLES[name](new App()).toJson();
    const subnet = await claimSubnet();
    const auto = await autoBackends(manifests, subnet.base);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frp-example-secrets-'));
    let cluster: LiveCluster | undefined;
    try {
      cluster = await LiveCluster.start(manifests, { subnet, ...auto, secrets: userSecrets(manifests, dir) });
      const c = cluster;
      await c.waitAllReady(60_000);
      // expected: each frpc config's proxies times the pods that run it
      let expected = 0;
      for (const cm of manifests.filter((o: any) => o.kind === 'ConfigMap' && o.data?.['frpc.toml'])) {
        const proxies = (parse(cm.data['frpc.toml']) as any).proxies?.length ?? 0;
        const pods = c.podsOf((p) => (p.workload.spec.template.spec.volumes ?? []).some((v: any) => v.configMap?.name === cm.metadata.name));
        expected += proxies * pods.length;
      }
      expect(expected).toBeGreaterThan(0);
      await waitFor(`${expected} proxies online`, async () => (await onlineProxies(c)).length === expected, 60_000)
        .catch(async (e) => { throw new Error(`${e.message} (online: ${(await onlineProxies(c)).join(', ')})\n${c.allLogs()}`); });
    } finally {
      await cluster?.stop();
      await Promise.all(auto.running.map((b) => b.close()));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
