import { App } from 'cdk8s';
import { checkWiring } from './helpers';
import { OllamaClusterChart } from '../examples/seed-use-cases';

const bundle = () => JSON.parse(JSON.stringify(new OllamaClusterChart(new App(), 'ollama-cluster').toJson()));
const find = (m: any[], pred: (o: any) => boolean) => m.find(pred);

describe('checkWiring catches broken references', () => {
  test('an intact bundle passes', () => {
    expect(checkWiring(bundle())).toEqual([]);
  });
  test.each<[string, (m: any[]) => void, RegExp]>([
    ['a Service selecting no pod', m => { find(m, o => o.kind === 'Service' && o.spec.selector?.['app.kubernetes.io/instance']).spec.selector['app.kubernetes.io/instance'] = 'nope'; }, /matches no pod template/],
    ['a missing ConfigMap', m => { m.splice(m.findIndex(o => o.kind === 'ConfigMap' && o.data?.['frps.toml']), 1); }, /mounts ConfigMap .*, which is not in namespace "ai-services"/],
    ['an Ingress to a missing port', m => { find(m, o => o.kind === 'Ingress').spec.rules[0].http.paths[0].backend.service.port.number = 81; }, /has no port \{"number":81\}/],
    ['frpc dialling a port frps does not expose', m => {
      const cm = find(m, o => o.kind === 'ConfigMap' && o.data?.['frpc.toml']);
      cm.data['frpc.toml'] = cm.data['frpc.toml'].replace('serverPort = 7000', 'serverPort = 7001');
    }, /has no port 7001/],
    ['frpc forwarding to a port the balancer does not serve', m => {
      const cm = find(m, o => o.kind === 'ConfigMap' && o.data?.['frpc.toml']);
      cm.data['frpc.toml'] = cm.data['frpc.toml'].replace('localPort = 8000', 'localPort = 8001');
    }, /forwards to .*:8001, but that Service has no port 8001/],
    // cert-manager (issue 9 defect 1: the client certificate was issued in frps' namespace)
    ['a client Certificate in another namespace than the frpc pod mounting its Secret', m => {
      find(m, o => o.kind === 'Certificate' && o.metadata.name === 'ollama-cluster-frpc-tls').metadata.namespace = 'frp';
    }, /mounts Secret ollama-cluster-frpc-tls, which the bundle's Certificate Certificate\/frp\/ollama-cluster-frpc-tls fills in another namespace than "ai-services"/],
    ['a Certificate naming a namespaced Issuer of another namespace', m => {
      find(m, o => o.kind === 'Issuer' && o.metadata.name === 'ollama-cluster-ca').metadata.namespace = 'frp';
    }, /Certificate\/ai-services\/ollama-cluster-frps-tls: issuerRef Issuer ollama-cluster-ca is not an Issuer in namespace "ai-services"/],
    ['a ClusterIssuer named as an Issuer', m => {
      find(m, o => o.kind === 'Issuer' && o.metadata.name === 'ollama-cluster-ca').kind = 'ClusterIssuer';
    }, /issuerRef Issuer ollama-cluster-ca is not an Issuer in namespace "ai-services"/],
    ['a CA Issuer whose CA Secret is issued in another namespace', m => {
      find(m, o => o.kind === 'Certificate' && o.metadata.name === 'ollama-cluster-ca-root').metadata.namespace = 'cert-manager';
    }, /Issuer\/ai-services\/ollama-cluster-ca: its CA Secret ollama-cluster-ca-root is filled by Certificate\/cert-manager\/ollama-cluster-ca-root, not in namespace "ai-services"/],
  ])('%s', (_name, breakIt, message) => {
    const m = bundle();
    breakIt(m);
    expect(checkWiring(m).join('\n')).toMatch(message);
  });
});
