/**
 * Defect 2 (issue 9), live, for a secret frp uses literally: the OIDC client secret.
 * The real frpc (in a pod's place, and as the machine outside the cluster with the
 * environment its export script and systemd give it) fetches a token from a stand-in
 * OIDC provider on 127.0.0.1 with a client secret holding `"`, `\`, `{{`, control
 * characters, unicode and the trailing newline of `kubectl create secret --from-file`;
 * the provider issues a token only for exactly those bytes, and the real frps verifies it
 * against the provider's keys. Before the fix frpc could not even parse its config
 * (Go's %q wrote `\a`, which TOML lacks).
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as net from 'net';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  DistributedService, ExposeType, FrpAuth, FrpExternalClient, FrpServer, NetworkPeer, ServiceProtocol,
} from '../../lib';
import { expectValidBundle } from '../helpers';
import { FrpRun, onlineProxies, waitUntil } from '../helpers/frp-run';
import { useLoopback } from '../helpers/loopback';
import { parseSystemdEnvFile } from '../helpers/systemd-env';
import { frpListenOn } from '../live/harness/listen-on';

jest.setTimeout(90_000);

const loopback = useLoopback();

const CLIENT_SECRET = Buffer.from('c"li\\ent{{ .Envs.X }}\x07\x0b\x7f\u00e9\u{1F600}\n', 'utf8');

/** Percent-decoding to bytes (what Go's url.QueryUnescape does, `+` as a space). */
function unescape(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') { out.push(parseInt(s.slice(i + 1, i + 3), 16)); i += 2; } else if (s[i] === '+') {out.push(0x20);} else {out.push(...Buffer.from(s[i], 'utf8'));}
  }
  return Buffer.from(out);
}

/**
 * A minimal OIDC provider: discovery, JWKS and a client-credentials token endpoint that
 * answers only for client `frpc` with exactly CLIENT_SECRET (basic auth or form, as Go's
 * oauth2 sends it); records the secrets it was sent.
 */
