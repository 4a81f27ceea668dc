import { App } from 'cdk8s';
import { RequiredSecrets, SynthWarnings } from '../lib';
import { MtlsTunnelChart } from './mtls-tunnel';
import { OperatorChart } from './operator';
import { OllamaClusterChart, PostgresProxyChart, UserServiceChart, WebappFrontendChart } from './seed-use-cases';
import { TcpTunnelChart } from './tcp-tunnel';

// `cdk8s synth` runs this file (see cdk8s.yaml) and writes dist/<chart>.k8s.yaml.
const app = new App();
new TcpTunnelChart(app, 'tcp-tunnel');
new MtlsTunnelChart(app, 'mtls-tunnel');
new OllamaClusterChart(app, 'ollama-cluster');
new UserServiceChart(app, 'user-service');
new PostgresProxyChart(app, 'postgres-proxy');
new WebappFrontendChart(app, 'webapp-frontend');
// the operator: DistributedServices applied to the cluster become bundles (README "The operator")
new OperatorChart(app, 'operator');
// what renders as asked but may not do what you expect (e.g. a health check on the default path)
for (const w of SynthWarnings.of(app)) console.warn(`warning: ${w}`);
// the Secrets the bundles read but do not create: they must exist before the pods can start
for (const line of RequiredSecrets.describe(app)) console.warn(`needs: ${line}`);
app.synth();
