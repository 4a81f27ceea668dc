// A consumer app on cdk8s-plus-33 (what `cdk8s init typescript-app` gives today):
// frpc joins its Deployment as a sidecar pool. Built by scripts/consumer-test.sh
// against the packed library (npm pack), not the sources.
import { App, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-33';
import { FrpAuth, FrpClientPool, FrpClientWorkload, FrpProxyType, FrpServer } from 'cdk8s-frp';

const app = new App();
const chart = new Chart(app, 'consumer', { namespace: 'apps' });
const token = kplus.Secret.fromSecretName(chart, 'token', 'frp-token');
const server = new FrpServer(chart, 'frps', { auth: FrpAuth.token(token) });
const backend = new kplus.Deployment(chart, 'web', {
  replicas: 3,
  containers: [{ name: 'web', image: 'nginx:1.27', portNumber: 8080, securityContext: { user: 101, group: 101 } }],
});
new FrpClientPool(chart, 'frpc', {
  server,
  workload: FrpClientWorkload.sidecar(backend),
  proxies: [{ name: 'web', type: FrpProxyType.TCP, localPort: 8080, remotePort: 18080, group: 'web' }],
});
app.synth();
