import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { FrpAuth, FrpClientPool, FrpClientWorkload, FrpProxyType, FrpServer } from '../../lib';

function setup() {
  const chart = Testing.chart();
  const server = new FrpServer(chart, 'frps', { auth: FrpAuth.token(kplus.Secret.fromSecretName(chart, 't', 'token')) });
  return { chart, server };
}
const proxies = [{ name: 'web', type: FrpProxyType.TCP, localPort: 8080, remotePort: 18080, group: 'web' }];

describe('sidecar into a workload this library does not own', () => {
  test('a raw KubeDeployment (any ApiObject with a pod template) gets frpc merged into its pod template', () => {
    const { chart, server } = setup();
    const web = new kplus.k8s.KubeDeployment(chart, 'web', {
      metadata: { name: 'web' },
      spec: {
        selector: { matchLabels: { app: 'web' } },
        template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx:1.27' }] } },
      },
    });
    const pool = new FrpClientPool(chart, 'frpc', { server, workload: FrpClientWorkload.sidecar(web), proxies });
    expect(pool.podLabels).toEqual({ app: 'web' });
    const d = Testing.synth(chart).find(m => m.kind === 'Deployment' && m.metadata.name === 'web');
    expect(d.spec.template.spec.containers.map((c: any) => c.name)).toEqual(['web', 'frpc']);
    expect(d.spec.template.spec.volumes.map((v: any) => v.name)).toContain('frpc-config');
    expect(d.spec.template.metadata.annotations['checksum/frpc']).toMatch(/^[0-9a-f]{64}$/);
    // the sidecar frpc leaves its group gracefully on its own; the backend container gets no hook
    const [backend, frpc] = d.spec.template.spec.containers;
    expect(frpc.lifecycle.preStop.exec.command[2]).toMatch(/^frpc stop -c \/etc\/frp\/frpc\.toml /);
    expect(backend.lifecycle).toBeUndefined();
  });

  test('fails when the workload already has a container named frpc, naming the workload', () => {
    const { chart, server } = setup();
    const web = new kplus.Deployment(chart, 'web', { containers: [{ name: 'frpc', image: 'nginx:1.27' }] });
    new FrpClientPool(chart, 'frpc', { server, workload: FrpClientWorkload.sidecar(web), proxies });
    expect(() => Testing.synth(chart)).toThrow(/test\/frpc: workload: the pods of test\/web already have a container named "frpc"/);
  });

  test('fails for a construct that renders no pod template', () => {
    const { chart, server } = setup();
    const cm = new kplus.ConfigMap(chart, 'cm');
    expect(() => new FrpClientPool(chart, 'frpc', { server, workload: FrpClientWorkload.sidecar(cm), proxies }))
      .toThrow('test/frpc: workload: test/cm is a ConfigMap, which has no pod template (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod)');
  });
});
