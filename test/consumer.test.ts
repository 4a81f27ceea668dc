import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';

// A consumer app on cdk8s-plus-33 (scripts/consumer/main.ts) built against the
// packed library: compiles with tsc and synthesizes a sidecar pool.
describe('a cdk8s-plus-33 app with a sidecar pool, against the npm pack tarball', () => {
  let dir: string;
  let docs: any[];
  beforeAll(() => {
    const out = execFileSync(path.join(__dirname, '..', 'scripts', 'consumer-test.sh'), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
    dir = out.trim().split('\n').pop()!;
    docs = parseAllDocuments(fs.readFileSync(path.join(dir, 'dist', 'consumer.k8s.yaml'), 'utf8')).map(d => d.toJS());
  }, 600_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('it ran on cdk8s-plus-33', () => {
    expect(fs.readFileSync(path.join(dir, 'versions.txt'), 'utf8')).toMatch(/^cdk8s-plus-33@2\./);
  });

  test('frpc is a container of the app\'s own Deployment, with its config volume and checksum', () => {
    const web = docs.find(d => d.kind === 'Deployment' && d.spec.template.spec.containers.some((c: any) => c.name === 'web'));
    const pod = web.spec.template;
    expect(pod.spec.containers.map((c: any) => c.name)).toEqual(['web', 'frpc']);
    const frpc = pod.spec.containers[1];
    expect(frpc.image).toMatch(/^fatedier\/frpc:/);
    const mounted = frpc.volumeMounts.map((m: any) => m.name);
    for (const v of mounted) expect(pod.spec.volumes.map((x: any) => x.name)).toContain(v);
    expect(pod.spec.volumes).toContainEqual({ name: 'frpc-config', configMap: { name: 'frpc-config' } });
    expect(pod.metadata.annotations['checksum/frpc']).toMatch(/^[0-9a-f]{64}$/);
    // no frpc Deployment of its own
    expect(docs.filter(d => d.kind === 'Deployment').map(d => d.metadata.name).sort()).toEqual([web.metadata.name, 'frps'].sort());
  });

  test('frps admits the app\'s pods: its NetworkPolicy selects them by the app\'s selector', () => {
    const web = docs.find(d => d.kind === 'Deployment' && d.metadata.name !== 'frps');
    const np = docs.find(d => d.kind === 'NetworkPolicy' && d.metadata.name === 'frps');
    const control = np.spec.ingress.find((r: any) => r.ports.some((p: any) => p.port === 7000));
    expect(control.from[0].podSelector.matchLabels).toEqual(web.spec.selector.matchLabels);
  });
});
