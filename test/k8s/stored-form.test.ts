import { App, Duration, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { omitUnstoredDefaults, storedCpu } from '../../lib/k8s/pod-defaults';
import { EXAMPLES } from '../helpers/examples';

// What the API server stores is what we render (the test API server's drift
// check in test/cluster finds the differences; these pin the fixes).
describe('rendered as the API server stores it', () => {
  test.each<[kplus.Cpu, string]>([
    [kplus.Cpu.millis(1000), '1'],
    [kplus.Cpu.millis(3000), '3'],
    [kplus.Cpu.millis(1500), '1500m'],
    [kplus.Cpu.millis(500), '500m'],
    [kplus.Cpu.units(2), '2'],
  ])('cpu %p becomes %s', (cpu, stored) => {
    const chart = Testing.chart();
    new kplus.Deployment(chart, 'd', { containers: [{ image: 'x', resources: { cpu: { limit: storedCpu(cpu) } } }] });
    expect(Testing.synth(chart)[0].spec.template.spec.containers[0].resources.limits.cpu).toBe(stored);
  });

  test('minReadySeconds 0, hostNetwork false and externalIPs [] are left out; other values stay', () => {
    const chart = Testing.chart();
    const plain = new kplus.Deployment(chart, 'plain', { containers: [{ image: 'x' }] });
    const set = new kplus.Deployment(chart, 'set', { containers: [{ image: 'x' }], minReady: Duration.seconds(10), hostNetwork: true });
    const daemons = new kplus.DaemonSet(chart, 'daemons', { containers: [{ image: 'x' }] });
    const service = new kplus.Service(chart, 'svc', { selector: plain, ports: [{ port: 80 }] });
    [plain, set, daemons, service].forEach(omitUnstoredDefaults);
    const [p, s, d, svc] = Testing.synth(chart);
    expect(p.spec.minReadySeconds).toBeUndefined();
    expect(p.spec.template.spec.hostNetwork).toBeUndefined();
    expect(s.spec.minReadySeconds).toBe(10);
    expect(s.spec.template.spec.hostNetwork).toBe(true);
    expect(d.spec).not.toHaveProperty('minReadySeconds');
    expect(d.spec.template.spec).not.toHaveProperty('hostNetwork');
    expect(svc.spec).not.toHaveProperty('externalIPs');
    expect(svc.spec.ports).toEqual([{ port: 80 }]);
  });

  test.each(Object.keys(EXAMPLES))('example %s: no workload or Service carries them, whole-core cpu as units', (name) => {
    const manifests = EXAMPLES[name](new App()).toJson();
    const workloads = manifests.filter((m: any) => ['Deployment', 'DaemonSet', 'StatefulSet'].includes(m.kind));
    expect(workloads.length).toBeGreaterThan(1);
    for (const w of workloads) {
      expect(w.spec).not.toHaveProperty('minReadySeconds');
      expect(w.spec.template.spec).not.toHaveProperty('hostNetwork');
      for (const c of w.spec.template.spec.containers) {
        for (const q of [c.resources.limits.cpu, c.resources.requests.cpu]) expect(q).toMatch(/^([1-9][0-9]*|[1-9][0-9]{0,2}m)$/);
      }
    }
    const services = manifests.filter((m: any) => m.kind === 'Service');
    expect(services.length).toBeGreaterThan(0);
    for (const s of services) expect(s.spec).not.toHaveProperty('externalIPs');
  });
});
