/**
 * `npm run bench`: how synthesis scales with the number of DistributedServices
 * on one FrpServer. Each size runs in a fresh child process (so peak memory is
 * per size) and is repeated; the table shows the median.
 *
 * Columns:
 *   build   constructing the services (validation, planning, constructs)
 *   synth   build + App.synthYaml() (what `cdk8s synth` does, minus file writes)
 *   floor   serializing the same manifests with the yaml library alone
 *   ratio   synth / floor
 *   maxRSS  peak resident memory of the process
 */
import { execFileSync } from 'child_process';
import { cpus } from 'os';
import { join } from 'path';

const SIZES = [1, 10, 100, 1000];
const REPEATS = 3;

interface Sample { readonly build: number; readonly synth: number; readonly floor: number; readonly objects: number; readonly maxRssMb: number }

function measure(n: number): Sample {
  const out = execFileSync(process.execPath, ['-r', 'ts-node/register/transpile-only', join(__dirname, 'synth-one.ts'), String(n)], {
    encoding: 'utf8',
    env: { ...process.env, TS_NODE_PROJECT: join(__dirname, '..', 'test', 'tsconfig.json'), TS_NODE_PREFER_TS_EXTS: 'true' },
  });
  return JSON.parse(out.trim().split('\n').pop()!);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rows: string[] = [];
rows.push('| services | objects | build (ms) | synth (ms) | floor (ms) | synth/floor | ms per service | max RSS (MB) |');
rows.push('|---:|---:|---:|---:|---:|---:|---:|---:|');
let last: Sample | undefined;
for (const n of SIZES) {
  const samples = Array.from({ length: REPEATS }, () => measure(n));
  const s: Sample = {
    build: median(samples.map(x => x.build)),
    synth: median(samples.map(x => x.synth)),
    floor: median(samples.map(x => x.floor)),
    objects: samples[0].objects,
    maxRssMb: Math.max(...samples.map(x => x.maxRssMb)),
  };
  rows.push(`| ${n} | ${s.objects} | ${s.build.toFixed(0)} | ${s.synth.toFixed(0)} | ${s.floor.toFixed(1)} | ${(s.synth / s.floor).toFixed(1)} | ${(s.synth / n).toFixed(2)} | ${s.maxRssMb.toFixed(0)} |`);
  last = s;
}
console.log(rows.join('\n'));
console.log(`\nmedian of ${REPEATS} runs per size, each in a fresh process; node ${process.version}, ${cpus().length} cores`);
if (last) {
  console.log(`target for 1,000 services: synth <= 2000 ms (${last.synth <= 2000 ? 'met' : 'NOT met'}), <= 5x floor (${last.synth <= 5 * last.floor ? 'met' : 'NOT met'})`);
}
