import { X509Certificate } from 'crypto';
import { mkdirSync, mkdtempSync, renameSync, symlinkSync, writeFileSync } from 'fs';
import { request } from 'https';
import { tmpdir } from 'os';
import { join } from 'path';
import { connect } from 'tls';
import { App, Chart } from 'cdk8s';
import { ensureNamespaces, kubectl, kubectlClean, serverSideApply, startCluster, writeManifests } from './cluster';
import { OperatorProcess, eventually, operatorLock } from './operator-process';
import { FrpOperator } from '../../lib';
import { WEBHOOK_PATHS } from '../../lib/operator/admission';
import { parseOperatorArgs } from '../../lib/operator/options';
import { WEBHOOK_NAMES } from '../../lib/operator/webhook-configuration';
import { admissionReview } from '../helpers/admission-review';
import { useLoopback } from '../helpers/loopback';
import { TEST_IMAGE } from '../operator-deploy/fixtures';
import { tcpSpec } from '../service/invalid-specs';

/**
 * issue 18 §1 in the cluster: FrpOperator's bundle with `webhooks` applied to
 * the test API server, where cert-manager's controller issues the serving
 * certificate and its cainjector (scripts/test-cluster.sh) fills the webhook
 * configurations' caBundle. KWOK plays the operator's pods, so its Service has
 * no endpoint that answers, and the API server would dial the Service's
 * ClusterIP, off loopback: nothing here makes it call the webhooks (no
 * DistributedService is written in the watched namespace; webhook.test.ts
 * shows what a stopped operator means, over loopback). The serving side is
 * `cdk8s-frp operator --webhook-cert-dir` on loopback with the Secret
 * cert-manager issued, called as the API server calls it (that CA, the
 * Service's DNS name).
 */
jest.setTimeout(300_000);
const loopback = useLoopback();

const OP_NS = 'webhook-operator';
const SERVED = 'webhook-served';
const chart = new Chart(new App(), 'operator', { namespace: OP_NS });
const op = new FrpOperator(chart, 'operator', { image: TEST_IMAGE, webhooks: true, watchNamespaces: [SERVED], crd: false });
const docs: any[] = chart.toJson();
const service = op.webhookService!.name;
const certificate = docs.find(d => d.kind === 'Certificate');
const secretName: string = certificate.spec.secretName;
const dnsName = `${service}.${OP_NS}.svc`;
const [mutatingName, validatingName] = ['MutatingWebhookConfiguration', 'ValidatingWebhookConfiguration'].map(k => docs.find(d => d.kind === k).metadata.name);
const dsvc = (name: string, spec: any) => ({ apiVersion: 'frp.io/v1beta1', kind: 'DistributedService', metadata: { name, namespace: SERVED }, spec });

const live = (kind: string, name: string) => JSON.parse(kubectlClean(['get', kind, name, '-o', 'json']));
const secret = () => {
  const r = kubectl(['get', 'secret', secretName, '-n', OP_NS, '-o', 'json']);
  return r.status === 0 ? JSON.parse(r.stdout) : undefined;
};
const decode = (b64: string) => Buffer.from(b64, 'base64').toString('utf8');
/** Both configurations' caBundle (base64), as stored. */
const caBundles = () => [live('mutatingwebhookconfiguration', mutatingName), live('validatingwebhookconfiguration', validatingName)]
  .map(c => c.webhooks[0].clientConfig.caBundle as string | undefined);

beforeAll(() => {
  startCluster();
  ensureNamespaces([...docs, { metadata: { namespace: SERVED } }]);
  const r = serverSideApply(writeManifests('webhook-in-cluster', docs));
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
});

afterAll(() => {
  // they would refuse every change in SERVED, nothing answering
  kubectl(['delete', 'mutatingwebhookconfiguration', mutatingName, '--ignore-not-found']);
  kubectl(['delete', 'validatingwebhookconfiguration', validatingName, '--ignore-not-found']);
});

