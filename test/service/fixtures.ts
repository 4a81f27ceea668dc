import { Chart, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { DistributedService, DistributedServiceProps, FrpAuth } from '../../lib';
import { parseFrpTomlValues } from '../helpers';

/** A chart in namespace `apps` and a token for the service's own frps. */
export function chartWithToken(namespace = 'apps', context: { [key: string]: string } = {}): { chart: Chart; auth: FrpAuth } {
  const app = Testing.app();
  for (const [k, v] of Object.entries(context)) app.node.setContext(k, v);
  const chart = new Chart(app, 'test', { namespace });
  return { chart, auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 'frp-token', 'frp-token')) };
}

/** Builds one service and synthesizes its chart. */
export function synthService(id: string, props: Omit<DistributedServiceProps, 'auth'>): { service: DistributedService; manifests: any[] } {
  const { chart, auth } = chartWithToken();
  const service = new DistributedService(chart, id, { auth, ...props } as DistributedServiceProps);
  return { service, manifests: Testing.synth(chart) };
}

/** The parsed frpc.toml / frps.toml of a bundle. */
export function tomlOf(manifests: any[], key: 'frpc.toml' | 'frps.toml'): any {
  const cm = manifests.find(m => m.kind === 'ConfigMap' && m.data?.[key]);
  if (!cm) throw new Error(`no ConfigMap with ${key}`);
  // as frp parses it: byte-safe secret templates read as "{{ .Envs.NAME }}" strings
  return parseFrpTomlValues(cm.data[key]);
}

