/**
 * The metric names a query may use, from their real sources:
 * - frp: FACTS.md §11 (`pkg/metrics/prometheus/server.go`, namespace frp, subsystem server);
 * - Prometheus itself: `up`;
 * - HAProxy: the names HAProxy 2.6's built-in exporter really printed (fixtures/).
 */
import * as fs from 'fs';
import * as path from 'path';

export const FRP_METRICS: readonly string[] = [
  'frp_server_client_counts',
  'frp_server_proxy_counts',
  'frp_server_proxy_counts_detailed',
  'frp_server_connection_counts',
  'frp_server_traffic_in',
  'frp_server_traffic_out',
];

export const PROMETHEUS_METRICS: readonly string[] = ['up'];

export const HAPROXY_METRICS: readonly string[] = fs.readFileSync(path.join(__dirname, 'fixtures/haproxy-2.6-metric-names.txt'), 'utf8')
  .split('\n').map(l => l.trim()).filter(l => l && !l.startsWith('#'));

export const ALLOWED_METRICS: ReadonlySet<string> = new Set([...FRP_METRICS, ...PROMETHEUS_METRICS, ...HAPROXY_METRICS]);

const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'inf', 'nan']);

/**
 * Metric names an expression selects. A small scanner, enough for the queries
 * we write: strings, matchers, ranges and grouping label lists are removed,
 * then every identifier that is not a function call or keyword is a metric.
 */
export function metricNames(expr: string): string[] {
  let s = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/'(?:[^'\\]|\\.)*'/g, "''")
    .replace(/`[^`]*`/g, '``');
  s = s.replace(/\{[^}]*\}/g, ' ').replace(/\[[^\]]*\]/g, ' ');
  s = s.replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = new Set<string>();
  const re = /(?<![\w:$])[a-zA-Z_:][a-zA-Z0-9_:]*/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(s)) !== null) {
    const word = m[0];
    const after = s.slice(m.index + word.length);
    if (/^\s*\(/.test(after)) continue; // a function or aggregation
    if (KEYWORDS.has(word.toLowerCase())) continue;
    names.add(word);
  }
  return [...names].sort();
}
