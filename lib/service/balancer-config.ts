import { Duration } from 'cdk8s';
import { IConstruct } from 'constructs';
import { ServicePlan } from './plan';
import { HaproxyBalancer } from '../balancer/haproxy-balancer';
import {
  EndUserAuthentication, HaproxyAffinity, HaproxyBalance, HaproxyMode, HaproxyServiceOptions, HaproxyTargets, HaproxyTimeouts,
} from '../balancer/haproxy-model';
import { NginxStreamBalance, NginxUdpService } from '../balancer/nginx-stream-model';
import { AuthenticationType, HealthCheckType, LoadBalancingAlgorithm } from '../spec';

/** Port the balancer listens on for frpc (one service per balancer). @internal */
export const BALANCER_PORT = 8000;

/**
 * Keys the `security.authentication.tokenSecret` Secret must have, by type:
 * API keys and static tokens one per line, the JWT verification key in PEM.
 */
export const AUTH_SECRET_KEYS: { readonly [type: string]: string } = {
  [AuthenticationType.API_KEY]: 'keys',
  [AuthenticationType.TOKEN]: 'tokens',
  [AuthenticationType.OAUTH2]: 'public-key.pem',
};

/** Where the balancer reaches the backends. @internal */
export type BalancerBackends =
  | { readonly kind: 'endpoints' }
  | { readonly kind: 'dns'; readonly hostname: string; readonly port: number; readonly maxBackends: number };

/**
 * The HAProxy service for a planned balancer tier: the plan (the one mapping of
 * the seed spec) turned into the typed model. @internal
 */
export function haproxyServiceFor(scope: IConstruct, plan: ServicePlan, backends: BalancerBackends): HaproxyServiceOptions {
  const b = plan.balancer!;
  const http = b.mode === 'http';
  const targets = backends.kind === 'dns'
    ? HaproxyTargets.dns({ hostname: backends.hostname, port: backends.port, maxServers: backends.maxBackends })
    : HaproxyTargets.endpoints((plan.backends.kind === 'endpoints' ? plan.backends.endpoints : []).map(e => ({ host: e.host, port: e.port, weight: e.weight ?? 1 })));
  const balance = {
    [LoadBalancingAlgorithm.RANDOM]: HaproxyBalance.RANDOM,
    [LoadBalancingAlgorithm.ROUND_ROBIN]: HaproxyBalance.ROUND_ROBIN,
    [LoadBalancingAlgorithm.WEIGHTED]: HaproxyBalance.ROUND_ROBIN, // with server weights
    [LoadBalancingAlgorithm.LEAST_CONN]: HaproxyBalance.LEAST_CONN,
    // tcp: the client address from frpc's PROXY v2 header; http: frps' X-Forwarded-For
    [LoadBalancingAlgorithm.IP_HASH]: http ? HaproxyBalance.FORWARDED_FOR_HASH : HaproxyBalance.SOURCE,
  }[b.algorithm];
  const authFile = (type: AuthenticationType) => HaproxyBalancer.authFile(scope, AUTH_SECRET_KEYS[type]);
  let authentication: EndUserAuthentication | undefined;
  switch (b.authentication?.type) {
    case AuthenticationType.API_KEY: authentication = EndUserAuthentication.apiKey({ keysFile: authFile(AuthenticationType.API_KEY) }); break;
    case AuthenticationType.TOKEN: authentication = EndUserAuthentication.bearerToken({ tokensFile: authFile(AuthenticationType.TOKEN) }); break;
    case AuthenticationType.OAUTH2: authentication = EndUserAuthentication.jwt({ publicKeyFile: authFile(AuthenticationType.OAUTH2) }); break;
    default: break;
  }
  return {
    name: plan.name,
    port: BALANCER_PORT,
    targets,
    mode: http ? HaproxyMode.HTTP : HaproxyMode.TCP,
    // frpc writes a PROXY v2 header on tcp (the real client address); on http
    // frps pools keep-alive connections, so the address comes in X-Forwarded-For
    acceptProxy: !http,
    balance,
    healthCheck: b.healthCheck && {
      type: b.healthCheck.type,
      path: b.healthCheck.type === HealthCheckType.HTTP || b.healthCheck.type === HealthCheckType.HTTPS ? b.healthCheck.path : undefined,
      interval: Duration.seconds(b.healthCheck.intervalSeconds),
      timeout: Duration.seconds(b.healthCheck.timeoutSeconds),
      rise: b.healthCheck.rise,
      fall: b.healthCheck.fall,
    },
    // backoff has no HAProxy equivalent: retries go at once to another server (redispatch)
    retry: b.retry ? { retries: Math.max(b.retry.attempts - 1, 0), redispatch: true } : undefined,
    affinity: b.affinity && (http
      ? HaproxyAffinity.cookie({ name: b.affinity.cookieName, maxIdle: Duration.seconds(b.affinity.timeoutSeconds) })
      : HaproxyAffinity.sourceAddress({ expire: Duration.seconds(b.affinity.timeoutSeconds) })),
    authentication,
    authorizationRules: b.rules.length > 0 ? b.rules.map(r => ({ path: r.path ?? '/*', methods: r.methods, roles: r.roles })) : undefined,
  };
}

/**
 * The balancer's timeouts: connect from `advanced.timeout.dial`; client and
 * server idle time from the longer of `connectionPool.idleTimeout` and
 * `timeout.keepAlive` (long LLM responses must not be cut at HAProxy's 30s
 * default); keep-alive between requests from `idleTimeout`. @internal
 */
export function haproxyTimeoutsFor(plan: ServicePlan): HaproxyTimeouts {
  const b = plan.balancer!;
  const idle = plan.responseTimeoutSeconds;
  return {
    connect: Duration.seconds(b.connectTimeoutSeconds),
    client: Duration.seconds(idle),
    server: Duration.seconds(idle),
    httpKeepAlive: Duration.seconds(b.idleTimeoutSeconds),
  };
}

/** The nginx stream service for a udp service over several endpoints. @internal */
export function nginxUdpServiceFor(plan: ServicePlan): NginxUdpService {
  const b = plan.balancer!;
  const eps = plan.backends.kind === 'endpoints' ? plan.backends.endpoints : [];
  return {
    name: plan.name,
    port: BALANCER_PORT,
    balance: b.algorithm === LoadBalancingAlgorithm.LEAST_CONN ? NginxStreamBalance.LEAST_CONN
      : b.algorithm === LoadBalancingAlgorithm.IP_HASH || b.affinity ? NginxStreamBalance.HASH_CLIENT_ADDRESS_AND_PORT
        : b.algorithm === LoadBalancingAlgorithm.RANDOM ? NginxStreamBalance.RANDOM : NginxStreamBalance.ROUND_ROBIN,
    servers: eps.map(e => ({ host: e.host, port: e.port, weight: e.weight ?? 1 })),
  };
}