describe('FrpOperator with webhooks on the API server (cert-manager and its cainjector)', () => {
  test('the configurations call the operator\'s Service on 443, one path each, for the watched namespaces, failing closed', () => {
    for (const [kind, name, webhook, path] of [
      ['mutatingwebhookconfiguration', mutatingName, WEBHOOK_NAMES.mutate, WEBHOOK_PATHS.mutate],
      ['validatingwebhookconfiguration', validatingName, WEBHOOK_NAMES.validate, WEBHOOK_PATHS.validate],
    ]) {
      const c = live(kind, name);
      expect(c.metadata.annotations['cert-manager.io/inject-ca-from']).toBe(`${OP_NS}/${certificate.metadata.name}`);
      expect(c.webhooks).toHaveLength(1);
      expect(c.webhooks[0]).toMatchObject({
        name: webhook,
        clientConfig: { service: { namespace: OP_NS, name: service, path, port: 443 } },
        failurePolicy: 'Fail',
        timeoutSeconds: 10,
        sideEffects: 'None',
        namespaceSelector: { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [SERVED] }] },
      });
    }
    // the Service reaches the pods' webhook port, where the operator listens with the mounted Secret
    const svc = JSON.parse(kubectlClean(['get', 'service', service, '-n', OP_NS, '-o', 'json']));
    expect(svc.spec.ports).toMatchObject([{ port: 443, targetPort: 9443 }]);
    const deployment = JSON.parse(kubectlClean(['get', 'deployment', op.deployment.name, '-n', OP_NS, '-o', 'json']));
    const pod = deployment.spec.template.spec;
    expect(pod.containers[0].args).toEqual(expect.arrayContaining(['--webhook-address', '0.0.0.0:9443', '--webhook-cert-dir', '/var/run/cdk8s-frp/webhook']));
    expect(pod.volumes).toContainEqual(expect.objectContaining({ secret: expect.objectContaining({ secretName }) }));
    // which the operator's own parser reads as the webhooks with that certificate
    expect(parseOperatorArgs(pod.containers[0].args.slice(1))).toMatchObject({
      webhookAddress: { host: '0.0.0.0', port: 9443 }, webhookCertDir: '/var/run/cdk8s-frp/webhook', namespaces: [SERVED],
    });
  });

  test('cert-manager issues the serving certificate for the Service\'s DNS names', async () => {
    await eventually(() => (kubectl(['wait', '--for=condition=Ready', '--timeout=1s', '-n', OP_NS, `certificate/${certificate.metadata.name}`]).status === 0 ? true : undefined),
      () => kubectl(['describe', 'certificate', '-n', OP_NS, certificate.metadata.name]).stdout);
    const s = secret();
    const cert = new X509Certificate(decode(s.data['tls.crt']));
    expect(cert.subjectAltName).toContain(`DNS:${dnsName}`);
    expect(cert.checkHost(dnsName)).toBe(dnsName);
    expect(cert.verify(new X509Certificate(decode(s.data['ca.crt'])).publicKey)).toBe(true);
  });

  test('cainjector fills both configurations\' caBundle with the issued Secret\'s ca.crt', async () => {
    const ca = secret().data['ca.crt'];
    expect(ca).toBeTruthy();
    const bundles = await eventually(() => {
      const b = caBundles();
      return b.every(x => x === ca) ? b : undefined;
    }, () => JSON.stringify(caBundles()));
    expect(bundles).toEqual([ca, ca]);
  });
});

/** The kubelet's layout of a Secret volume: files linked through `..data` to a directory swapped at once. */
function writeSecretVolume(dir: string, files: Record<string, string>, generation: number): void {
  const data = `..${generation}`;
  mkdirSync(join(dir, data));
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, data, name), content);
  symlinkSync(data, join(dir, '..data_tmp'));
  renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
  for (const name of Object.keys(files)) {
    try {
      symlinkSync(join('..data', name), join(dir, name));
    } catch {
      // there from the first generation
    }
  }
}

/** The certificate the server at host:port presents to a client that checks it as the API server does (caBundle, the Service's name). */
function servedCertificate(host: string, port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ca, servername: dnsName }, () => {
      const raw = socket.getPeerCertificate().raw;
      socket.end();
      resolve(new X509Certificate(raw).toString());
    });
    socket.setTimeout(10_000, () => socket.destroy(new Error('TLS handshake timed out')));
    socket.once('error', reject);
  });
}

