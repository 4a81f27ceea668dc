/**
 * Defect 2 (issue 9): secrets reach frp byte-safe. The real frps and frpc run on
 * the test's own loopback address (test/helpers/loopback.ts) on the configs FrpServer and FrpClientPool render, with Secret values
 * as `kubectl create secret --from-file` writes them (a trailing newline) and with
 * the characters that used to break the TOML (`"`, `\`, `{{`, control characters that
 * Go's %q wrote as `\a`, `\v`, `\xNN`, which TOML lacks).
 */
import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { FrpAuth, FrpClientPool, FrpClientWorkload, FrpProxyType, FrpServer } from '../../lib';
import { expectValidBundle } from '../helpers';
import { FrpRun, httpGet, onlineProxies, waitUntil } from '../helpers/frp-run';
import { frpVerify } from '../helpers/frp-verify';
import { useLoopback } from '../helpers/loopback';
import { frpListenOn } from '../live/harness/listen-on';

jest.setTimeout(60_000);

const loopback = useLoopback();

/** Secret values with every character that breaks a TOML string, ending in a newline. */
const TOKEN = 's3cr"et\\tok{{en}}\n';
const GROUP_KEY = 'gr"oup\\key {{ .Envs.X }}\n';
/** Dashboard credentials, which frp uses literally: also control characters TOML has no short escape for (BEL, VT, DEL) and unicode. */
const WEB_USER = 'ad"min\x01\n';
const WEB_PASSWORD = 'p\\a"ss{{\x07\x0b\x7f\u00e9\u{1F600}\n';

function bundle(ports: { bind: number; web: number; remote: number; admin: number }, serverAddress = '127.0.0.1') {
  const chart = Testing.chart();
  const server = new FrpServer(chart, 'frps', {
    auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 'token', 'frp-token')),
    bindPort: ports.bind,
    webServerPort: ports.web,
    webServerCredentials: kplus.Secret.fromSecretName(chart, 'web', 'frps-web'),
    // frp runs outside the harness here, without the certificates' Secrets (trust: test/live/trust.live.test.ts)
    insecureSkipVerify: true,
  });
  new FrpClientPool(chart, 'frpc', {
    server,
    serverAddress,
    adminPort: ports.admin,
    workload: FrpClientWorkload.deployment({ replicas: 2 }),
    groupKeySecret: kplus.Secret.fromSecretName(chart, 'gk', 'svc-group-key'),
    proxies: [{ name: 'echo', type: FrpProxyType.TCP, localPort: 9, remotePort: ports.remote, group: 'echo' }],
  });
  return Testing.synth(chart);
}

const toml = (manifests: any[], key: string): string => manifests.find(m => m.kind === 'ConfigMap' && m.data?.[key]).data[key];

