import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { FrpAuth, FrpProxyType, FrpServer, FrpServerProps } from '../../lib';

/** A chart, optionally with a namespace (Testing.chart() has none). */
export function chart(namespace?: string): Chart {
  if (!namespace) return Testing.chart();
  return new Chart(Testing.app(), 'test', { namespace });
}

/** An frps with token auth; `credentials` adds the web server basic-auth Secret. */
export function frps(scope: Chart, options: { credentials?: boolean; props?: Partial<FrpServerProps> } = {}): FrpServer {
  return new FrpServer(scope, 'frps', {
    auth: FrpAuth.token(kplus.Secret.fromSecretName(scope, 'token', 'frp-token')),
    webServerCredentials: options.credentials ? kplus.Secret.fromSecretName(scope, 'web', 'frps-web') : undefined,
    ...options.props,
  });
}

/** Attaches a tcp and an http proxy, so that frps also has its remote and vhost Services. */
export function attachProxies(scope: Chart, server: FrpServer): void {
  server.registerProxy(scope, { name: 'pg', type: FrpProxyType.TCP, localPort: 5432, remotePort: 15432, group: 'pg' });
  server.registerProxy(scope, { name: 'web', type: FrpProxyType.HTTP, localPort: 80, customDomains: ['web.example.com'], group: 'web' });
}

/** A stand-in for the HAProxy balancer tier's Service: a `metrics` port on labelled pods. */
export function balancerService(scope: Chart): kplus.Service {
  const labels = { 'app.kubernetes.io/name': 'haproxy', 'app.kubernetes.io/instance': 'test-lb', 'app.kubernetes.io/component': 'balancer' };
  return new kplus.Service(scope, 'lb', {
    metadata: { labels },
    selector: kplus.Pods.select(scope, 'lb-pods', { labels }),
    ports: [{ name: 'http', port: 80, targetPort: 8080 }, { name: 'metrics', port: 8405, targetPort: 8405 }],
  });
}

export const byKind = (manifests: any[], kind: string): any[] => manifests.filter(m => m.kind === kind);

/** True when every matchLabels entry is among `labels`. */
export function selects(matchLabels: { [k: string]: string }, labels: { [k: string]: string } | undefined): boolean {
  return Object.entries(matchLabels).every(([k, v]) => (labels ?? {})[k] === v);
}

