/**
 * Live: who frps lets in. With auto mTLS (a CA issued in the bundle), the bundle's own frpc
 * members carry traffic; a client with the wrong token, with a certificate from another
 * CA, or with no certificate is refused; the same client with the bundle's credentials
 * logs in (the control that shows the refusals are not vacuous).
 */
import { parseFrpTomlValues as parse } from '../helpers';
import { Backends, bundleOf, fixtureSecrets, NS, onlineProxies, remotePortService, TOKEN } from './fixtures';
import { ServiceProtocol, ExposeType, MtlsMode } from '../../lib';
import { TcpBackend, tcpAsk } from './harness/backends';
import { mintStrangerCert } from './harness/certs';
import { claimSubnet, LiveCluster, waitFor } from './harness/cluster';
import { tryLogin } from './harness/rogue';

jest.setTimeout(120_000);

describe('live: authentication and mTLS between frpc and frps', () => {
  let cluster: LiveCluster | undefined;
  let backends: Backends;
  afterAll(async () => {
    await cluster?.stop();
    await backends?.closeAll();
  });

  test('auto mTLS: members serve; wrong token, foreign CA and no certificate are refused', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const ip = backends.address();
    await backends.add(TcpBackend.start('db-0', ip, 5432));
    const manifests = bundleOf({
      db: {
        serviceType: ServiceProtocol.TCP,
        backends: { replicas: 2, endpoints: [{ host: ip, port: 5432 }] },
        expose: { type: ExposeType.PORT, port: 25432 },
        security: { mtls: { enabled: true, mode: MtlsMode.AUTO } },
      },
    });
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    await cluster.waitAllReady();
    const c = cluster;

    // the bundle's own members log in over mTLS and carry traffic
    const svc = c.address(remotePortService(c, 25432), 25432);
    let answer = '';
    await waitFor('a tcp answer through the tunnel', async () => (answer = await tcpAsk({ ...svc, timeoutMs: 1000 })).startsWith('db-0'), 30_000)
      .catch((e) => { throw new Error(`${e.message} (last: ${answer})\n${c.allLogs()}`); });

    // what a rogue client needs: the control Service, frps' name and CA, a valid client certificate
    const control = c.address(c.findService('frps control', (s) => s.spec.ports?.some((p: any) => p.name === 'control')), 'control');
    const frpcCm = c.manifests.find((o) => o.kind === 'ConfigMap' && o.data?.['frpc.toml']);
    const frpc: any = parse(frpcCm.data['frpc.toml']);
    const serverName: string = frpc.transport.tls.serverName;
    const frpcDeployment = c.manifests.find((o) => o.kind === 'Deployment' && o.spec.template.spec.volumes?.some((v: any) => v.configMap?.name === frpcCm.metadata.name));
    const clientSecret = frpcDeployment.spec.template.spec.volumes.find((v: any) => v.secret && /tls/.test(v.name)).secret.secretName;
    const valid = c.secretData(NS, clientSecret);
    const ca = valid['ca.crt'];
    const attempt = (token: string, cert: typeof valid | undefined) =>
      tryLogin({ server: control, token, tls: { cert, ca, serverName }, dir: c.root });

    const control_ = await attempt(TOKEN, valid);
    expect(control_.log).toMatch(/login to server success/);
    expect(control_.ok).toBe(true);

    const wrongToken = await attempt('not-the-token', valid);
    expect(wrongToken.ok).toBe(false);
    expect(wrongToken.log).toMatch(/token in login doesn't match token from configuration|authorization failed/);

    const stranger = await attempt(TOKEN, mintStrangerCert(c.root, 'stranger'));
    expect(stranger.ok).toBe(false);
    expect(stranger.log).toMatch(/login to the server failed/);

    const noCert = await attempt(TOKEN, undefined);
    expect(noCert.ok).toBe(false);
    expect(noCert.log).toMatch(/login to the server failed/);

    // without TLS at all
    const plain = await tryLogin({ server: control, token: TOKEN, dir: c.root });
    expect(plain.ok).toBe(false);
  });
});

describe('live: a token Secret as kubectl writes it from a file', () => {
  let cluster: LiveCluster | undefined;
  let backends: Backends;
  afterAll(async () => {
    await cluster?.stop();
    await backends?.closeAll();
  });

  test('a token ending in a newline (kubectl create secret --from-file) logs every member in', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const ip = backends.address();
    await backends.add(TcpBackend.start('db-0', ip, 5432));
    const manifests = bundleOf({
      db: {
        serviceType: ServiceProtocol.TCP,
        backends: { replicas: 2, endpoints: [{ host: ip, port: 5432 }] },
        expose: { type: ExposeType.PORT, port: 25432 },
      },
    });
    const secrets = fixtureSecrets();
    secrets[`${NS}/frp-token`] = { token: `${TOKEN}\n` };
    cluster = await LiveCluster.start(manifests, { subnet, secrets });
    const c = cluster;
    await c.waitAllReady();
    await waitFor('both members online', async () => (await onlineProxies(c)).length === 2, 30_000)
      .catch((e) => { throw new Error(`${e.message}\n${c.allLogs()}`); });
    const svc = c.address(remotePortService(c, 25432), 25432);
    expect(await tcpAsk(svc)).toMatch(/^db-0 /);
  });
});