describe('secrets are byte-safe (issue 9, defect 2)', () => {
  test('frps and frpc read the token from the mounted Secret key (auth.tokenSource, type file), never from the template', () => {
    const manifests = bundle({ bind: 7000, web: 7500, remote: 15000, admin: 7400 });
    expectValidBundle(manifests);
    for (const key of ['frps.toml', 'frpc.toml']) {
      const text = toml(manifests, key);
      expect(text).toContain('[auth.tokenSource]\ntype = "file"');
      expect(text).toContain('path = "/etc/frp/auth/token"');
      expect(text).not.toMatch(/token = /);
    }
    // the dashboard credentials are written byte for byte by the library's template; the group key as hex
    expect(toml(manifests, 'frps.toml')).toContain('user = "{{ template `cdk8s-frp.string` .Envs.FRP_WEB_USER }}"');
    expect(toml(manifests, 'frps.toml')).toContain('password = "{{ template `cdk8s-frp.string` .Envs.FRP_WEB_PASSWORD }}"');
    expect(toml(manifests, 'frpc.toml')).toContain('groupKey = "{{ printf `%x` .Envs.FRP_GROUP_KEY }}"');
    // the token volume holds the token key only
    const frpc = manifests.find(m => m.kind === 'Deployment' && m.metadata.labels['app.kubernetes.io/name'] === 'frpc').spec.template.spec;
    expect(frpc.volumes).toContainEqual({ name: 'frp-token', secret: { secretName: 'frp-token', items: [{ key: 'token', path: 'token' }] } });
    expect(frpc.containers[0].volumeMounts).toContainEqual({ name: 'frp-token', mountPath: '/etc/frp/auth', readOnly: true });
    expect(frpc.containers[0].env.map((e: any) => e.name)).not.toContain('FRP_AUTH_TOKEN');
  });

  test('frp verify accepts the configs whatever the secret values hold', () => {
    const manifests = bundle({ bind: 7000, web: 7500, remote: 15000, admin: 7400 });
    const env = { FRP_WEB_USER: WEB_USER, FRP_WEB_PASSWORD: WEB_PASSWORD, FRP_GROUP_KEY: GROUP_KEY, FRP_USER: 'apps.frpc-0' };
    expect(frpVerify('frps', toml(manifests, 'frps.toml'), env)).toMatchObject({ ok: true });
    expect(frpVerify('frpc', toml(manifests, 'frpc.toml'), env)).toMatchObject({ ok: true });
  });

  test('live: both members log in with a token ending in a newline and join the group with the same key; the dashboard takes the credentials byte for byte (control characters included)', async () => {
    const [bind, web, remote, admin1, admin2, admin3] = await loopback.ports(6);
    const host = loopback.host;
    const run = new FrpRun();
    try {
      // what the kubelet does: the Secret key becomes the file /etc/frp/auth/token; every
      // listener on the test's own address (as the live harness puts it on the pod's)
      const manifests = bundle({ bind, web, remote, admin: admin1 }, host);
      const root = `${run.tmp.dir}/`;
      run.write('token', TOKEN);
      const mounted = (text: string) => frpListenOn(text.split('/etc/frp/auth/').join(root), host)!;
      run.start('frps', mounted(toml(manifests, 'frps.toml')), { FRP_WEB_USER: WEB_USER, FRP_WEB_PASSWORD: WEB_PASSWORD });
      const frpc = mounted(toml(manifests, 'frpc.toml'));
      expect(frpc).toContain(`addr = "${host}"\nport = ${admin1}`);
      run.start('frpc', frpc, { FRP_USER: 'apps.frpc-a', FRP_GROUP_KEY: GROUP_KEY });
      // the second pod of the Deployment (its own admin port: both run on one host here)
      run.start('frpc', frpc.replace(`port = ${admin1}`, `port = ${admin2}`), { FRP_USER: 'apps.frpc-b', FRP_GROUP_KEY: GROUP_KEY });
      const auth = `${WEB_USER}:${WEB_PASSWORD}`;
      await waitUntil(async () => (await onlineProxies(web, 'tcp', auth, host)).length === 2, () => `two members online\n${run.logs()}`);
      expect(await onlineProxies(web, 'tcp', auth, host)).toEqual(['apps.frpc-a.echo', 'apps.frpc-b.echo']);
      // frps took the password byte for byte: without its trailing newline it is refused
      expect((await httpGet(web, '/api/proxy/tcp', `${WEB_USER}:${WEB_PASSWORD.trimEnd()}`, host)).status).toBe(401);
      // a member with another key is refused by the group
      run.start('frpc', frpc.replace(`port = ${admin1}`, `port = ${admin3}`), { FRP_USER: 'apps.frpc-c', FRP_GROUP_KEY: 'other' });
      await waitUntil(async () => /group auth failed|authorization failed/.test(run.logs()), () => `frpc-c refused\n${run.logs()}`);
      expect(await onlineProxies(web, 'tcp', auth, host)).toEqual(['apps.frpc-a.echo', 'apps.frpc-b.echo']);
    } finally {
      await run.stop();
    }
  });
});
