/**
 * The webhooks as `cdk8s-frp operator --webhook-address HOST:PORT` runs them
 * outside the cluster (startLocalWebhooks), in a process of their own:
 * @kubernetes/client-node is an ES module, which node loads and jest does not.
 * argv: KUBECONFIG HOST PORT NAME NAMESPACE... Logs JSON lines on stderr;
 * SIGTERM removes the registration and stops the server (exit 0).
 */
import * as k8s from '@kubernetes/client-node';
import { startLocalWebhooks } from '../../lib/operator/webhook';

const [kubeconfig, host, port, name, ...namespaces] = process.argv.slice(2);
const log = (msg: string, fields: object = {}) => process.stderr.write(`${JSON.stringify({ msg, ...fields })}\n`);
const kc = new k8s.KubeConfig();
kc.loadFromFile(kubeconfig);
startLocalWebhooks(kc, { host, port: Number(port), namespaces, bundle: {}, name, log }).then(webhooks => {
  log('ready', { port: webhooks.port });
  process.once('SIGTERM', () => {
    webhooks.stop().then(() => {
      log('stopped');
      process.exit(0);
    }, e => {
      log('stop failed', { error: String(e) });
      process.exit(1);
    });
  });
}, e => {
  log('start failed', { error: String(e?.body ?? e?.message ?? e) });
  process.exit(1);
});
