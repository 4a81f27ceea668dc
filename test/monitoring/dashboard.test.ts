import { Duration, Testing } from 'cdk8s';
import { FrpDashboard, FrpDashboardProps, MetricsTarget } from '../../lib/monitoring';
import { expectDeterministic, expectValidBundle } from '../helpers';
import { balancerService, byKind, chart, frps } from './fixtures';
import { ALLOWED_METRICS, HAPROXY_METRICS, metricNames } from './metric-names';
import { checkRules, testRules } from './promtool';

function render(options: Partial<FrpDashboardProps> = {}, withBalancer = false, namespace: string | undefined = 'edge') {
  const c = chart(namespace);
  const server = MetricsTarget.fromFrpServer(frps(c));
  const balancer = withBalancer ? MetricsTarget.fromService(balancerService(c), { port: 'metrics' }) : undefined;
  const dashboard = new FrpDashboard(c, 'dashboard', { ...options, server, balancer });
  const manifests = Testing.synth(c);
  const [configMap] = byKind(manifests, 'ConfigMap').filter(m => m.data?.[`${dashboard.uid}.json`] !== undefined);
  const json = configMap.data[`${dashboard.uid}.json`];
  return { c, server, balancer, dashboard, manifests, configMap, json, parsed: JSON.parse(json) };
}

const exprsOf = (d: any): string[] => d.panels.flatMap((p: any) => p.targets.map((t: any) => t.expr));

