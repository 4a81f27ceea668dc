/**
 * The benchmark's output: medians over the rounds, ratios computed within each round
 * (the paths of one round ran back to back, so a neighbour's load hits them alike), a
 * Markdown table and an SVG chart written here (no external service).
 */

/** One measured cell in one round. */
export interface Sample {
  readonly round: number;
  readonly rps: number;
  readonly mbps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  /** CPU seconds per 10,000 requests (bulk: per GB), by program (frps, frpc, haproxy). */
  readonly cpu: Record<string, number>;
}

/** A row of the table: a workload at a concurrency and member count, on one path. */
export interface Row {
  readonly group: string;
  readonly workload: 'keep-alive' | 'new connection' | 'bulk';
  readonly connections: number;
  readonly members: number;
  readonly path: string;
  readonly samples: Sample[];
}

export const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** The figure a workload is judged on: MB/s for bulk, requests/s otherwise. */
export const throughput = (row: Row, s: Sample): number => (row.workload === 'bulk' ? s.mbps : s.rps);

/** CPU seconds per 10,000 requests (bulk: per GB) of every frp and HAProxy process of the path together. */
export const cpuTotal = (_: Row, s: Sample): number => Object.values(s.cpu).reduce((n, x) => n + x, 0);

export interface Ratio { readonly median: number; readonly min: number; readonly max: number }

/** value(a) / value(b) per round, then the median and range over the rounds. */
export function ratio(a: Row | undefined, b: Row | undefined, value: (row: Row, s: Sample) => number): Ratio | undefined {
  if (!a || !b) return undefined;
  const rs: number[] = [];
  for (const sa of a.samples) {
    const sb = b.samples.find((x) => x.round === sa.round);
    if (sb) rs.push(value(a, sa) / value(b, sb));
  }
  const ok = rs.filter((x) => Number.isFinite(x));
  if (ok.length === 0) return undefined;
  return { median: median(ok), min: Math.min(...ok), max: Math.max(...ok) };
}

/** The spread of a figure over the rounds: (max - min) / 2 as a share of the median. */
export function spread(xs: number[]): number {
  const ok = xs.filter((x) => Number.isFinite(x));
  if (ok.length < 2) return NaN;
  return (Math.max(...ok) - Math.min(...ok)) / 2 / median(ok);
}

const fmt = (x: number, digits = 0) => (Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '–');
const pct = (x: number) => (Number.isFinite(x) ? `±${Math.round(x * 100)}%` : '');
const fmtRatio = (r?: Ratio) => (r ? `${r.median.toFixed(2)}× (${r.min.toFixed(2)}–${r.max.toFixed(2)})` : '');

/** The rows' lookup: the row of `path` for the same workload, connections and members. */
export class Results {
  constructor(public readonly rows: Row[]) {}

  public find(like: Row, path: string, members = like.members): Row | undefined {
    return this.rows.find((r) => r.workload === like.workload && r.connections === like.connections && r.members === members && r.path === path);
  }

  public table(basePath: string, floorPath: string): string {
    const out = [
      '| workload | conns | members | path | req/s | MB/s | spread | p50 ms | p99 ms | × direct | × frp defaults | CPU s/10k req frps | frpc | haproxy | total | CPU × frp defaults | errors |',
      '|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ];
    for (const r of this.rows) {
      const s = r.samples;
      const cpu = (k: string) => (s.some((x) => x.cpu[k] !== undefined) ? fmt(median(s.map((x) => x.cpu[k] ?? NaN)), 3) : '');
      const floor = r.path === floorPath ? undefined : ratio(r, this.find(r, floorPath, 1), throughput);
      const base = r.path === basePath ? undefined : ratio(r, this.find(r, basePath), throughput);
      out.push(`| ${r.workload} | ${r.connections} | ${r.members} | ${r.path} | ${fmt(median(s.map((x) => x.rps)))} | ${fmt(median(s.map((x) => x.mbps)), 1)} | ${pct(spread(s.map((x) => throughput(r, x))))} | ${fmt(median(s.map((x) => x.p50Ms)), 2)} | ${fmt(median(s.map((x) => x.p99Ms)), 2)} | ${fmtRatio(floor)} | ${fmtRatio(base)} | ${cpu('frps')} | ${cpu('frpc')} | ${cpu('haproxy')} | ${s.some((x) => cpuTotal(r, x) > 0) ? fmt(median(s.map((x) => cpuTotal(r, x))), 3) : ''} | ${r.path === basePath || !s.some((x) => cpuTotal(r, x) > 0) ? '' : fmtRatio(ratio(r, this.find(r, basePath), cpuTotal))} | ${s.reduce((n, x) => n + x.errors, 0)} |`);
    }
    return out.join('\n');
  }

  /**
   * A horizontal bar chart of each row's throughput as a multiple of frp's defaults
   * (log scale, whiskers: the range over the rounds).
   */
  public svg(basePath: string, title: string): string {
    const bars = this.rows.filter((r) => r.path !== basePath).map((r) => ({ r, q: ratio(r, this.find(r, basePath), throughput) })).filter((b) => b.q);
    const colors: Record<string, string> = {};
    const palette = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#9c755f', '#bab0ac'];
    for (const b of bars) colors[b.r.path] ??= palette[Object.keys(colors).length % palette.length];
    const left = 300; const width = 900; const rowH = 16; const top = 50; const plotW = width - left - 90;
    const lo = Math.log10(0.1); const hi = Math.log10(30);
    const x = (v: number) => left + ((Math.log10(Math.min(30, Math.max(0.1, v))) - lo) / (hi - lo)) * plotW;
    const height = top + bars.length * rowH + 40;
    const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
    const parts = [
      `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="11">`,
      '<rect width="100%" height="100%" fill="white"/>',
      `<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>`,
      `<text x="10" y="36">throughput (req/s; MB/s for bulk) as a multiple of ${esc(basePath)}, median of the rounds, whiskers: range; log scale</text>`,
    ];
    for (const t of [0.1, 0.25, 0.5, 1, 2, 4, 10, 30]) {
      parts.push(`<line x1="${x(t)}" y1="${top - 4}" x2="${x(t)}" y2="${top + bars.length * rowH}" stroke="${t === 1 ? '#000' : '#ddd'}"/>`);
      parts.push(`<text x="${x(t)}" y="${top + bars.length * rowH + 14}" text-anchor="middle">${t}×</text>`);
    }
    bars.forEach(({ r, q }, i) => {
      const y = top + i * rowH;
      parts.push(`<text x="${left - 6}" y="${y + 11}" text-anchor="end">${esc(`${r.workload} c${r.connections} m${r.members} · ${r.path}`)}</text>`);
      parts.push(`<rect x="${x(0.1)}" y="${y + 2}" width="${Math.max(1, x(q!.median) - x(0.1))}" height="${rowH - 5}" fill="${colors[r.path]}"/>`);
      parts.push(`<line x1="${x(q!.min)}" y1="${y + rowH / 2}" x2="${x(q!.max)}" y2="${y + rowH / 2}" stroke="#000"/>`);
      parts.push(`<text x="${Math.max(x(q!.median), x(q!.max)) + 4}" y="${y + 11}">${q!.median.toFixed(2)}×</text>`);
    });
    parts.push('</svg>');
    return `${parts.join('\n')}\n`;
  }
}
