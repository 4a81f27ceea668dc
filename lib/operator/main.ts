import { randomBytes } from 'crypto';
import { existsSync, readFileSync } from 'fs';
import { createServer, Server } from 'http';
import { hostname } from 'os';
import * as k8s from '@kubernetes/client-node';
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { OPERATOR_METRICS } from '../operator-metrics-names';
import { Controller } from './controller';
import { apiMessage, Kube, statusCode } from './kube';
import { LeaderElector, LeaseSpec, LeaseStore } from './leader';
import { OPERATOR_USAGE, OperatorOptions, parseOperatorArgs } from './options';
import { OperatorWebhooks, startOperatorWebhooks } from './webhook';

/** The Lease's name (contract 2). @internal */
export const LEASE_NAME = 'cdk8s-frp-operator';
const SERVICE_ACCOUNT_NAMESPACE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** A log line: JSON on stderr (what a pod's log collector wants). */
function log(msg: string, fields: object = {}): void {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), msg, ...fields })}\n`);
}

/** The Lease through the API server. */
function leaseStore(kube: Kube, namespace: string): LeaseStore {
  const ref = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: LEASE_NAME, namespace } };
  const asString = (v: unknown) => (v instanceof Date ? v.toISOString().replace(/Z$/, '000Z') : v as string | undefined);
  return {
    async get() {
      const got: any = await kube.read(ref as any);
      if (!got) return undefined;
      const spec: LeaseSpec = { ...got.spec, acquireTime: asString(got.spec?.acquireTime), renewTime: asString(got.spec?.renewTime) };
      return { spec, resourceVersion: got.metadata.resourceVersion };
    },
    async create(spec) {
      await kube.create({ ...ref, spec } as any);
    },
    async update(spec, resourceVersion) {
      await kube.replace({ ...ref, metadata: { ...ref.metadata, resourceVersion }, spec } as any);
    },
  };
}

function listen(server: Server, address: { host: string; port: number }, what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(address.port, address.host, () => {
      const a = server.address();
      log(`${what} listening`, { address: typeof a === 'object' && a ? `${a.address}:${a.port}` : String(a) });
      resolve();
    });
  });
}

/**
 * `cdk8s-frp operator ...`: runs until SIGTERM/SIGINT (exit 0) or a lost
 * Lease (exit 1). Resolves with the exit code.
 * @internal
 */
export async function operatorMain(argv: string[], out: (s: string) => void, err: (s: string) => void): Promise<number> {
  let options: OperatorOptions;
  try {
    const parsed = parseOperatorArgs(argv);
    if (parsed === 'help') {
      out(`${OPERATOR_USAGE}\n`);
      return 0;
    }
    options = parsed;
  } catch (e) {
    err(`cdk8s-frp operator: ${(e as Error).message}\n${OPERATOR_USAGE}\n`);
    return 1;
  }
  const kc = new k8s.KubeConfig();
  if (options.kubeconfig) kc.loadFromFile(options.kubeconfig);
  else kc.loadFromDefault();
  const inCluster = existsSync(SERVICE_ACCOUNT_NAMESPACE);
  const leaseNamespace = options.leaderElectionNamespace ?? (inCluster ? readFileSync(SERVICE_ACCOUNT_NAMESPACE, 'utf8').trim() : undefined);
  if (options.leaderElection && !leaseNamespace) {
    err('cdk8s-frp operator: --leader-election-namespace NS is needed outside a cluster (or --no-leader-election)\n');
    return 1;
  }
  const podName = process.env.POD_NAME ?? hostname();
  const identity = `${podName}_${randomBytes(4).toString('hex')}`;
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const leader = new Gauge({ name: OPERATOR_METRICS.leader, help: '1 while this replica holds the leader Lease', registers: [registry] });
  const kube = new Kube(kc, registry);
  const controller = new Controller(kube, options, registry, podName, log);
  const elector = options.leaderElection ? new LeaderElector(leaseStore(kube, leaseNamespace!), identity) : undefined;

  let standby = true;
  const servers: Server[] = [];
  if (options.healthAddress) {
    const health = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      // ready: the caches are synced and the first reconcile ran, or waiting for the Lease (a standby replica)
      const ok = path === '/healthz' || (path === '/readyz' && (controller.ready || (elector !== undefined && standby)));
      res.writeHead(path === '/healthz' || path === '/readyz' ? (ok ? 200 : 503) : 404, { 'Content-Type': 'text/plain' });
      res.end(ok ? 'ok\n' : 'not ready\n');
    });
    servers.push(health);
    await listen(health, options.healthAddress, 'health');
  }
  if (options.metricsAddress) {
    const metrics = createServer((req, res) => {
      if ((req.url ?? '').split('?')[0] !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      registry.metrics().then(text => {
        res.writeHead(200, { 'Content-Type': registry.contentType });
        res.end(text);
      }, e => res.writeHead(500).end(String(e)));
    });
    servers.push(metrics);
    await listen(metrics, options.metricsAddress, 'metrics');
  }
  // every replica answers the webhooks, leader or standby (they only read)
  let webhooks: OperatorWebhooks | undefined;
  if (options.webhookAddress) {
    try {
      webhooks = await startOperatorWebhooks(kc, {
        address: options.webhookAddress,
        certificateDir: options.webhookCertDir,
        namespaces: options.namespaces,
        bundle: options.bundle,
        log,
      });
    } catch (e) {
      log('webhooks failed', { error: apiMessage(e), code: statusCode(e) });
      for (const s of servers) s.close();
      return 1;
    }
  }

  return new Promise<number>(resolve => {
    let ending = false;
    const end = async (code: number, why: string) => {
      if (ending) return;
      ending = true;
      log('stopping', { why });
      await controller.stop().catch(e => log('stop failed', { error: apiMessage(e) }));
      await elector?.stop().catch(() => undefined);
      leader.set(0);
      // outside the cluster this removes the registration: a URL to a stopped process would refuse every change
      await webhooks?.stop().catch(e => log('webhooks stop failed', { error: apiMessage(e) }));
      for (const s of servers) s.close();
      log('stopped', { code });
      resolve(code);
    };
    process.once('SIGTERM', () => void end(0, 'SIGTERM'));
    process.once('SIGINT', () => void end(0, 'SIGINT'));
    const run = async () => {
      if (elector) {
        log('waiting for the Lease', { lease: `${leaseNamespace}/${LEASE_NAME}`, identity });
        await elector.run(() => void end(1, 'leader election lost'));
        log('leading', { identity });
      }
      standby = false;
      leader.set(1);
      if (ending) return;
      await controller.start();
      log('started', { namespaces: options.namespaces.length > 0 ? options.namespaces : 'all' });
    };
    run().catch(e => {
      log('failed', { error: apiMessage(e), code: statusCode(e) });
      void end(1, 'start failed');
    });
  });
}
