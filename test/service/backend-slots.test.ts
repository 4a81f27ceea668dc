// The balancer's slots for discovered backends (issue 18 §2): HAProxy reserves
// `server-template` slots at start and fills them from DNS at run time, so their number is
// a setting of the spec (`backends.discovery.maxBackends`, default 32, at most 500), never a
// silent cap; a workload handed over with more replicas than slots is a render warning.
import { Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { chartWithToken, synthService } from './fixtures';
import { DiscoveryMode, DistributedService, ExposeType, LoadBalancingAlgorithm, ServiceProtocol, SynthWarnings } from '../../lib';
import { FS_ROOT_CONTEXT } from '../../lib/balancer/_workload';
import { HaproxyHarness, writeBalancerScripts } from '../balancer/haproxy-harness';

const haproxyCfg = (m: any[]): string => m.find(x => x.kind === 'ConfigMap' && x.data?.['haproxy.cfg']).data['haproxy.cfg'];
const slotsOf = (cfg: string) => Number(/^\s*server-template srv (\d+) /m.exec(cfg)?.[1]);
const selector = (extra: object = {}) => ({ mode: DiscoveryMode.SELECTOR, selector: { matchLabels: { app: 'web' } }, port: 8080, ...extra });

describe('balancer slots for discovered backends', () => {
  test('default: 32 slots, documented, for selector and dns discovery', () => {
    for (const discovery of [selector(), { mode: DiscoveryMode.DNS, serviceName: 'web-headless', port: 8080 }]) {
      const { manifests } = synthService('web', {
        serviceType: ServiceProtocol.HTTP,
        backends: { discovery },
        expose: { type: ExposeType.DOMAIN, domain: 'web.example.com' },
        loadBalancing: { algorithm: LoadBalancingAlgorithm.LEAST_CONN },
      });
      expect(slotsOf(haproxyCfg(manifests))).toBe(32);
    }
  });

  test('a checked pod that refuses a connection leaves its slot at once (observe layer4 mark-down); without checks nothing is observed', () => {
    const cfgFor = (healthCheck?: object) => haproxyCfg(synthService('web', {
      serviceType: ServiceProtocol.HTTP,
      backends: { discovery: selector() },
      expose: { type: ExposeType.DOMAIN, domain: 'web.example.com' },
      loadBalancing: { algorithm: LoadBalancingAlgorithm.LEAST_CONN, healthCheck },
    }).manifests);
    const template = (cfg: string) => /^\s*(server-template .*)$/m.exec(cfg)![1];
    expect(template(cfgFor({ path: '/' }))).toMatch(/ observe layer4 error-limit 1 on-error mark-down$/);
    expect(template(cfgFor({ enabled: false }))).not.toContain('observe');
  });

  test('maxBackends sets the slots, and the rendezvous hash (ip-hash) names every one of them', () => {
    const { manifests } = synthService('pg', {
      serviceType: ServiceProtocol.TCP,
      backends: { discovery: selector({ maxBackends: 64 }) },
      expose: { type: ExposeType.PORT, port: 5432 },
      loadBalancing: { algorithm: LoadBalancingAlgorithm.IP_HASH },
    });
    const cfg = haproxyCfg(manifests);
    expect(slotsOf(cfg)).toBe(64);
    const useServer = [...cfg.matchAll(/^\s*use-server (srv\d+) if /gm)].map(m => m[1]);
    expect(useServer).toEqual(Array.from({ length: 64 }, (_, i) => `srv${i + 1}`));
  });

  test('the largest setting (500 slots, with the rendezvous hash) is a config the real haproxy accepts', async () => {
    const h = HaproxyHarness.create();
    try {
      // the Lua script the config loads is written where the pod mounts it, under the temp dir
      const { chart, auth } = chartWithToken('apps', { [FS_ROOT_CONTEXT]: h.dir });
      new DistributedService(chart, 'pg', {
        auth,
        serviceType: ServiceProtocol.TCP,
        backends: { discovery: selector({ maxBackends: 500 }) },
        expose: { type: ExposeType.PORT, port: 5432 },
        loadBalancing: { algorithm: LoadBalancingAlgorithm.IP_HASH },
      });
      const manifests = Testing.synth(chart);
      writeBalancerScripts(manifests, h.dir);
      const cfg = haproxyCfg(manifests);
      expect(slotsOf(cfg)).toBe(500);
      expect(cfg).toContain('lua-load');
      h.expectValid(cfg);
    } finally {
      await h.cleanup();
    }
  });

  test('more than 500 is refused at the field: the pods\' A records would not fit one DNS answer', () => {
    expect(() => synthService('web', {
      serviceType: ServiceProtocol.HTTP,
      backends: { discovery: selector({ maxBackends: 501 }) },
      expose: { type: ExposeType.DOMAIN, domain: 'web.example.com' },
      loadBalancing: { algorithm: LoadBalancingAlgorithm.LEAST_CONN },
    })).toThrow(/spec\.backends\.discovery\.maxBackends: must be .*500.*501/);
  });

  test('a workload with more replicas than slots behind the balancer: a warning names the field, the numbers and the fix', () => {
    const warn = (replicas: number, maxBackends?: number) => {
      const { chart, auth } = chartWithToken();
      const web = new kplus.Deployment(chart, 'web', { replicas, containers: [{ image: 'nginxinc/nginx-unprivileged:1.27', portNumber: 8080 }] });
      new DistributedService(chart, 'web-svc', {
        auth,
        serviceType: ServiceProtocol.HTTP,
        backends: { discovery: { mode: DiscoveryMode.AUTO, workload: web, maxBackends } },
        expose: { type: ExposeType.DOMAIN, domain: 'web.example.com' },
        loadBalancing: { algorithm: LoadBalancingAlgorithm.LEAST_CONN, healthCheck: { path: '/' } },
      });
      const manifests = Testing.synth(chart);
      return { warnings: SynthWarnings.of(chart), slots: slotsOf(haproxyCfg(manifests)) };
    };
    expect(warn(40)).toEqual({
      slots: 32,
      warnings: ['test/web-svc: spec.backends.discovery.maxBackends: the workload has 40 replicas, but the balancer spreads over at most 32 pods (its HAProxy server slots); '
        + 'the other 8 get no traffic from it: raise maxBackends to at least 40 (at most 500)'],
    });
    expect(warn(40, 40)).toEqual({ slots: 40, warnings: [] });
    expect(warn(5)).toEqual({ slots: 32, warnings: [] });
  });
});
