import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { invalid } from '../frp/errors';
import { ExternalTrafficPolicy } from '../spec';

/**
 * Sets `spec.externalTrafficPolicy` of a Service (cdk8s-plus has no field for
 * it). Kubernetes refuses the field on a ClusterIP Service. @internal
 */
export function setExternalTrafficPolicy(where: string, field: string, service: kplus.Service, policy: ExternalTrafficPolicy): void {
  if (policy !== ExternalTrafficPolicy.CLUSTER && policy !== ExternalTrafficPolicy.LOCAL) {
    invalid(where, field, `must be Cluster or Local, got ${JSON.stringify(policy)}`);
  }
  if (service.type !== kplus.ServiceType.LOAD_BALANCER && service.type !== kplus.ServiceType.NODE_PORT) {
    invalid(where, field, `applies to NodePort and LoadBalancer Services only (Kubernetes refuses it on ${service.type})`);
  }
  ApiObject.of(service).addJsonPatch(JsonPatch.add('/spec/externalTrafficPolicy', policy));
}

/** Whether a Service takes traffic from outside the cluster (NodePort or LoadBalancer). @internal */
export function isExternal(type: kplus.ServiceType | string | undefined): boolean {
  return type === kplus.ServiceType.LOAD_BALANCER || type === kplus.ServiceType.NODE_PORT;
}
