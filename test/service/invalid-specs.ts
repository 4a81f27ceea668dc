/**
 * Specs the library refuses, each with the first message it gives (at
 * "app/svc"): the planner's unit tests (plan.test.ts) and the test API server
 * (test/cluster: which of them the CRD's schema and CEL also refuse, and at
 * which field) share them.
 */
export const httpSpec = (extra: any = {}) => ({
  serviceType: 'http',
  backends: { discovery: { mode: 'selector', selector: { matchLabels: { app: 'x' } }, port: 8080 } },
  expose: { domain: 'x.example.com' },
  ...extra,
});
export const tcpSpec = (extra: any = {}) => ({
  serviceType: 'tcp',
  backends: { endpoints: [{ host: 'db-1.internal', port: 5432 }] },
  expose: { type: 'port', port: 5432 },
  ...extra,
});

/** [what is wrong, spec, the library's message]. */
export const INVALID_SPECS: [string, any, string][] = [
  ['externalTrafficPolicy on a ClusterIP exposure', tcpSpec({ expose: { type: 'port', port: 5432, externalTrafficPolicy: 'Local' } }), 'app/svc: spec.expose.externalTrafficPolicy: applies to a port exposure whose serviceType is NodePort or LoadBalancer (Kubernetes refuses it on a ClusterIP Service; an Ingress or Gateway has its own Service)'],
  ['externalTrafficPolicy behind a Gateway', tcpSpec({ expose: { type: 'port', port: 5432, externalTrafficPolicy: 'Local', gateway: { name: 'gw' } } }), 'app/svc: spec.expose.externalTrafficPolicy: applies to a port exposure whose serviceType is NodePort or LoadBalancer (Kubernetes refuses it on a ClusterIP Service; an Ingress or Gateway has its own Service)'],
  ['http without domain or path (seed webhook)', httpSpec({ expose: { type: 'domain' } }), 'app/svc: spec.expose.domain: is required when expose.type is domain'],
  ['discovery and endpoints together (seed webhook)', tcpSpec({ backends: { endpoints: [{ host: 'a', port: 1 }], discovery: { port: 1 } } }), 'app/svc: spec.backends.endpoints: must not be set together with spec.backends.discovery (exactly one of them)'],
  ['neither discovery nor endpoints', tcpSpec({ backends: {} }), 'app/svc: spec.backends.discovery: is required unless spec.backends.endpoints is set (exactly one of them)'],
  ['manual mTLS without caSecret (seed webhook)', tcpSpec({ security: { mtls: { enabled: true, mode: 'manual', certSecret: 'c' } } }), 'app/svc: spec.security.mtls.caSecret: manual mTLS requires caSecret (the Secret with ca.crt)'],
  ['an unknown serviceType', tcpSpec({ serviceType: 'sctp' }), 'app/svc: spec.serviceType: must be one of "http", "tcp", "udp", "grpc", got "sctp"'],
  ['an unknown algorithm', tcpSpec({ loadBalancing: { algorithm: 'fastest' } }), 'app/svc: spec.loadBalancing.algorithm: must be one of "random", "round-robin", "least-conn", "weighted", "ip-hash", got "fastest"'],
  ['a bad duration', tcpSpec({ loadBalancing: { healthCheck: { interval: '10' } } }), 'app/svc: spec.loadBalancing.healthCheck.interval: must match ^[0-9]+(s|m)$, got "10"'],
  ['hours where the seed allows s|m only', tcpSpec({ advanced: { timeout: { dial: '1h' } } }), 'app/svc: spec.advanced.timeout.dial: must match ^[0-9]+(s|m)$, got "1h"'],
  ['a bad path', httpSpec({ expose: { type: 'path', domain: 'x.example.com', path: 'v1' } }), 'app/svc: spec.expose.path: must match ^/[a-zA-Z0-9\\-_/]*$, got "v1"'],
  ['port 0', tcpSpec({ expose: { type: 'port', port: 0 } }), 'app/svc: spec.expose.port: must be from 1 to 65535, got 0'],
  ['port 70000', tcpSpec({ backends: { endpoints: [{ host: 'a', port: 70000 }] } }), 'app/svc: spec.backends.endpoints[0].port: must be from 1 to 65535, got 70000'],
  ['a bandwidth unit frp lacks', tcpSpec({ advanced: { bandwidth: { limit: '10TB' } } }), 'app/svc: spec.advanced.bandwidth.limit: must match ^[0-9]+(MB|KB|GB)$, got "10TB"'],
  ['a typo in a field name', tcpSpec({ loadBalancing: { algoritm: 'random' } }), 'app/svc: spec.loadBalancing.algoritm: is not a known field (known: algorithm, sessionAffinity, healthCheck)'],
  ['a string where a number belongs', tcpSpec({ advanced: { connectionPool: { size: '10' } } }), 'app/svc: spec.advanced.connectionPool.size: must be an integer, got "10"'],
  ['a dial timeout frpc does not take', tcpSpec({ advanced: { timeout: { dial: '90m' } } }), 'app/svc: spec.advanced.timeout.dial: must be at most 60m (frp takes at most an hour), got 90m'],
  ['a health check interval over an hour', tcpSpec({ loadBalancing: { healthCheck: { interval: '61m' } } }), 'app/svc: spec.loadBalancing.healthCheck.interval: must be at most 60m (frp takes at most an hour), got 61m'],
  ['a keepalive over a day', tcpSpec({ advanced: { timeout: { keepAlive: '1441m' } } }), 'app/svc: spec.advanced.timeout.keepAlive: must be at most 24h (longer idle or affinity times keep state for a day or more), got 1441m'],
  ['pool size 0', tcpSpec({ advanced: { connectionPool: { size: 0 } } }), 'app/svc: spec.advanced.connectionPool.size: must be from 1 to 100, got 0'],
  ['a tcp service on a domain', tcpSpec({ expose: { type: 'domain', domain: 'db.example.com' } }), 'app/svc: spec.expose.type: a tcp service is exposed on a port: set expose.type to port and expose.port (domain, subdomain and path routing is for http)'],
  ['a tcp service with a domain but no type (it defaults to port)', tcpSpec({ expose: { domain: 'db.example.com' } }),
    'app/svc: spec.expose.port: is required when expose.type is port\napp/svc: spec.expose.domain: is for host routing: expose.type port takes expose.port only'],
  ['a port exposure without a port', tcpSpec({ expose: { type: 'port' } }), 'app/svc: spec.expose.port: is required when expose.type is port'],
  ['a path exposure without a host', httpSpec({ expose: { type: 'path', path: '/x' } }), 'app/svc: spec.expose.domain: frp routes http by host: a path exposure also needs expose.domain or expose.subdomain'],
  ['selector mode without a selector', httpSpec({ backends: { discovery: { mode: 'selector', port: 1 } } }), 'app/svc: spec.backends.discovery.selector: mode selector needs matchLabels or matchExpressions'],
  ['discovery without a port', httpSpec({ backends: { discovery: { mode: 'dns' } } }), 'app/svc: spec.backends.discovery.port: is required (the backend port, 1-65535)'],
  ['more balancer slots than one DNS answer holds', httpSpec({ backends: { discovery: { mode: 'dns', port: 8080, maxBackends: 501 } } }), 'app/svc: spec.backends.discovery.maxBackends: must be from 1 to 500, got 501'],
  ['authentication without its Secret', httpSpec({ security: { authentication: { type: 'oauth2' } } }), 'app/svc: spec.security.authentication.tokenSecret: is required for authentication type oauth2 (the Secret with the JWT public key)'],
  ['roles without oauth2', httpSpec({ security: { authentication: { type: 'apikey', tokenSecret: 'k' }, authorization: { enabled: true, rules: [{ path: '/a/*', roles: ['admin'] }] } } }),
    'app/svc: spec.security.authorization.rules: rules with roles need authentication type oauth2 (roles come from the JWT)'],
  ['authorization without rules', httpSpec({ security: { authorization: { enabled: true } } }), 'app/svc: spec.security.authorization.rules: authorization is enabled but has no rules (every request would be refused)'],
  ['end-user auth on tcp', tcpSpec({ security: { authentication: { type: 'apikey', tokenSecret: 'k' } } }), 'app/svc: spec.security.authentication.type: end-user apikey authentication needs an http service, not tcp'],
  ['health check timeout over interval', tcpSpec({ loadBalancing: { healthCheck: { interval: '5s', timeout: '10s' } } }), 'app/svc: spec.loadBalancing.healthCheck.timeout: must not be longer than the interval (5s), got 10s'],
  ['udp least-conn over discovered pods', { serviceType: 'udp', backends: { discovery: { mode: 'dns', port: 53 } }, expose: { type: 'port', port: 5353 }, loadBalancing: { algorithm: 'least-conn' } },
    'app/svc: spec.loadBalancing: a udp service with discovered backends is spread by its Kubernetes Service (kube-proxy) only; algorithm least-conn needs backends.endpoints'],
  ['too many weighted members', tcpSpec({ backends: { endpoints: [{ host: 'a', port: 1, weight: 100 }, { host: 'b', port: 1, weight: 2 }] } }),
    'app/svc: spec.backends.endpoints: endpoints times weights give 102 group members per frpc pod; at most 100 (lower the weights)'],
];
