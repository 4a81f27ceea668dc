import { execFileSync } from 'child_process';
import { rmSync } from 'fs';
import { join } from 'path';
import { CLUSTER_CLAIM, RUN_TMPDIR } from './global-setup';
import { Subnet } from '../helpers/loopback';

/**
 * jest globalTeardown: stops the cluster this run started (./global-setup.ts), then releases its
 * subnet; removes the run's temporary directory (FRP_LIVE_KEEP keeps it).
 */
export default async function globalTeardown(): Promise<void> {
  const g = globalThis as unknown as Record<string, unknown>;
  const dir = process.env.CDK8S_FRP_CLUSTER_DIR;
  if (process.env.CDK8S_FRP_CLUSTER_RUN === 'own' && dir) {
    execFileSync(join(__dirname, '..', '..', 'scripts', 'test-cluster.sh'), ['stop'], { stdio: 'ignore', timeout: 120_000 });
    rmSync(dir, { recursive: true, force: true });
    await (g[CLUSTER_CLAIM] as Subnet | undefined)?.dns.close();
  }
  const run = g[RUN_TMPDIR] as string | undefined;
  if (!run) return;
  if (process.env.FRP_LIVE_KEEP) process.stderr.write(`FRP_LIVE_KEEP: the run's temporary files are in ${run}\n`);
  else rmSync(run, { recursive: true, force: true });
}
