/**
 * Defect 2 (issue 9), property: every byte string a Secret can hand frp through an
 * environment variable (anything but NUL) reaches frp exactly, or frp refuses to start;
 * it never starts with another value. Bundles are rendered for arbitrary secret bytes
 * (trailing newlines, quotes, backslashes, control characters, `{{`, unicode, invalid
 * UTF-8) and loaded by frp v0.70.1's own code (test/helpers/frp-values: frp's loader and
 * validation, as `verify`), which reports the values frp got; the real `frps/frpc verify`
 * must agree on accept/refuse.
 *
 * - Group keys: frp's groupKey is the hex of the Secret's bytes, on the pods and on an
 *   FrpExternalClient alike (its export script runs against a stand-in kubectl serving
 *   the Secret's data; systemd's EnvironmentFile rules are applied to its frpc.env).
 * - Dashboard credentials and the OIDC client secret (used literally by frp): exactly
 *   the Secret's bytes when they are valid UTF-8; otherwise frp refuses the config
 *   (TOML cannot hold invalid UTF-8), never a changed value.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import * as fc from 'fast-check';
import {
  DistributedService, ServiceProtocol, ExposeType, FrpAuth, FrpExternalClient, FrpServer, NetworkPeer,
} from '../../lib';
import { ByteEnv, frpLoadedValues, FrpValuesResult, frpVerifyBytes } from '../helpers/frp-values';
import { parseSystemdEnvFile, validUtf8 } from '../helpers/systemd-env';

jest.setTimeout(300_000);

const NS = 'apps';

/** Non-empty byte strings built from pieces that used to break configs, and arbitrary bytes; never NUL (the export script refuses an empty Secret value). */
const secretBytes = fc.array(fc.oneof(
  fc.constantFrom('\n', '"', '\\', '{{', '}}', '{{ .Envs.X }}', '\'', '`', '$', '%', '=', '#', ' ', '\t', '\r', '\x01', '\x07', '\x0b', '\x1b', '\x7f',
    '\u0085', '\u2028', 'é', '日本', '😀', '\\u0041', '\\x41').map((s) => Buffer.from(s, 'utf8')),
  fc.uint8Array({ minLength: 1, maxLength: 6 }).map((a) => Buffer.from(a)),
  fc.string({ unit: 'binary', maxLength: 6 }).map((s) => Buffer.from(s, 'utf8')),
), { maxLength: 8 }).map((parts) => Buffer.from(Buffer.concat(parts).filter((b) => b !== 0))).filter((b) => b.length > 0);

/** Values as `kubectl create secret --from-file` leaves them: a trailing newline. */
const EXAMPLES = ['group-key\n', 'p"a\\ss{{\n', '\x01\x07\x0b\x7f', 'é😀\u2028'].map((s) => Buffer.from(s, 'utf8'));

function render(auth: 'token' | 'oidc') {
  const chart = new Chart(Testing.app(), 'c', { namespace: NS });
  const server = new FrpServer(chart, 'frps', {
    auth: auth === 'token'
      ? FrpAuth.token(kplus.Secret.fromSecretName(chart, 'token', 'frp-token'))
      : FrpAuth.oidc({
        issuer: 'https://idp.example.com',
        clientId: 'frpc',
        tokenEndpointUrl: 'https://idp.example.com/token',
        clientSecret: kplus.Secret.fromSecretName(chart, 'oidc', 'oidc'),
      }),
    webServerCredentials: kplus.Secret.fromSecretName(chart, 'web', 'frps-web'),
    externalAccess: { addresses: ['frps.example.com'] },
    clientPeers: [NetworkPeer.cidr('192.0.2.0/24')],
  });
  const svc = new DistributedService(chart, 'db', {
    server,
    serviceType: ServiceProtocol.TCP,
    backends: { replicas: 2, endpoints: [{ host: 'db.apps.svc', port: 5432 }] },
    expose: { type: ExposeType.PORT, port: 15432 },
  });
  const machine = new FrpExternalClient(chart, 'gpu', { server, machine: 'gpu-1' });
  machine.addService(svc);
  const manifests = Testing.synth(chart);
  const toml = (key: string): string => manifests.find((m) => m.kind === 'ConfigMap' && m.data?.[key])!.data[key];
  return { frps: toml('frps.toml'), frpc: toml('frpc.toml'), machine };
}

