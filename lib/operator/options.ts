import type { BundleOptions } from '../bundle';
import { BundleArgs, optionValue } from '../bundle/bundle-args';
import { isDnsLabel } from '../service/field-checks';

/** `cdk8s-frp operator --help`. @internal */
export const OPERATOR_USAGE = `usage: cdk8s-frp operator [--kubeconfig FILE] [--namespace NS]... [BUNDLE OPTIONS]
                          [--metrics-address HOST:PORT] [--health-address HOST:PORT]
                          [--leader-election-namespace NS] [--no-leader-election]
                          [--webhook-address HOST:PORT [--webhook-cert-dir DIR]]

operator runs the controller: it watches frp.io/v1beta1 DistributedService objects,
renders them together as \`cdk8s-frp render\` does (one shared frps) and applies
the bundle with server-side apply (field manager cdk8s-frp-operator), prunes what
it applied that the bundle no longer has, and writes each service's status and
events. In a pod it uses its service account; outside, --kubeconfig FILE (or
$KUBECONFIG, ~/.kube/config).

  --kubeconfig FILE            kubeconfig to use (default: in-cluster, else $KUBECONFIG)
  --namespace NS               (repeatable) serve only DistributedServices in NS
                               (default: every namespace)
  --frps-namespace NS          namespace of the shared frps (render's --namespace;
                               default: the services' namespace if they all share
                               one, else "default")
  --subdomain-host DOMAIN, --token-secret NAME, --frps-replicas N,
  --frps-service-type T, --frps-address HOST (repeatable), --frps-node-port N,
  --client-cidr CIDR (repeatable), --cert-manager-namespace NS,
  --insecure-skip-verify       as for render
  --metrics-address HOST:PORT  Prometheus /metrics (default 0.0.0.0:8080; 0 turns it off)
  --health-address HOST:PORT   /healthz and /readyz (default 0.0.0.0:8081; 0 turns it off)
  --leader-election-namespace NS
                               namespace of the Lease cdk8s-frp-operator (default:
                               the pod's own namespace; required outside a cluster)
  --no-leader-election         run without a Lease (one replica only)
  --webhook-address HOST:PORT  serve the validating and defaulting admission webhooks
                               of DistributedService there (default: off). Without
                               --webhook-cert-dir (outside the cluster) it makes a CA
                               and serving certificate of its own for HOST, registers
                               the webhook configurations cdk8s-frp-operator with the
                               URL https://HOST:PORT (so HOST is an address the API
                               server reaches, not 0.0.0.0; port 0 picks a free one)
                               and removes them when it stops
  --webhook-cert-dir DIR       serve tls.crt and tls.key of DIR (in a pod: the Secret
                               cert-manager issues, mounted; the configurations are
                               FrpOperator's, their CA injected by cainjector), read
                               again when they change`;

/** The parsed command line of `cdk8s-frp operator`. @internal */
export interface OperatorOptions {
  readonly kubeconfig?: string;
  /** Namespaces served; empty: all. */
  readonly namespaces: string[];
  readonly bundle: BundleOptions;
  /** host:port, or undefined for off. */
  readonly metricsAddress?: { host: string; port: number };
  readonly healthAddress?: { host: string; port: number };
  readonly leaderElection: boolean;
  readonly leaderElectionNamespace?: string;
  /** Where the admission webhooks listen; undefined: off. */
  readonly webhookAddress?: { host: string; port: number };
  /** tls.crt and tls.key to serve; undefined: a certificate of its own, registered with a URL to itself. */
  readonly webhookCertDir?: string;
}

/** Parses argv (after `operator`). Throws on a bad option, naming it. @internal */
export function parseOperatorArgs(argv: string[]): OperatorOptions | 'help' {
  let kubeconfig: string | undefined;
  const namespaces: string[] = [];
  const bundleArgs = new BundleArgs('--frps-namespace');
  let metrics: string | undefined = '0.0.0.0:8080';
  let health: string | undefined = '0.0.0.0:8081';
  let leaderElection = true;
  let leaderElectionNamespace: string | undefined;
  let webhook: string | undefined;
  let webhookCertDir: string | undefined;
  const dnsLabel = (option: string, v: string) => {
    if (!isDnsLabel(v)) throw new Error(`${option} must be a DNS label, got ${JSON.stringify(v)}`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => optionValue(argv, ++i, a);
    switch (a) {
      case '--help': case '-h': return 'help';
      case '--kubeconfig': kubeconfig = value(); break;
      case '--namespace': namespaces.push(dnsLabel(a, value())); break;
      case '--metrics-address': metrics = value(); break;
      case '--health-address': health = value(); break;
      case '--leader-election-namespace': leaderElectionNamespace = dnsLabel(a, value()); break;
      case '--no-leader-election': leaderElection = false; break;
      case '--webhook-address': webhook = value(); break;
      case '--webhook-cert-dir': webhookCertDir = value(); break;
      default:
        if (bundleArgs.take(a, value)) break;
        throw new Error(a.startsWith('-') ? `unknown option ${a}` : `unexpected argument ${JSON.stringify(a)} (operator reads DistributedServices from the cluster, not from files)`);
    }
  }
  const bundle = bundleArgs.options();
  const webhookAddress = webhook === undefined ? undefined : address('--webhook-address', webhook);
  if (webhookCertDir !== undefined && !webhookAddress) throw new Error('--webhook-cert-dir is the webhooks\' certificate: it needs --webhook-address HOST:PORT');
  if (webhookAddress && webhookCertDir === undefined && (webhookAddress.host === '0.0.0.0' || webhookAddress.host === '::')) {
    throw new Error(`--webhook-address without --webhook-cert-dir registers https://HOST:PORT with the API server: HOST must be an address it reaches (e.g. 127.0.0.1:9443), got ${JSON.stringify(webhook)}`);
  }
  return {
    kubeconfig,
    namespaces: [...new Set(namespaces)].sort(),
    bundle,
    metricsAddress: address('--metrics-address', metrics),
    healthAddress: address('--health-address', health),
    leaderElection,
    leaderElectionNamespace,
    webhookAddress,
    webhookCertDir,
  };
}

/** HOST:PORT (port 0 is any free port), or "0" for off. */
function address(option: string, v: string): { host: string; port: number } | undefined {
  if (v === '0') return undefined;
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]*):(\d+)$/.exec(v);
  if (!m || Number(m[2]) > 65535) throw new Error(`${option} must be HOST:PORT (or 0 for off), got ${JSON.stringify(v)}`);
  return { host: m[1].replace(/^\[|\]$/g, '') || '0.0.0.0', port: Number(m[2]) };
}
