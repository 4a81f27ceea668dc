// The input contract of `cdk8s-frp render` (issue 11) over generated input:
// mutations of valid manifests, conflicting manifests rendered together and
// raw YAML edge cases (test/helpers/input-cases.ts). For every input: a bundle
// that passes every strict check (Kubernetes schema, frp's own verify, wiring)
// with exit 0 and nothing on stderr, or exit 1, nothing on stdout and every
// message naming a file, a document and the user's spec./metadata. field.
//
// CI runs a fixed seed in-process (INPUT_PROPERTY_RUNS cases, at least 2,000)
// and a small sample as real CLI processes. More seeds by hand:
//   INPUT_PROPERTY_SEED=7 INPUT_PROPERTY_RUNS=5000 npx jest test/input-property.test.ts
import { spawn } from 'child_process';
import { join } from 'path';
import * as fc from 'fast-check';
import { Case, cases, expectContract, Outcome, runInProcess, writeCase } from './helpers/input-cases';

const SEED = Number(process.env.INPUT_PROPERTY_SEED ?? 20261130);
const RUNS = Number(process.env.INPUT_PROPERTY_RUNS ?? 2000);
const PROCESS_RUNS = Number(process.env.INPUT_PROPERTY_PROCESS_RUNS ?? 4);

describe('cdk8s-frp render over generated input (issue 11)', () => {
  test(`${RUNS} cases in-process, seed ${SEED}: a valid bundle or exit 1 naming document and field`, () => {
    const counts: Record<string, number> = {};
    fc.assert(fc.property(cases, (c) => {
      const outcome = expectContract(runInProcess(c), c);
      counts[`${c.kind} ${outcome}`] = (counts[`${c.kind} ${outcome}`] ?? 0) + 1;
    }), { numRuns: RUNS, seed: SEED, endOnFailure: true });
    // eslint-disable-next-line no-console
    if (process.env.INPUT_PROPERTY_SEED) console.log(`seed ${SEED}, ${RUNS} cases:`, counts);
    // the generator reaches both outcomes for every kind of input, or the property proves little
    for (const kind of ['mutation', 'conflict', 'yaml']) {
      expect(counts[`${kind} rendered`] ?? 0).toBeGreaterThan(RUNS / 100);
      expect(counts[`${kind} refused`] ?? 0).toBeGreaterThan(RUNS / 100);
    }
  }, 1_800_000);

  test(`${PROCESS_RUNS} cases as real processes agree with the in-process run`, async () => {
    const bin = join(__dirname, '..', 'bin', 'cdk8s-frp');
    const sample = fc.sample(cases, { numRuns: PROCESS_RUNS, seed: SEED + 1 });
    const run = (c: Case) => new Promise<Outcome>((resolve, reject) => {
      const child = spawn(process.execPath, [bin, 'render', ...c.options, ...writeCase(c)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
      child.stdout.on('data', d => { out += d; });
      child.stderr.on('data', d => { err += d; });
      child.on('error', reject);
      child.on('close', code => {
        clearTimeout(timer);
        resolve({ code: code ?? -1, out, err });
      });
    });
    // two at a time (the machine has two cores)
    for (let i = 0; i < sample.length; i += 2) {
      const batch = sample.slice(i, i + 2);
      const outcomes = await Promise.all(batch.map(run));
      batch.forEach((c, j) => {
        expectContract(outcomes[j], c);
        const inProcess = runInProcess(c);
        expect(outcomes[j].code).toBe(inProcess.code);
        expect(outcomes[j].out).toBe(inProcess.out);
      });
    }
  }, 600_000);
});