/** An AdmissionReview POSTed to `path` over that TLS; resolves with the answer. */
function review(host: string, port: number, ca: string, path: string, object: any): Promise<any> {
  const body = JSON.stringify(admissionReview(object));
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: 'POST', ca, servername: dnsName, headers: { 'Content-Type': 'application/json' }, timeout: 10_000 }, res => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => { text += c; });
      res.on('end', () => resolve(JSON.parse(text)));
    });
    req.once('error', reject);
    req.end(body);
  });
}

describe('cdk8s-frp operator --webhook-cert-dir: the Secret cert-manager issued, renewed without a restart', () => {
  let operator: OperatorProcess | undefined;
  let releaseLock: (() => void) | undefined;
  // its controller, even with nothing to render, prunes what the field manager applied elsewhere: one operator test at a time
  beforeAll(async () => {
    releaseLock = await operatorLock();
  }, 1_800_000);
  afterAll(async () => {
    try {
      await operator?.stop();
    } finally {
      releaseLock?.();
    }
  });

  test('serves tls.crt to a client checking it with ca.crt and the Service\'s name, answers an AdmissionReview, and serves the renewed certificate once the volume changes', async () => {
    const first = secret();
    const dir = mkdtempSync(join(tmpdir(), 'cdk8s-frp-webhook-tls-'));
    writeSecretVolume(dir, { 'tls.crt': decode(first.data['tls.crt']), 'tls.key': decode(first.data['tls.key']) }, 1);
    const [port] = await loopback.ports(1);
    // serving a namespace without DistributedServices: its controller has nothing to do
    operator = new OperatorProcess(['--no-leader-election', '--namespace', OP_NS, '--webhook-address', `${loopback.host}:${port}`, '--webhook-cert-dir', dir]);
    expect((await operator.waitFor('webhook listening')).certificateDir).toBe(dir);
    expect(operator.logged('webhooks registered')).toEqual([]); // the configurations are FrpOperator's
    const ca = decode(first.data['ca.crt']);
    expect(await servedCertificate(loopback.host, port, ca)).toBe(new X509Certificate(decode(first.data['tls.crt'])).toString());
    const invalid = { ...dsvc('bad', tcpSpec({ expose: { type: 'port', port: 0 } })), metadata: { name: 'bad', namespace: OP_NS } };
    const answer = await review(loopback.host, port, ca, WEBHOOK_PATHS.validate, invalid);
    expect(answer.response).toMatchObject({ uid: 'u-1', allowed: false, status: { code: 422, reason: 'Invalid' } });
    expect(answer.response.status.details.causes).toEqual([{ reason: 'FieldValueInvalid', field: 'spec.expose.port', message: 'must be from 1 to 65535, got 0' }]);

    // cert-manager issues anew when the Secret is gone (rotationPolicy Always: a new key)
    kubectlClean(['delete', 'secret', secretName, '-n', OP_NS]);
    const second = await eventually(() => {
      const s = secret();
      return s?.data?.['tls.crt'] && s.data['tls.crt'] !== first.data['tls.crt'] ? s : undefined;
    }, () => JSON.stringify(secret()?.metadata));
    expect(second.data['tls.key']).not.toBe(first.data['tls.key']);
    const from = operator.lines.length;
    writeSecretVolume(dir, { 'tls.crt': decode(second.data['tls.crt']), 'tls.key': decode(second.data['tls.key']) }, 2);
    // read on the directory's change (the kubelet's swap), not at the next minute
    expect((await operator.waitFor('webhook certificate reloaded', () => true, from, 30_000)).trigger).toBe('change');
    expect(await servedCertificate(loopback.host, port, decode(second.data['ca.crt']))).toBe(new X509Certificate(decode(second.data['tls.crt'])).toString());
    // and cainjector follows the renewal into both configurations
    await eventually(() => (caBundles().every(b => b === second.data['ca.crt']) ? true : undefined), () => JSON.stringify(caBundles()));
    expect(await operator.stop()).toBe(0);
  });
});
