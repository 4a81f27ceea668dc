import { ApiObject, JsonPatch } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { invalid } from '../frp/errors';

/**
 * How a Service of type NodePort or LoadBalancer hands outside traffic to its
 * pods (`spec.externalTrafficPolicy`).
 */
export enum ExternalTrafficPolicy {
  /**
   * Any node forwards to any ready pod, spreading load evenly; the node
   * replaces the client address with its own (SNAT), so the pods see node
   * addresses.
   */
  CLUSTER = 'Cluster',
  /**
   * A node forwards only to ready pods on itself and keeps the client
   * address. Nodes without such a pod drop the traffic (a cloud load balancer
   * stops sending them any through the Service's health check node port;
   * a NodePort client must dial a node that runs one), and load is spread per
   * node rather than per pod.
   */
  LOCAL = 'Local',
}

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
