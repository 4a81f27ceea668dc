/**
 * `npm run bench:dataplane:compare -- a.json b.json c.json`: do several runs of
 * bench:dataplane agree? For every row, its throughput and CPU as a multiple of frp's
 * defaults in each run (median, and the range over that run's rounds); the runs agree on a
 * figure when the medians of the runs differ by no more than the widest range within a run.
 */
import * as fs from 'fs';
import { cpuTotal, Ratio, ratio, Results, Row, throughput } from './report';

const BASE = 'frp defaults';
const files = process.argv.slice(2);
if (files.length < 2) {
  process.stderr.write('usage: compare.ts RUN.json RUN.json [RUN.json...] (bench/results/dataplane.json of each run)\n');
  process.exit(2);
}
const runs = files.map((f) => new Results(JSON.parse(fs.readFileSync(f, 'utf8')).rows as Row[]));
const show = (r?: Ratio) => (r ? `${r.median.toFixed(2)} (${r.min.toFixed(2)}–${r.max.toFixed(2)})` : '–');

function agree(rs: (Ratio | undefined)[]): string {
  const ok = rs.filter((r): r is Ratio => r !== undefined);
  if (ok.length < 2) return '–';
  const medians = ok.map((r) => r.median);
  const between = Math.max(...medians) - Math.min(...medians);
  const within = Math.max(...ok.map((r) => r.max - r.min));
  return between <= within ? 'yes' : `no (${between.toFixed(2)} > ${within.toFixed(2)})`;
}

const out: string[] = [
  `| workload | conns | members | path | ${files.map((_, i) => `× frp defaults, run ${i + 1}`).join(' | ')} | agree | ${files.map((_, i) => `CPU × frp defaults, run ${i + 1}`).join(' | ')} | agree |`,
  `|---|---:|---:|---|${files.map(() => '---:').join('|')}|---|${files.map(() => '---:').join('|')}|---|`,
];
let agreeing = 0;
let figures = 0;
for (const row of runs[0].rows.filter((r) => r.path !== BASE)) {
  const per = runs.map((res) => {
    const mine = res.find(row, row.path);
    const base = res.find(row, BASE);
    const hasCpu = mine?.samples.some((s) => cpuTotal(mine, s) > 0);
    return { t: ratio(mine, base, throughput), c: hasCpu ? ratio(mine, base, cpuTotal) : undefined };
  });
  const at = agree(per.map((p) => p.t));
  const ac = agree(per.map((p) => p.c));
  for (const a of [at, ac]) if (a !== '–') { figures++; if (a === 'yes') agreeing++; }
  out.push(`| ${row.workload} | ${row.connections} | ${row.members} | ${row.path} | ${per.map((p) => show(p.t)).join(' | ')} | ${at} | ${per.map((p) => show(p.c)).join(' | ')} | ${ac} |`);
}
out.push('', `${agreeing} of ${figures} figures agree across the ${files.length} runs (medians within the widest range of one run).`);
process.stdout.write(`${out.join('\n')}\n`);
