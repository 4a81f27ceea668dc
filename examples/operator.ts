import { Chart, ChartProps } from 'cdk8s';
import { Construct } from 'constructs';
import { FrpOperator } from '../lib';

/**
 * `cdk8s-frp operator` in its own namespace: the DistributedService CRD, its
 * ServiceAccount and RBAC, two replicas electing a leader, a PDB, a
 * NetworkPolicy and monitoring. Every DistributedService applied to the
 * cluster then becomes a running bundle, with one shared frps in "frp".
 *
 *   npx cdk8s synth && kubectl apply --server-side -f dist/operator.k8s.yaml
 *
 * Before applying: the namespace (PodSecurity restricted), and in every
 * namespace with services the token Secret (never in Git):
 *   kubectl create namespace frp-system
 *   kubectl -n frp create secret generic frp-token --from-literal=token="$(openssl rand -hex 32)"
 */
export class OperatorChart extends Chart {
  public readonly operator: FrpOperator;

  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'frp-system', ...props });
    this.operator = new FrpOperator(this, 'operator', {
      serverNamespace: 'frp',
      subDomainHost: 'apps.example.com',
      // the image built from this repository's Dockerfile (README "The operator")
      image: 'ghcr.io/cdk8s-frp/cdk8s-frp:0.1.0',
      monitoring: { labels: { release: 'kube-prometheus-stack' } },
    });
  }
}
