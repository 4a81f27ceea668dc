import { FSWatcher, readFileSync, watch } from 'fs';
import { createServer, Server } from 'https';
import { isIP } from 'net';
import * as k8s from '@kubernetes/client-node';
import { generate } from 'selfsigned';
import { AdmissionContext, mutateReview, validateReview, WEBHOOK_PATHS } from './admission';
import { WEBHOOK_FIELD_MANAGER, webhookConfigurations } from './webhook-configuration';
import type { BundleOptions } from '../bundle/distributed-service-bundle';

/**
 * The operator's admission webhooks (issue 18 §1): an HTTPS server answering
 * AdmissionReviews on WEBHOOK_PATHS, its serving certificate outside the
 * cluster, and the Validating/MutatingWebhookConfiguration registering it
 * with a URL to itself. In the cluster, FrpOperator renders the
 * configurations (pointing at the operator's Service) and cert-manager the
 * certificate (lib/operator-deploy).
 */

/** A PEM serving certificate, its key and the CA that signed it. @internal */
export interface ServingCertificate {
  readonly cert: string;
  readonly key: string;
  /** The CA certificate (PEM): the configurations' caBundle. */
  readonly ca: string;
}

/**
 * A CA of its own (self-signed, a day) and a serving certificate for `host`
 * (an IP or DNS name) it signs: for the operator outside the cluster. The
 * key never leaves the process. Uses `selfsigned` (X.509 through
 * @peculiar/x509 and WebCrypto) rather than hand-written ASN.1. @internal
 */
export async function selfSignedServingCertificate(host: string, now = new Date()): Promise<ServingCertificate> {
  const notAfterDate = new Date(now.getTime() + 24 * 3600 * 1000);
  const notBeforeDate = new Date(now.getTime() - 60 * 1000); // clock skew
  const ca = await generate([{ name: 'commonName', value: 'cdk8s-frp-operator webhook CA' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: true, pathLenConstraint: 0, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
    ],
  });
  const serving = await generate([{ name: 'commonName', value: host }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate,
    notAfterDate,
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [isIP(host) ? { type: 7, ip: host } : { type: 2, value: host }] },
    ],
  });
  return { cert: serving.cert, key: serving.private, ca: ca.cert };
}

/** What the webhook server needs. @internal */
export interface WebhookServerOptions {
  readonly host: string;
  /** 0: any free port. */
  readonly port: number;
  readonly certificate: ServingCertificate;
  /**
   * A directory with tls.crt and tls.key (cert-manager's Secret, mounted) read
   * again when it changes (the kubelet swaps the `..data` link of a Secret
   * volume) and every minute besides: a renewed certificate is served from the
   * next connection on, without a restart.
   * @default - the certificate stays as given
   */
  readonly certificateDir?: string;
  /** The operator's bundle options. */
  readonly bundle: BundleOptions;
  /** The other DistributedServices the operator serves, as stored (the controller's cache, or a list). */
  readonly others: () => Promise<readonly any[]>;
  /** A line of log (JSON fields). */
  readonly log?: (msg: string, fields?: object) => void;
}

/** The largest AdmissionReview read (the API server's own request limit is 3 MiB). */
const MAX_BODY = 3 * 1024 * 1024;

/**
 * The HTTPS server of the webhooks. `start()` listens; `stop()` closes it and
 * every connection (keep-alive ones of the API server too). @internal
 */
export class WebhookServer {
  private readonly server: Server;
  private readonly sockets = new Set<import('net').Socket>();
  private reloader?: ReturnType<typeof setInterval>;
  private watcher?: FSWatcher;
  private settle?: ReturnType<typeof setTimeout>;
  private served: ServingCertificate;

