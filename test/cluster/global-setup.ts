import { mkdtempSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/**
 * jest globalSetup: gives this run its own test-cluster state directory (the
 * cluster starts lazily, in the first test file that needs it) and makes the
 * cluster stop by itself if jest ends without its teardown. With
 * CDK8S_FRP_CLUSTER_DIR set, the tests use (or start) that cluster and leave it
 * running.
 */
export default function globalSetup(): void {
  if (process.env.CDK8S_FRP_CLUSTER_DIR) return;
  process.env.CDK8S_FRP_CLUSTER_DIR = mkdtempSync(join(tmpdir(), 'cdk8s-frp-test-cluster-'));
  process.env.CDK8S_FRP_CLUSTER_OWNER = String(process.pid);
  process.env.CDK8S_FRP_CLUSTER_RUN = 'own';
}