async function provider(): Promise<{ issuer: string; seen: Buffer[]; close: () => Promise<void> }> {
  const { privateKey, publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'k1', alg: 'RS256', use: 'sig' };
  const seen: Buffer[] = [];
  let issuer = '';
  const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      const json = (status: number, v: unknown) => { res.writeHead(status, { 'content-type': 'application/json' }); res.end(JSON.stringify(v)); };
      if (req.url === '/.well-known/openid-configuration') {
        return json(200, {
          issuer,
          jwks_uri: `${issuer}/jwks`,
          token_endpoint: `${issuer}/token`,
          authorization_endpoint: `${issuer}/auth`,
          id_token_signing_alg_values_supported: ['RS256'],
          response_types_supported: ['token'],
          subject_types_supported: ['public'],
        });
      }
      if (req.url === '/jwks') return json(200, { keys: [jwk] });
      if (req.url === '/token' && req.method === 'POST') {
        const form = new URLSearchParams(body);
        let id = form.get('client_id') ?? '';
        let secret = unescape(body.split('&').find((p) => p.startsWith('client_secret='))?.slice('client_secret='.length) ?? '');
        const basic = /^Basic (.+)$/.exec(req.headers.authorization ?? '');
        if (basic) {
          const [u, p] = Buffer.from(basic[1], 'base64').toString('latin1').split(':');
          id = unescape(u).toString('utf8');
          secret = unescape(p);
        }
        seen.push(secret);
        if (id !== 'frpc' || !secret.equals(CLIENT_SECRET)) return json(401, { error: 'invalid_client' });
        const now = Math.floor(Date.now() / 1000);
        const unsigned = `${b64url(JSON.stringify({ alg: 'RS256', kid: 'k1', typ: 'JWT' }))}.${b64url(JSON.stringify({ iss: issuer, sub: 'frpc', iat: now, exp: now + 3600 }))}`;
        const sig = crypto.sign('RSA-SHA256', Buffer.from(unsigned), privateKey);
        return json(200, { access_token: `${unsigned}.${b64url(sig)}`, token_type: 'Bearer', expires_in: 3600 });
      }
      json(404, {});
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  issuer = `http://127.0.0.1:${(server.address() as any).port}`;
  return { issuer, seen, close: () => new Promise<void>((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

test('live: frpc in a pod and on a machine send the OIDC client secret byte for byte; frps accepts the token', async () => {
  const idp = await provider();
  // frps on the test's own address; both frpc serve their admin API on 127.0.0.1 as rendered
  const [bind, web, remote] = await loopback.ports(3);
  const [admin1, admin2] = loopback.localhostPorts(2);
  const host = loopback.host;
  const run = new FrpRun();
  // the backend both members forward to (their health check dials it)
  // (frpc's tcp health check may reset its connection: an unhandled socket error would fail the suite)
  const backend = net.createServer((s) => { s.on('error', () => undefined); s.end('echo\n'); });
  await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
  const backendPort = (backend.address() as net.AddressInfo).port;
  try {
    const chart = new Chart(Testing.app(), 'c', { namespace: 'apps' });
    const clientSecret = kplus.Secret.fromSecretName(chart, 'oidc', 'frpc-oidc');
    const server = new FrpServer(chart, 'frps', {
      auth: FrpAuth.oidc({ issuer: idp.issuer, clientId: 'frpc', clientSecret, tokenEndpointUrl: `${idp.issuer}/token` }),
      bindPort: bind,
      webServerPort: web,
      externalAccess: { addresses: [host] },
      clientPeers: [NetworkPeer.cidr('127.0.0.0/8')],
      // frp runs outside the harness here, without the certificates' Secrets (trust: test/live/trust.live.test.ts)
      insecureSkipVerify: true,
    });
    const svc = new DistributedService(chart, 'echo', {
      server,
      serviceType: ServiceProtocol.TCP,
      backends: { replicas: 1, endpoints: [{ host: '127.0.0.1', port: backendPort }] },
      expose: { type: ExposeType.PORT, port: remote },
    });
    const machine = new FrpExternalClient(chart, 'gpu', { server, machine: 'gpu-1', serverAddress: host, serverPort: bind, adminPort: admin2 });
    machine.addService(svc);
    const manifests = Testing.synth(chart);
    expectValidBundle(manifests);
    const toml = (key: string): string => manifests.find((m) => m.kind === 'ConfigMap' && m.data?.[key])!.data[key];
    run.start('frps', frpListenOn(toml('frps.toml'), host)!);
    // the pod: the Secret value as the kubelet puts it into the environment
    // (as the harness does: the frps Service's address is the test's own here)
    const pod = toml('frpc.toml').replace(/^serverAddr = ".*"$/m, `serverAddr = "${host}"`).replace(/^port = \d+$/m, `port = ${admin1}`);
    expect(pod).toContain(`serverAddr = "${host}"`);
    run.start('frpc', pod, { FRP_USER: 'apps.echo-frpc-a', FRP_OIDC_CLIENT_SECRET: CLIENT_SECRET.toString('utf8'), FRP_GROUP_KEY: 'k\n' });
    // the machine: the environment systemd gives frpc from the frpc.env its export script wrote
    const dir = run.tmp.dir;
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    fs.writeFileSync(path.join(bin, 'kubectl'), `#!/bin/sh
case "$5" in frpc-oidc) printf '%s' '${CLIENT_SECRET.toString('base64')}';; *-group-key) printf 'k\\n' | base64;; esac
`, { mode: 0o755 });
    fs.writeFileSync(path.join(dir, 'export.sh'), machine.renderExportScript());
    const exported = spawnSync('sh', ['export.sh'], { cwd: dir, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` }, timeout: 30_000 });
    expect({ status: exported.status, stderr: exported.stderr }).toEqual({ status: 0, stderr: '' });
    const env = Object.fromEntries([...parseSystemdEnvFile(fs.readFileSync(path.join(dir, 'frpc.env')))].map(([k, v]) => [k, v.toString('utf8')]));
    run.start('frpc', machine.renderConfig(), env);

    await waitUntil(async () => (await onlineProxies(web, 'tcp', undefined, host)).length === 2, () => `two members online\n${run.logs()}`, 30_000);
    expect(await onlineProxies(web, 'tcp', undefined, host)).toEqual(['apps.echo-frpc-a.echo-0', 'gpu-1.echo']);
    // every secret the provider was sent is the Secret's exact bytes
    expect(idp.seen.length).toBeGreaterThanOrEqual(2);
    expect(idp.seen.filter((s) => !s.equals(CLIENT_SECRET))).toEqual([]);
  } finally {
    await run.stop();
    await idp.close();
    await new Promise<void>((r) => backend.close(() => r()));
  }
});
