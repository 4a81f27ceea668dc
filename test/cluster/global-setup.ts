import { chmodSync, mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { claimSubnet } from '../helpers/loopback';

/** The run's claim of a 127.B.0.0/16 for the test cluster, released by ./global-teardown.ts. */
export const CLUSTER_CLAIM = '__cdk8sFrpClusterClaim';

/** The run's temporary directory, removed by ./global-teardown.ts. */
export const RUN_TMPDIR = '__cdk8sFrpRunTmpdir';

/**
 * jest globalSetup: gives this run its own test-cluster state directory (the
 * cluster starts lazily, in the first test file that needs it) and makes the
 * cluster stop by itself if jest ends without its teardown. It also claims a
 * loopback subnet for the run (test/helpers/loopback.ts): the cluster's programs
 * listen on its 127.B.0.1 with fixed ports (CDK8S_FRP_CLUSTER_ADDRESS), which no
 * other test or run can take; the claim ends with the run. With
 * CDK8S_FRP_CLUSTER_DIR set, the tests use (or start) that cluster and leave it
 * running.
 *
 * Every run gets its own temporary directory, the TMPDIR of the jest workers and
 * of every program a test starts: whatever a test or a library (cdk8s'
 * `Testing.app()` makes an output directory per app) leaves in os.tmpdir() goes
 * with the run (FRP_LIVE_KEEP keeps it, for a look at a failed run).
 */
export default async function globalSetup(): Promise<void> {
  const g = globalThis as unknown as Record<string, unknown>;
  if (!process.env.CDK8S_FRP_CLUSTER_DIR) {
    const subnet = await claimSubnet();
    g[CLUSTER_CLAIM] = subnet;
    process.env.CDK8S_FRP_CLUSTER_ADDRESS = `127.${subnet.base}.0.1`;
    process.env.CDK8S_FRP_CLUSTER_DIR = mkdtempSync(join(tmpdir(), 'cdk8s-frp-test-cluster-'));
    process.env.CDK8S_FRP_CLUSTER_OWNER = String(process.pid);
    process.env.CDK8S_FRP_CLUSTER_RUN = 'own';
  }
  const run = mkdtempSync(join(tmpdir(), 'cdk8s-frp-test-run-'));
  // as /tmp itself: the live harness runs pods' processes as their non-root users, which reach the
  // harness's programs under it (a preStop hook's frpc)
  chmodSync(run, 0o1777);
  g[RUN_TMPDIR] = run;
  process.env.TMPDIR = run;
}
