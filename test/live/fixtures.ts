/**
 * Shared set-up for the live suites: a chart with a token Secret, synthesis, and user
 * backends on their own loopback addresses.
 */
import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { DistributedService, DistributedServiceProps, FrpAuth } from '../../lib';
import { expectValidBundle } from '../helpers';
import { httpRequest } from './harness/backends';
import { Closeable, ExternalPod, LiveCluster } from './harness/cluster';

export const NS = 'apps';
/** The frpc<->frps token (test/live/security.live.test.ts also tries one ending in a newline). */
export const TOKEN = 'live-test-token';

/** Synthesizes one or more DistributedServices in namespace `apps`; the bundle must pass every static check first. */
export function bundleOf(services: Record<string, Omit<DistributedServiceProps, 'auth'>>, build?: (chart: Chart, auth: FrpAuth) => void): any[] {
  const app = Testing.app();
  const chart = new Chart(app, 'live', { namespace: NS });
  const auth = FrpAuth.token(kplus.Secret.fromSecretName(chart, 'frp-token', 'frp-token'));
  let server: DistributedServiceProps['server'];
  for (const [name, props] of Object.entries(services)) {
    const s = new DistributedService(chart, name, { ...(server ? { server } : { auth }), ...props } as DistributedServiceProps);
    server = s.server;
  }
  build?.(chart, auth);
  const manifests = Testing.synth(chart);
  expectValidBundle(manifests);
  noteGroupKeys(manifests);
  return manifests;
}

/**
 * A group key as a person might paste it: quotes, a backslash, `{{` and the trailing
 * newline `kubectl create secret --from-file` writes (frp reads it byte-safe).
 */
export const GROUP_KEY = 'gr"oup\\key{{\n';

/** `<namespace>/<name>` of the group key Secrets that the bundles built here read. */
const groupKeySecrets = new Map<string, string>();

/** Remembers the `<service>-group-key` Secrets a bundle's pods read (fixtureSecrets fills them). */
function noteGroupKeys(manifests: readonly any[]): void {
  for (const m of manifests) {
    for (const c of m?.spec?.template?.spec?.containers ?? []) {
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && /-group-key$/.test(ref.name)) groupKeySecrets.set(`${m.metadata.namespace ?? NS}/${ref.name}`, ref.key);
      }
    }
  }
}

/**
 * Every Secret a bundle's pods name, with test values: the token, a group key for
 * each `<service>-group-key` Secret of the bundles built by bundleOf, plus `extra`.
 */
export function fixtureSecrets(extra: Record<string, Record<string, string | Buffer>> = {}): Record<string, Record<string, string | Buffer>> {
  const groupKeys: Record<string, Record<string, string>> = {};
  for (const [secret, key] of groupKeySecrets) groupKeys[secret] = { [key]: GROUP_KEY };
  return { [`${NS}/frp-token`]: { token: TOKEN }, ...groupKeys, ...extra };
}

/** Backends outside the bundle, each on its own address; closed by `closeAll`. */
export class Backends {
  public readonly running: Closeable[] = [];
  private next = 1;
  constructor(private readonly base: number) {}


  /** A fresh address for a backend (127.B.4.N). */
  public address(): string {
    return `127.${this.base}.4.${this.next++}`;
  }

  public async add<T extends Closeable>(b: Promise<T>): Promise<T> {
    const x = await b;
    this.running.push(x);
    return x;
  }

  /** An external pod entry for a backend at `ip` (for selector discovery). */
  public pod(name: string, ip: string, labels: Record<string, string>, ready?: () => boolean): ExternalPod {
    return { name, namespace: NS, ip, labels, ready };
  }

  public async closeAll(): Promise<void> {
    await Promise.all(this.running.splice(0).map((b) => b.close()));
  }
}

/** The Service that fronts the frps vhost port (http). */
export function vhostService(c: LiveCluster) {
  return c.findService('with an http port to frps', (s) => s.spec.ports?.some((p: any) => p.name === 'http') && s.metadata.labels?.['app.kubernetes.io/name'] === 'frps');
}

/** The Service exposing a tcp/udp remote port. */
export function remotePortService(c: LiveCluster, port: number) {
  return c.findService(`exposing port ${port}`, (s) => s.spec.ports?.some((p: any) => p.port === port) && !s.spec.ports.some((p: any) => p.name === 'control'));
}

/** The frps metrics endpoint (webServer port, named `metrics`). */
export function metricsService(c: LiveCluster) {
  return c.findService('with frps metrics', (s) => s.spec.ports?.some((p: any) => p.name === 'metrics') && s.metadata.labels?.['app.kubernetes.io/name'] === 'frps');
}

/** Scrapes the live frps `/metrics` through its Service (the way Prometheus would). */
export async function scrapeFrps(c: LiveCluster): Promise<string> {
  const r = await httpRequest({ ...c.address(metricsService(c), 'metrics'), path: '/metrics', timeoutMs: 3000 });
  if (r.status !== 200) throw new Error(`frps /metrics answered ${r.status}: ${r.body.slice(0, 200)}`);
  return r.body;
}

/** Online proxies frps reports (`frp_server_proxy_counts_detailed`), by proxy name (`<user>.<proxy>`). */
export async function onlineProxies(c: LiveCluster): Promise<string[]> {
  const text = await scrapeFrps(c).catch(() => '');
  const out: string[] = [];
  for (const m of text.matchAll(/^frp_server_proxy_counts_detailed\{([^}]*)\} (\S+)$/gm)) {
    const name = /name="([^"]*)"/.exec(m[1])?.[1];
    if (name && Number(m[2]) > 0) out.push(name);
  }
  return out.sort();
}

/**
 * The members frps lists (onlineProxies) that have also finished joining on frpc's side. frps
 * routes to a member as it registers it, before frpc has read frps' answer to its NewProxy, and
 * a request routed there meanwhile is lost (frp v0.70.1; README "Limits and decisions",
 * Joining). A member `<namespace>.<pod>.<proxy>` has joined when every frpc container of its
 * pod logged `[<proxy>] start proxy success` after its last login and after the proxy's last
 * failed health check (both of which make it join again), in the container's current life.
 * Tests that send requests expecting none to fail wait for this, not only for frps' list; a
 * member of no pod here (an outside frpc) counts as joined once frps lists it.
 */
export async function joinedProxies(c: LiveCluster): Promise<string[]> {
  return (await onlineProxies(c)).filter((member) => {
    const [namespace, podName, ...rest] = member.split('.');
    const proxy = rest.join('.');
    const pod = c.podsOf((p) => p.namespace === namespace && p.name === podName)[0]; // live pods only
    if (!pod) return true;
    return pod.containers.filter((k) => String(k.spec.image).includes('frpc')).every((k) => {
      const log = c.logs(pod, k.spec.name);
      const life = log.slice(log.lastIndexOf('harness: exited') + 1);
      const started = life.lastIndexOf(`[${proxy}] start proxy success`);
      return started >= 0 && started > life.lastIndexOf('login to server success') && started > life.lastIndexOf(`[${proxy}] health check failed`);
    });
  });
}
