import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { claimSubnet, Subnet } from '../helpers/loopback';

/** The run's claim of a 127.B.0.0/16 for the test cluster, released by ./global-teardown.ts. */
export const CLUSTER_CLAIM = '__cdk8sFrpClusterClaim';

/**
 * jest globalSetup: gives this run its own test-cluster state directory (the
 * cluster starts lazily, in the first test file that needs it) and makes the
 * cluster stop by itself if jest ends without its teardown. It also claims a
 * loopback subnet for the run (test/helpers/loopback.ts): the cluster's programs
 * listen on its 127.B.0.1 with fixed ports (CDK8S_FRP_CLUSTER_ADDRESS), which no
 * other test or run can take; the claim ends with the run. With
 * CDK8S_FRP_CLUSTER_DIR set, the tests use (or start) that cluster and leave it
 * running.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.CDK8S_FRP_CLUSTER_DIR) return;
  const subnet = await claimSubnet();
  (globalThis as unknown as Record<string, Subnet>)[CLUSTER_CLAIM] = subnet;
  process.env.CDK8S_FRP_CLUSTER_ADDRESS = `127.${subnet.base}.0.1`;
  process.env.CDK8S_FRP_CLUSTER_DIR = mkdtempSync(join(tmpdir(), 'cdk8s-frp-test-cluster-'));
  process.env.CDK8S_FRP_CLUSTER_OWNER = String(process.pid);
  process.env.CDK8S_FRP_CLUSTER_RUN = 'own';
}
