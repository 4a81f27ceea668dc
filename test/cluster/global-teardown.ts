import { execFileSync } from 'child_process';
import { rmSync } from 'fs';
import { join } from 'path';
import { CLUSTER_CLAIM } from './global-setup';
import { Subnet } from '../helpers/loopback';

/** jest globalTeardown: stops the cluster this run started (./global-setup.ts), then releases its subnet. */
export default async function globalTeardown(): Promise<void> {
  const dir = process.env.CDK8S_FRP_CLUSTER_DIR;
  if (process.env.CDK8S_FRP_CLUSTER_RUN !== 'own' || !dir) return;
  execFileSync(join(__dirname, '..', '..', 'scripts', 'test-cluster.sh'), ['stop'], { stdio: 'ignore', timeout: 120_000 });
  rmSync(dir, { recursive: true, force: true });
  await (globalThis as unknown as Record<string, Subnet | undefined>)[CLUSTER_CLAIM]?.dns.close();
}
