import { App, Chart } from 'cdk8s';
import { MtlsTunnelChart } from '../../examples/mtls-tunnel';
import { OllamaClusterChart, PostgresProxyChart, UserServiceChart, WebappFrontendChart } from '../../examples/seed-use-cases';
import { TcpTunnelChart } from '../../examples/tcp-tunnel';

/** Every example app (examples/main.ts), by chart name. */
export const EXAMPLES: Record<string, (app: App) => Chart> = {
  'tcp-tunnel': app => new TcpTunnelChart(app, 'tcp-tunnel'),
  'mtls-tunnel': app => new MtlsTunnelChart(app, 'mtls-tunnel'),
  'ollama-cluster': app => new OllamaClusterChart(app, 'ollama-cluster'),
  'user-service': app => new UserServiceChart(app, 'user-service'),
  'postgres-proxy': app => new PostgresProxyChart(app, 'postgres-proxy'),
  'webapp-frontend': app => new WebappFrontendChart(app, 'webapp-frontend'),
};
