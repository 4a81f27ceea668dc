import * as fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import { describeBundleOnCluster } from './bundles';
import { startCluster } from './cluster';
import { cases, expectContract, runInProcess } from '../helpers/input-cases';

jest.setTimeout(300_000);
beforeAll(() => startCluster());

// A sample of the bundles the input property test (test/input-property.test.ts)
// renders from generated input, applied for real: the first valid ones of a
// fixed-seed sample.
const SAMPLE = 4;
const valid: { name: string; docs: any[] }[] = [];
for (const c of fc.sample(cases, { numRuns: 60, seed: 20261130 })) {
  if (valid.length === SAMPLE) break;
  const r = runInProcess(c);
  if (expectContract(r, c) === 'rendered') valid.push({ name: `generated input ${valid.length + 1} (${c.kind})`, docs: parseAllDocuments(r.out).map(d => d.toJS()) });
}

test(`the sample holds ${SAMPLE} valid bundles`, () => {
  expect(valid).toHaveLength(SAMPLE);
});

for (const { name, docs } of valid) describeBundleOnCluster(name, () => docs);
