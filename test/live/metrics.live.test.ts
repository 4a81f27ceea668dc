/**
 * Live: the monitoring objects and the real frps agree. Every frp metric name the
 * PrometheusRule and the Grafana dashboard use is in a live scrape of frps' /metrics, and
 * the members-below-expected alert, evaluated by promtool on series taken from live
 * scrapes, stays quiet while every member is up and fires once one is gone.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as YAML from 'yaml';
import { Backends, bundleOf, fixtureSecrets, metricsService, NS, joinedProxies, onlineProxies, remotePortService, scrapeFrps, vhostService } from './fixtures';
import { ServiceProtocol, ExposeType } from '../../lib';
import { HttpBackend, httpRequest, TcpBackend, tcpAsk } from './harness/backends';
import { claimSubnet, LiveCluster, waitFor } from './harness/cluster';
import { runPromtool, tempDir, writeRuleFile } from '../monitoring/promtool';

jest.setTimeout(180_000);

/** Metric names (frp_*, haproxy_*) an expression or dashboard text uses. */
function metricNames(text: string): Set<string> {
  return new Set([...text.matchAll(/\b((?:frp|haproxy)_[a-z_]+)\b/g)].map((m) => m[1]));
}

/** The samples of a Prometheus text scrape, as promtool input series with the target's labels. */
function asInputSeries(scrape: string, target: Record<string, string>): { series: string; values: string }[] {
  const out: { series: string; values: string }[] = [];
  const extra = Object.entries(target).map(([k, v]) => `${k}="${v}"`).join(', ');
  for (const line of scrape.split('\n')) {
    const m = /^(frp_[a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels = [m[2], extra].filter(Boolean).join(', ');
    out.push({ series: `${m[1]}{${labels}}`, values: `${Number(m[3])}x30` });
  }
  out.push({ series: `up{${extra}}`, values: '1x30' });
  return out;
}

/** Alerts promtool sees firing at 15m on these series (parsed from its report). */
function firingAlerts(rules: any, series: { series: string; values: string }[]): string {
  const dir = tempDir();
  try {
    writeRuleFile(dir, rules);
    fs.writeFileSync(path.join(dir, 'tests.yaml'), YAML.stringify({
      rule_files: ['rules.yaml'],
      evaluation_interval: '1m',
      tests: [{ interval: '1m', input_series: series, alert_rule_test: rules.groups.flatMap((g: any) => g.rules.filter((r: any) => r.alert).map((r: any) => ({ eval_time: '15m', alertname: r.alert, exp_alerts: [] }))) }],
    }));
    const r = runPromtool(['test', 'rules', 'tests.yaml'], dir);
    return r.status === 0 ? '' : r.output;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('live: metrics', () => {
  let cluster: LiveCluster | undefined;
  let backends: Backends;
  afterAll(async () => {
    await cluster?.stop();
    await backends?.closeAll();
  });

  test('alert and dashboard metric names exist in a live scrape; the members alert fires only when a member is gone', async () => {
    const subnet = await claimSubnet();
    backends = new Backends(subnet.base);
    const ip = backends.address();
    await backends.add(HttpBackend.start('api-0', ip, 8000));
    const dbIp = backends.address();
    await backends.add(TcpBackend.start('db-0', dbIp, 5432));
    const manifests = bundleOf({
      api: {
        serviceType: ServiceProtocol.HTTP,
        backends: { replicas: 2, endpoints: [{ host: ip, port: 8000 }] },
        expose: { type: ExposeType.DOMAIN, domain: 'api.example.test' },
        monitoring: {},
      },
      db: {
        serviceType: ServiceProtocol.TCP,
        backends: { replicas: 1, endpoints: [{ host: dbIp, port: 5432 }] },
        expose: { type: ExposeType.PORT, port: 25432 },
      },
    });
    cluster = await LiveCluster.start(manifests, { subnet, secrets: fixtureSecrets() });
    const c = cluster;
    await c.waitAllReady();
    await waitFor('every member joined', async () => (await joinedProxies(c)).length === 3, 30_000);
    const vhost = c.address(vhostService(c), 'http');
    for (let i = 0; i < 10; i++) expect((await httpRequest({ ...vhost, headers: { host: 'api.example.test' } })).status).toBe(200);
    // frp counts traffic when a connection closes: tcp connections that end make it count
    const db = c.address(remotePortService(c, 25432), 25432);
    for (let i = 0; i < 5; i++) expect(await tcpAsk(db)).toMatch(/^db-0 /);
    await waitFor('traffic counted', async () => /^frp_server_traffic_in\{/m.test(await scrapeFrps(c)), 10_000);

    // names: every frp metric the rules and the dashboard use is in the live scrape
    const rule = c.manifests.find((o) => o.kind === 'PrometheusRule');
    const dashboard = c.manifests.find((o) => o.kind === 'ConfigMap' && Object.keys(o.data ?? {}).some((k) => k.endsWith('.json')));
    expect(rule).toBeDefined();
    expect(dashboard).toBeDefined();
    const used = new Set([...metricNames(JSON.stringify(rule.spec)), ...metricNames(JSON.stringify(dashboard.data))]);
    const frpUsed = [...used].filter((n) => n.startsWith('frp_'));
    expect(frpUsed.length).toBeGreaterThanOrEqual(5);
    const scrape = await scrapeFrps(c);
    const live = metricNames(scrape);
    expect(frpUsed.filter((n) => !live.has(n))).toEqual([]);
    // no balancer in this bundle: the only other names are HAProxy's, for bundles that have one
    expect([...used].filter((n) => !n.startsWith('frp_') && !n.startsWith('haproxy_'))).toEqual([]);

    // the members alert, on live series with the labels Prometheus adds from the ServiceMonitor
    const frpsPod = c.podsWithImage('frps')[0];
    const svc = metricsService(c).obj;
    const target = { job: svc.metadata.name, namespace: NS, service: svc.metadata.name, endpoint: 'metrics', pod: frpsPod.name, instance: `${frpsPod.ip}:7500` };
    expect(firingAlerts(rule.spec, asInputSeries(scrape, target))).toBe('');

    const victim = c.podsWithImage('frpc').find((p) => p.workload.spec.replicas === 2)!; // an api member
    await c.deletePod(victim, false);
    await waitFor('one api member left', async () => (await onlineProxies(c)).length === 2, 15_000);
    const degraded = firingAlerts(rule.spec, asInputSeries(await scrapeFrps(c), target));
    expect(degraded).toMatch(/alertname="FrpProxyMembersBelowExpected"/);
    expect(degraded).toMatch(/has 1 http proxies named like \S+api\S*, fewer than the 2 expected/);
    expect(degraded).not.toMatch(/alertname="Frp(?!ProxyMembersBelowExpected)[A-Za-z]+"/);
  });
});