/** The pod's environment: the Secret bytes given, a plain value for every other `{{ .Envs.X }}`. */
function podEnv(toml: string, secrets: ByteEnv): ByteEnv {
  const env: ByteEnv = {};
  for (const m of toml.matchAll(/\.Envs\.([A-Za-z_][A-Za-z0-9_]*)/g)) env[m[1]] = secrets[m[1]] ?? 'apps.frpc-0';
  return env;
}

/**
 * Runs the machine's export script against a stand-in kubectl that serves each Secret key's
 * base64 data (`<namespace>/<secret>/<key>` → bytes; other keys get "stub") and returns the
 * environment systemd gives frpc from the frpc.env it wrote.
 */
function exportedEnv(machine: FrpExternalClient, secrets: Record<string, Buffer>): Map<string, Buffer> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'frp-export-'));
  try {
    const bin = path.join(dir, 'bin');
    fs.mkdirSync(bin);
    for (const [ref, value] of Object.entries(secrets)) {
      fs.mkdirSync(path.join(dir, 'data', path.dirname(ref)), { recursive: true });
      fs.writeFileSync(path.join(dir, 'data', ref), value.toString('base64'));
    }
    fs.writeFileSync(path.join(bin, 'kubectl'), `#!/bin/sh
# kubectl -n NS get secret NAME -o jsonpath={.data.KEY}
[ "$3" = wait ] && exit 0
key=$(printf '%s' "$7" | sed -e 's/^jsonpath={.data.//' -e 's/}$//' -e 's/\\\\//g')
f="${dir}/data/$2/$5/$key"
if [ -f "$f" ]; then cat "$f"; else printf stub | base64; fi
`, { mode: 0o755 });
    const work = path.join(dir, 'out');
    fs.mkdirSync(work);
    fs.writeFileSync(path.join(work, 'export.sh'), machine.renderExportScript());
    const r = spawnSync('sh', ['export.sh'], { cwd: work, encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin` }, timeout: 30_000 });
    if (r.status !== 0 || r.stdout !== '') throw new Error(`export script: exit ${r.status}\n${r.stdout}${r.stderr}`);
    return parseSystemdEnvFile(fs.readFileSync(path.join(work, 'frpc.env')));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const hex = (b: Buffer) => Buffer.from(b.toString('hex'), 'utf8');

/** The distinct groupKeys frp loaded (every proxy of the config), or the error. */
function groupKeysOf(r: FrpValuesResult): Buffer[] | string {
  if (!r.ok) return r.error;
  const keys = Object.values(r.values.groupKeys ?? {});
  if (keys.length === 0) return 'no proxies';
  return keys.filter((k, i) => keys.findIndex((x) => x.equals(k)) === i);
}

describe('secret bytes reach frp exactly (issue 9, defect 2)', () => {
  const token = render('token');
  const oidc = render('oidc');

  test('group keys: the pods and the external machine give frp the same groupKey (the hex of the Secret bytes); dashboard credentials are the exact bytes or frps refuses', () => {
    const checked = { groupKeys: 0, refusedCredentials: 0 };
    fc.assert(fc.property(secretBytes, secretBytes, secretBytes, (groupKey, user, password) => {
      // frps: the dashboard credentials, used literally
      const serverEnv = podEnv(token.frps, { FRP_WEB_USER: user, FRP_WEB_PASSWORD: password });
      const frps = frpLoadedValues('frps', token.frps, serverEnv);
      expect(frpVerifyBytes('frps', token.frps, serverEnv).ok).toBe(frps.ok);
      if (validUtf8(user) && validUtf8(password)) {
        expect(frps).toEqual({ ok: true, values: expect.objectContaining({ 'webServer.user': user, 'webServer.password': password }) });
      } else {
        expect(frps).toEqual({ ok: false, error: expect.stringMatching(/^toml: line \d+, column \d+: toml: invalid (UTF-8|character U\+)/) });
        checked.refusedCredentials++;
      }
      // the pods: the group key from the Secret, as the kubelet puts it into the environment
      const podEnvValues = podEnv(token.frpc, { FRP_GROUP_KEY: groupKey });
      const pod = frpLoadedValues('frpc', token.frpc, podEnvValues);
      expect(frpVerifyBytes('frpc', token.frpc, podEnvValues).ok).toBe(true);

      // the machine: what its export script wrote, as systemd reads it
      const env = exportedEnv(token.machine, { [`${NS}/db-group-key/group-key`]: groupKey });
      const machineEnv: ByteEnv = Object.fromEntries([...env].filter(([k]) => k.startsWith('FRP_')));
      const external = frpLoadedValues('frpc', token.machine.renderConfig(), machineEnv);
      // every member has the same groupKey: the pods' and the machine's
      expect(groupKeysOf(external)).toEqual(groupKeysOf(pod));
      expect(groupKeysOf(pod)).toEqual([hex(groupKey)]);
      checked.groupKeys++;
    }), { numRuns: 40, examples: EXAMPLES.map((e) => [e, e, e]) });
    expect(checked.groupKeys).toBe(40);
    expect(checked.refusedCredentials).toBeGreaterThan(0); // invalid UTF-8 was generated
  });

  test('every single byte, and the unicode edge cases, as the dashboard password: exact, or refused when not UTF-8', () => {
    const cases: Buffer[] = [];
    for (let b = 1; b < 256; b++) cases.push(Buffer.from([0x61, b, 0x7a]));
    for (const s of ['\u0080', '\u009f', '\u00a0', '\u2028', '\ufeff', '\ufffe', '\uffff', '\u{10ffff}', '\u{e0001}']) cases.push(Buffer.from(`a${s}z`, 'utf8'));
    cases.push(Buffer.from([0xed, 0xa0, 0x80]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xf4, 0x90, 0x80, 0x80])); // a surrogate, overlong, above U+10FFFF
    const outcome = { exact: 0, refused: 0 };
    for (const password of cases) {
      const r = frpLoadedValues('frps', token.frps, podEnv(token.frps, { FRP_WEB_USER: 'u', FRP_WEB_PASSWORD: password }));
      if (validUtf8(password)) {
        expect(r).toEqual({ ok: true, values: expect.objectContaining({ 'webServer.password': password }) });
        outcome.exact++;
      } else {
        expect(r).toEqual({ ok: false, error: expect.stringMatching(/^toml: line \d+, column \d+: toml: invalid (UTF-8|character U\+)/) });
        outcome.refused++;
      }
    }
    // bytes 0x01-0x7f and the unicode cases exact; 0x80-0xff alone and the three broken sequences refused
    expect(outcome).toEqual({ exact: 127 + 9, refused: 128 + 3 });
  });

  test('the OIDC client secret: frpc in a pod and on the machine send the exact Secret bytes, or refuse to start', () => {
    const seen = { exact: 0, refused: 0 };
    fc.assert(fc.property(secretBytes, (secret) => {
      const podEnvValues = podEnv(oidc.frpc, { FRP_OIDC_CLIENT_SECRET: secret, FRP_GROUP_KEY: 'k' });
      const pod = frpLoadedValues('frpc', oidc.frpc, podEnvValues);
      expect(frpVerifyBytes('frpc', oidc.frpc, podEnvValues).ok).toBe(pod.ok);
      const env = exportedEnv(oidc.machine, { [`${NS}/db-group-key/group-key`]: Buffer.from('k'), [`${NS}/oidc/client-secret`]: secret });
      const external = frpLoadedValues('frpc', oidc.machine.renderConfig(), Object.fromEntries([...env]));
      if (validUtf8(secret)) {
        expect(pod).toEqual({ ok: true, values: expect.objectContaining({ 'auth.oidc.clientSecret': secret }) });
        expect(env.get('FRP_OIDC_CLIENT_SECRET')).toEqual(secret);
        expect(external).toEqual({ ok: true, values: expect.objectContaining({ 'auth.oidc.clientSecret': secret }) });
        expect(groupKeysOf(external)).toEqual(groupKeysOf(pod));
        seen.exact++;
      } else {
        // TOML cannot hold it (pod); systemd ignores the variable (machine): frpc does not start
        expect(pod).toEqual({ ok: false, error: expect.stringMatching(/^toml: line \d+, column \d+: toml: invalid (UTF-8|character U\+)/) });
        expect(env.has('FRP_OIDC_CLIENT_SECRET')).toBe(false);
        expect(external.ok).toBe(false);
        seen.refused++;
      }
    }), { numRuns: 40, examples: EXAMPLES.map((e) => [e]) });
    expect(seen.exact).toBeGreaterThan(0);
    expect(seen.refused).toBeGreaterThan(0);
  });
});
