import { App, Chart } from 'cdk8s';
import { DistributedServiceCrd } from '../crd/distributed-service-crd';

/**
 * The DistributedService CRD as YAML (`cdk8s-frp crd`), for GitOps users who
 * keep it in a repository; `deploy/crd.yaml` is this text (a test keeps them
 * equal).
 * @internal
 */
export function crdYaml(): string {
  const app = new App();
  new DistributedServiceCrd(new Chart(app, 'crd'), 'DistributedService');
  return app.synthYaml();
}
