/**
 * DistributedService manifests the CLI tests render (test/cli.test.ts); the
 * test API server applies them and their bundles too (test/cluster).
 */
/** A grpc service on a port with weighted endpoints, in namespace microservices. */
export const GRPC_SERVICE = `apiVersion: frp.io/v1beta1
kind: DistributedService
metadata: {name: user-service, namespace: microservices}
spec:
  serviceType: grpc
  backends:
    endpoints:
    - {host: user-service-1.internal, port: 9090, weight: 2}
    - {host: user-service-2.internal, port: 9090}
  expose: {type: port, port: 9090}
  loadBalancing: {algorithm: weighted}
`;
/** An http service on a subdomain over selected pods, without a namespace. */
export const WEB_SERVICE = `apiVersion: frp.io/v1beta1
kind: DistributedService
metadata: {name: web}
spec:
  serviceType: http
  backends: {discovery: {mode: selector, selector: {matchLabels: {app: web}}, port: 3000}}
  expose: {type: subdomain, subdomain: web}
`;
