export * from './haproxy-model';
export * from './haproxy-config';
export * from './nginx-stream-model';
export * from './nginx-stream-config';
export * from './haproxy-balancer';
export * from './udp-balancer';
export * from './balancer-workload-options';