describe('FrpDashboard', () => {
  test('minimal props: a ConfigMap the Grafana sidecar loads', () => {
    // GIVEN / WHEN
    const { configMap, manifests, dashboard, server } = render();
    // THEN
    expect({ ...configMap, data: Object.keys(configMap.data) }).toMatchSnapshot();
    expectValidBundle(manifests);
    expect(configMap.metadata.labels.grafana_dashboard).toBe('1');
    expect(configMap.metadata.namespace).toBe('edge');
    expect(dashboard.uid).toMatch(/^frp-[0-9a-f]{16}$/);
    expect(dashboard.title).toBe(`frp edge/${server.job}`);
  });

  test('with a balancer: the dashboard JSON', () => {
    const { parsed, manifests } = render({}, true);
    expect(parsed).toMatchSnapshot();
    expectValidBundle(manifests);
  });

  test('valid dashboard JSON: schemaVersion, deterministic uid of at most 40 characters, title, datasource variable', () => {
    const { parsed, json, dashboard } = render({}, true);
    expect(json.endsWith('\n')).toBe(true);
    expect(parsed.schemaVersion).toBe(39);
    expect(parsed.uid).toBe(dashboard.uid);
    expect(parsed.uid.length).toBeLessThanOrEqual(40);
    expect(parsed.title).toBe(dashboard.title);
    expect(parsed.id).toBeUndefined(); // Grafana assigns ids; a fixed one would clash
    expect(parsed.templating.list).toEqual([expect.objectContaining({ name: 'datasource', type: 'datasource', query: 'prometheus' })]);
    expect(parsed.time).toEqual({ from: 'now-6h', to: 'now' });
    expect(parsed.refresh).toBe('30s');
    expect(json).not.toMatch(/\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/); // no timestamps
    // panels: unique ids, inside the 24-column grid, not overlapping
    const ids = parsed.panels.map((p: any) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    const cells = new Set<string>();
    for (const p of parsed.panels) {
      expect(p.gridPos.x + p.gridPos.w).toBeLessThanOrEqual(24);
      for (let x = p.gridPos.x; x < p.gridPos.x + p.gridPos.w; x++) {
        for (let y = p.gridPos.y; y < p.gridPos.y + p.gridPos.h; y++) {
          expect(cells.has(`${x},${y}`)).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  test('every panel and every query uses the datasource variable', () => {
    const { parsed } = render({}, true);
    expect(parsed.panels.length).toBeGreaterThan(0);
    for (const p of parsed.panels) {
      expect(p.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
      expect(p.targets.length).toBeGreaterThan(0);
      for (const t of p.targets) expect(t.datasource).toEqual({ type: 'prometheus', uid: '${datasource}' });
    }
  });

  test('panels: clients, proxies by type, connections and traffic per proxy; balancer panels only with a balancer', () => {
    const titles = (d: any) => d.panels.map((p: any) => p.title);
    const { parsed: plain } = render();
    const { parsed: withLb } = render({}, true);
    expect(titles(plain)).toEqual([
      'frps up', 'Connected clients', 'Connected clients over time', 'Proxies by type', 'Connections per proxy',
      'Traffic in per proxy', 'Traffic out per proxy',
    ]);
    expect(titles(withLb)).toEqual([
      ...titles(plain),
      'Balancer backends: active servers', 'Balancer backends: current sessions', 'Balancer servers: failed health checks',
      'Balancer frontends: current sessions',
    ]);
    expect(exprsOf(plain).some(e => e.includes('haproxy_'))).toBe(false);
    const traffic = exprsOf(withLb).filter(e => e.includes('frp_server_traffic_'));
    expect(traffic.every(e => e.includes('rate(') && e.includes('[$__rate_interval]'))).toBe(true);
  });

  test('every query uses only real frp/haproxy metric names, is scoped to its target, and is valid PromQL (promtool)', () => {
    const { parsed, server, balancer } = render({}, true);
    const exprs = exprsOf(parsed);
    for (const e of exprs) {
      const names = metricNames(e);
      expect(names.length).toBeGreaterThan(0);
      for (const n of names) expect(ALLOWED_METRICS).toContain(n);
      const target = names.some(n => HAPROXY_METRICS.includes(n)) ? balancer! : server;
      for (const m of e.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*\{([^}]*)\}/g)) {
        expect(m[1]).toBe(`job="${target.job}", namespace="edge"`);
      }
    }
    // Grafana replaces $__rate_interval; promtool parses the rest as recording rules.
    const rules = exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: e.replace(/\$__rate_interval/g, '5m') }));
    expect(checkRules({ groups: [{ name: 'dashboard', rules }] })).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  test('per-proxy panels add up the members of a group (user prefix stripped), checked with promtool', () => {
    const { parsed, server } = render();
    const connections = parsed.panels.find((p: any) => p.title === 'Connections per proxy').targets[0].expr;
    const s = `job="${server.job}", namespace="edge", pod="frps-0"`;
    testRules({ groups: [] }, {
      tests: [{
        interval: '1m',
        input_series: [
          { series: `frp_server_connection_counts{${s}, type="http", name="ollama-6d5f-abcde.ollama"}`, values: '3x10' },
          { series: `frp_server_connection_counts{${s}, type="http", name="ollama-6d5f-fghij.ollama"}`, values: '4x10' },
          { series: `frp_server_connection_counts{${s}, type="tcp", name="pg"}`, values: '2x10' },
          { series: 'frp_server_connection_counts{job="other", namespace="edge", type="tcp", name="pg"}', values: '100x10' },
        ],
        promql_expr_test: [{
          expr: connections,
          eval_time: '5m',
          exp_samples: [
            { labels: '{proxy="ollama", type="http"}', value: 7 },
            { labels: '{proxy="pg", type="tcp"}', value: 2 },
          ],
        }],
      }],
    });
  });

  test('deterministic output; uid depends on the frps, not on the build', () => {
    const build = () => {
      const c = chart('edge');
      new FrpDashboard(c, 'dashboard', { server: MetricsTarget.fromFrpServer(frps(c)) });
      return c;
    };
    expectDeterministic(build);
    const a = render({}, false, 'edge').dashboard.uid;
    const b = render({}, false, 'staging').dashboard.uid;
    expect(a).not.toBe(b);
  });

  test('all props: title, uid, sidecar label, folder, refresh', () => {
    const all: Required<Omit<FrpDashboardProps, 'server' | 'balancer'>> = {
      title: 'Tunnels (edge)',
      uid: 'frp-edge-tunnels',
      labelKey: 'grafana.example.com/dashboard',
      labelValue: 'true',
      folder: 'Networking',
      refresh: Duration.minutes(1),
    };
    const { configMap, parsed, manifests } = render(all);
    expect({ ...configMap, data: Object.keys(configMap.data) }).toMatchSnapshot();
    expectValidBundle(manifests);
    expect(configMap.metadata.labels['grafana.example.com/dashboard']).toBe('true');
    expect(configMap.metadata.labels.grafana_dashboard).toBeUndefined();
    expect(configMap.metadata.annotations).toEqual({ grafana_folder: 'Networking' });
    expect(Object.keys(configMap.data)).toEqual(['frp-edge-tunnels.json']);
    expect(parsed).toMatchObject({ title: 'Tunnels (edge)', uid: 'frp-edge-tunnels', refresh: '1m' });
  });

  test('fails on an invalid uid, label or refresh', () => {
    const c = chart();
    const server = MetricsTarget.fromFrpServer(frps(c));
    expect(() => new FrpDashboard(c, 'd1', { server, uid: 'x'.repeat(41) }))
      .toThrow(`test/d1: uid: must be 1 to 40 characters of [-_a-zA-Z0-9], got "${'x'.repeat(41)}"`);
    expect(() => new FrpDashboard(c, 'd2', { server, labelKey: 'bad key' }))
      .toThrow('test/d2: labelKey.bad key: is not a valid Kubernetes label key');
    expect(() => new FrpDashboard(c, 'd3', { server, refresh: Duration.millis(1500) }))
      .toThrow('test/d3: refresh: must be a whole number of seconds');
    expect(() => new FrpDashboard(c, 'd4', { server, title: ' ' }))
      .toThrow('test/d4: title: must be a non-empty string');
  });
});
