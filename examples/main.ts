import { App } from 'cdk8s';
import { MtlsTunnelChart } from './mtls-tunnel';
import { TcpTunnelChart } from './tcp-tunnel';

// `cdk8s synth` runs this file (see cdk8s.yaml) and writes dist/<chart>.k8s.yaml.
const app = new App();
new TcpTunnelChart(app, 'tcp-tunnel');
new MtlsTunnelChart(app, 'mtls-tunnel');
app.synth();