  constructor(private readonly options: WebhookServerOptions) {
    this.served = options.certificate;
    this.server = createServer({ cert: options.certificate.cert, key: options.certificate.key, minVersion: 'TLSv1.2' }, (req, res) => {
      const path = (req.url ?? '').split('?')[0];
      const handler = path === WEBHOOK_PATHS.validate ? validateReview : path === WEBHOOK_PATHS.mutate ? mutateReview : undefined;
      if (!handler || req.method !== 'POST') {
        res.writeHead(handler ? 405 : 404, { 'Content-Type': 'text/plain' }).end(handler ? 'POST only\n' : 'not found\n');
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) req.destroy();
        else chunks.push(c);
      });
      req.on('end', () => {
        void this.handle(handler, Buffer.concat(chunks).toString('utf8')).then(([code, body]) => {
          res.writeHead(code, { 'Content-Type': 'application/json' }).end(body);
        });
      });
    });
    this.server.on('secureConnection', s => {
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    });
  }

  private async handle(handler: typeof validateReview, text: string): Promise<[number, string]> {
    let review: any;
    try {
      review = JSON.parse(text);
    } catch {
      return [400, JSON.stringify({ error: 'the body is not JSON' })];
    }
    try {
      const context: AdmissionContext = { bundle: this.options.bundle, others: await this.options.others() };
      const answer = handler(review, context);
      const r = review?.request;
      this.options.log?.('admission', {
        webhook: handler === validateReview ? 'validate' : 'mutate',
        object: `${r?.namespace}/${r?.name ?? r?.object?.metadata?.name}`,
        operation: r?.operation,
        allowed: answer.response.allowed,
        ...(answer.response.status ? { causes: answer.response.status.details?.causes?.length } : {}),
      });
      return [200, JSON.stringify(answer)];
    } catch (e) {
      // the API server applies failurePolicy (Fail): the object is refused
      this.options.log?.('admission failed', { error: String((e as Error)?.message ?? e) });
      return [500, JSON.stringify({ error: String((e as Error)?.message ?? e) })];
    }
  }

  /** Serves `certificate` from the next connection on (a renewal); `trigger` says what read it, for the log. */
  reload(certificate: ServingCertificate, trigger = 'reload'): boolean {
    if (certificate.cert === this.served.cert && certificate.key === this.served.key) return false;
    this.server.setSecureContext({ cert: certificate.cert, key: certificate.key, minVersion: 'TLSv1.2' });
    this.served = certificate;
    this.options.log?.('webhook certificate reloaded', { trigger });
    return true;
  }

  /** Listens; resolves with the port. */
  start(): Promise<number> {
    const dir = this.options.certificateDir;
    if (dir) {
      const readAgain = (trigger: string) => {
        try {
          this.reload(servingCertificateFromDir(dir), trigger);
        } catch (e) {
          // between the two files of a renewal, or the directory being replaced: the next event or minute reads it again
          this.options.log?.('webhook certificate not readable', { dir, error: String((e as Error)?.message ?? e) });
        }
      };
      this.reloader = setInterval(() => readAgain('minute'), 60_000);
      this.reloader.unref();
      try {
        // a change comes as several events (two files, or the kubelet's links): read once they settle
        this.watcher = watch(dir, () => {
          if (this.settle) clearTimeout(this.settle);
          this.settle = setTimeout(() => readAgain('change'), 200);
        });
        this.watcher.on('error', () => this.watcher?.close()); // the minute's reading stays
      } catch (e) {
        this.options.log?.('webhook certificate directory not watched', { dir, error: String((e as Error)?.message ?? e) });
      }
    }
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        const a = this.server.address();
        resolve(typeof a === 'object' && a ? a.port : this.options.port);
      });
    });
  }

  /** Stops listening and closes every open connection. */
  stop(): Promise<void> {
    if (this.reloader) clearInterval(this.reloader);
    if (this.settle) clearTimeout(this.settle);
    this.watcher?.close();
    return new Promise(resolve => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }
}

/** The serving certificate of cert-manager's Secret mounted at `dir` (tls.crt, tls.key; the CA is cainjector's business). @internal */
export function servingCertificateFromDir(dir: string): ServingCertificate {
  return { cert: readFileSync(`${dir}/tls.crt`, 'utf8'), key: readFileSync(`${dir}/tls.key`, 'utf8'), ca: '' };
}

/** `https://HOST:PORT` (IPv6 in brackets). @internal */
export function webhookUrl(host: string, port: number): string {
  return `https://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/**
 * Registers `configurations` with server-side apply under the operator's
 * field manager (forced: the operator owns them). @internal
 */
export async function registerWebhooks(kc: k8s.KubeConfig, configurations: readonly any[]): Promise<void> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  for (const c of configurations) {
    await api.patch(c, undefined, undefined, WEBHOOK_FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
  }
}

const clientUrls = (c: any): string => JSON.stringify((c?.webhooks ?? []).map((w: any) => w?.clientConfig?.url ?? null));

/**
 * Removes the configurations (the operator outside the cluster, stopping: a
 * URL to nowhere would refuse every change), each only while it still points
 * at this process: one registered since by another operator (the same name, a
 * URL of its own) stays. Returns the names of those left. @internal
 */
export async function unregisterWebhooks(kc: k8s.KubeConfig, configurations: readonly any[]): Promise<string[]> {
  const api = k8s.KubernetesObjectApi.makeApiClient(kc);
  const left: string[] = [];
  for (const c of configurations) {
    const ref = { apiVersion: c.apiVersion, kind: c.kind, metadata: { name: c.metadata.name } };
    try {
      const live: any = await api.read(ref);
      if (clientUrls(live) !== clientUrls(c)) {
        left.push(`${c.kind}/${c.metadata.name}`);
        continue;
      }
      // the resourceVersion read: a registration in between is not deleted
      const preconditions = { resourceVersion: live.metadata.resourceVersion };
      await api.delete(ref, undefined, undefined, undefined, undefined, undefined, { preconditions });
    } catch (e) {
      const code = (e as any)?.code;
      if (code === 409) left.push(`${c.kind}/${c.metadata.name}`);
      else if (code !== 404) throw e;
    }
  }
  return left;
}

/**
 * The DistributedServices in `namespaces` (every namespace when empty), listed
 * from the API server: the webhook's view of the cluster when no controller
 * cache is at hand. @internal
 */
export function listDistributedServices(kc: k8s.KubeConfig, namespaces: readonly string[]): () => Promise<any[]> {
  const api = kc.makeApiClient(k8s.CustomObjectsApi);
  const group = 'frp.io';
  const version = 'v1beta1';
  const plural = 'distributedservices';
  return async () => {
    if (namespaces.length === 0) return ((await api.listClusterCustomObject({ group, version, plural })) as any).items ?? [];
    const lists = await Promise.all(namespaces.map(namespace => api.listNamespacedCustomObject({ group, version, namespace, plural })));
    return lists.flatMap((l: any) => l.items ?? []);
  };
}

/** What `cdk8s-frp operator --webhook-address HOST:PORT` runs outside the cluster. @internal */
export interface LocalWebhooks {
  readonly server: WebhookServer;
  readonly port: number;
  readonly configurations: any[];
  /** Stops the server and removes the registration. */
  stop(): Promise<void>;
}

/**
 * The webhooks outside the cluster: a CA and serving certificate of their
 * own, the server on host:port, and the configurations registered with a URL
 * to it. `stop()` removes the registration, then stops the server. @internal
 */
export async function startLocalWebhooks(kc: k8s.KubeConfig, options: {
  readonly host: string;
  readonly port: number;
  readonly namespaces: readonly string[];
  readonly bundle: BundleOptions;
  readonly others?: () => Promise<readonly any[]>;
  readonly log?: (msg: string, fields?: object) => void;
  /** Name of the configurations. @default WEBHOOK_CONFIGURATION_NAME */
  readonly name?: string;
}): Promise<LocalWebhooks> {
  const certificate = await selfSignedServingCertificate(options.host);
  const server = new WebhookServer({
    host: options.host,
    port: options.port,
    certificate,
    bundle: options.bundle,
    others: options.others ?? listDistributedServices(kc, options.namespaces),
    log: options.log,
  });
  const port = await server.start();
  const client = { url: webhookUrl(options.host, port), caBundle: certificate.ca };
  const configurations = webhookConfigurations(client, { namespaces: options.namespaces, name: options.name });
  try {
    await registerWebhooks(kc, configurations);
  } catch (e) {
    await server.stop();
    throw e;
  }
  options.log?.('webhooks registered', { url: webhookUrl(options.host, port), name: configurations[0].metadata.name });
  return {
    server,
    port,
    configurations,
    stop: async () => {
      try {
        const left = await unregisterWebhooks(kc, configurations);
        if (left.length > 0) options.log?.('webhooks registered by another process left', { configurations: left });
        else options.log?.('webhooks unregistered', { name: configurations[0].metadata.name });
      } finally {
        await server.stop();
      }
    },
  };
}

/** The webhooks `cdk8s-frp operator --webhook-address` runs. @internal */
export interface OperatorWebhooks {
  readonly port: number;
  /** Stops serving (and, outside the cluster, removes the registration first). */
  stop(): Promise<void>;
}

/**
 * `cdk8s-frp operator --webhook-address HOST:PORT [--webhook-cert-dir DIR]`:
 * with DIR (in a pod), the server with cert-manager's certificate, read again
 * when it changes (the configurations are FrpOperator's); without, the
 * webhooks outside the cluster (startLocalWebhooks). The others a request is
 * checked against are listed from the API server at each request, so every
 * replica answers alike, leader or not. @internal
 */
export async function startOperatorWebhooks(kc: k8s.KubeConfig, options: {
  readonly address: { readonly host: string; readonly port: number };
  readonly certificateDir?: string;
  readonly namespaces: readonly string[];
  readonly bundle: BundleOptions;
  readonly log: (msg: string, fields?: object) => void;
}): Promise<OperatorWebhooks> {
  const { host } = options.address;
  const others = listDistributedServices(kc, options.namespaces);
  let webhooks: OperatorWebhooks;
  if (options.certificateDir !== undefined) {
    const server = new WebhookServer({
      host,
      port: options.address.port,
      certificate: servingCertificateFromDir(options.certificateDir),
      certificateDir: options.certificateDir,
      bundle: options.bundle,
      others,
      log: options.log,
    });
    webhooks = { port: await server.start(), stop: () => server.stop() };
  } else {
    const { namespaces, bundle, log } = options;
    webhooks = await startLocalWebhooks(kc, { host, port: options.address.port, namespaces, bundle, others, log });
  }
  options.log('webhook listening', { address: `${webhookUrl(host, webhooks.port).slice('https://'.length)}`, certificateDir: options.certificateDir ?? 'its own' });
  return webhooks;
}
