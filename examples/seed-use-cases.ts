/**
 * The four use cases of the user's design notes (seeds/000, its "usage examples" section), as
 * TypeScript apps. The same services as frp.io/v1beta1 manifests are in
 * examples/manifests/ (render them with `npx cdk8s-frp render FILE`).
 *
 * Every chart references Secrets that are created out of band, never in Git:
 * `frp-token` (key `token`) for frpc<->frps, and the ones named in the spec.
 */
import { ApiObject, Chart, ChartProps, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  AuthenticationType, DiscoveryMode, DistributedService, ServiceProtocol, ExposeServiceType, ExposeType, FrpAuth,
  HealthCheckType, HttpMethod, LoadBalancingAlgorithm, MtlsMode,
} from '../lib';

const token = (scope: Construct) => FrpAuth.token(kplus.Secret.fromSecretName(scope, 'FrpToken', 'frp-token'));

/**
 * 1. Ollama LLM serving: http on llm.example.com/v1, least connections (long
 * inference requests), API keys, mTLS from a CA in the bundle, a larger
 * connection pool and a long keepalive. least-conn and API keys add the
 * HAProxy tier between frpc and the Ollama pods.
 * API keys: Secret `ollama-api-keys`, key `keys`, one key per line.
 */
export class OllamaClusterChart extends Chart {
  public readonly service: DistributedService;
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'ai-services', ...props });
    this.service = new DistributedService(this, 'ollama-cluster', {
      auth: token(this),
      serviceType: ServiceProtocol.HTTP,
      backends: { discovery: { mode: DiscoveryMode.SELECTOR, selector: { matchLabels: { app: 'ollama', tier: 'inference' } }, port: 11434 } },
      expose: { type: ExposeType.DOMAIN, domain: 'llm.example.com', path: '/v1', ingressClassName: 'nginx' },
      loadBalancing: {
        algorithm: LoadBalancingAlgorithm.LEAST_CONN,
        healthCheck: { enabled: true, type: HealthCheckType.HTTP, path: '/api/health', interval: '30s', timeout: '10s' },
      },
      security: {
        mtls: { enabled: true, mode: MtlsMode.AUTO },
        authentication: { type: AuthenticationType.API_KEY, tokenSecret: 'ollama-api-keys' },
      },
      advanced: { connectionPool: { enabled: true, size: 10 }, timeout: { keepAlive: '300s' } },
      monitoring: { labels: { release: 'kube-prometheus-stack' } },
    });
  }
}

/**
 * 2. Microservice gRPC: two hand-listed backends weighted 2:1 on port 9090,
 * session affinity (5m, by client address: gRPC clients keep no cookies),
 * mTLS with the team's own CA (manual). Affinity adds the HAProxy tier; frpc
 * passes the client address to it with PROXY protocol v2.
 * Secrets: `internal-ca` (the CA: tls.crt, tls.key, ca.crt), `user-service-cert` (frpc's client certificate).
 */
export class UserServiceChart extends Chart {
  public readonly service: DistributedService;
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'microservices', ...props });
    this.service = new DistributedService(this, 'user-service', {
      auth: token(this),
      serviceType: ServiceProtocol.GRPC,
      backends: {
        endpoints: [
          { host: 'user-service-1.internal', port: 9090, weight: 2 },
          { host: 'user-service-2.internal', port: 9090, weight: 1 },
        ],
      },
      expose: { type: ExposeType.PORT, port: 9090, serviceType: ExposeServiceType.LOAD_BALANCER },
      loadBalancing: { algorithm: LoadBalancingAlgorithm.WEIGHTED, sessionAffinity: { enabled: true, timeout: '5m' } },
      security: { mtls: { enabled: true, mode: MtlsMode.MANUAL, caSecret: 'internal-ca', certSecret: 'user-service-cert' } },
    });
  }
}

/**
 * 3. Database proxy: PostgreSQL found through DNS (the headless Service
 * `postgres-proxy-backends` in `databases`; `postgres-proxy` is the Service
 * clients use), ip-hash so a client always reaches the
 * same replica, fast tcp health checks, a large connection pool.
 */
export class PostgresProxyChart extends Chart {
  public readonly service: DistributedService;
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'databases', ...props });
    this.service = new DistributedService(this, 'postgres-proxy', {
      auth: token(this),
      serviceType: ServiceProtocol.TCP,
      backends: { discovery: { mode: DiscoveryMode.DNS, namespace: 'databases', port: 5432 } },
      expose: { type: ExposeType.PORT, port: 5432 },
      loadBalancing: {
        algorithm: LoadBalancingAlgorithm.IP_HASH,
        healthCheck: { enabled: true, type: HealthCheckType.TCP, interval: '5s', failureThreshold: 2 },
      },
      advanced: { connectionPool: { enabled: true, size: 20, idleTimeout: '300s' } },
    });
  }
}

/**
 * 4. Web application behind a path: app.example.com/frontend, round robin,
 * OAuth2 bearer tokens (JWT, verified with the public key in Secret
 * `oauth2-config`, key `public-key.pem`) and role rules per path and method.
 * Discovery `auto`: the frontend Deployment is handed over; behind the
 * balancer it is reached through a headless Service for its pods.
 */
export class WebappFrontendChart extends Chart {
  public readonly service: DistributedService;
  public readonly frontend: kplus.Deployment;
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'web', ...props });
    this.frontend = new kplus.Deployment(this, 'frontend', {
      // the app's own workload: named and labelled like everything else
      metadata: {
        name: 'webapp-frontend-web',
        labels: {
          'app.kubernetes.io/name': 'webapp-frontend',
          'app.kubernetes.io/instance': 'webapp-frontend-web',
          'app.kubernetes.io/component': 'web',
          'app.kubernetes.io/part-of': 'webapp-frontend',
          'app.kubernetes.io/managed-by': 'cdk8s',
        },
      },
      replicas: 3,
      securityContext: { ensureNonRoot: true, user: 65532, group: 65532 },
      containers: [{
        name: 'web',
        image: 'ghcr.io/example/webapp-frontend:1.4.2',
        portNumber: 3000,
        securityContext: {
          ensureNonRoot: true,
          user: 65532,
          group: 65532,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          capabilities: { drop: [kplus.Capability.ALL] },
          seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
        },
        resources: {
          cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(500) },
          memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
        },
        readiness: kplus.Probe.fromHttpGet('/health', { port: 3000 }),
        liveness: kplus.Probe.fromHttpGet('/health', { port: 3000 }),
      }],
    });
    // cdk8s-plus renders minReadySeconds 0 and hostNetwork false, which the API server
    // does not store; dropped, the object reads back as rendered (Argo CD stays Synced)
    ApiObject.of(this.frontend).addJsonPatch(JsonPatch.remove('/spec/minReadySeconds'), JsonPatch.remove('/spec/template/spec/hostNetwork'));
    this.service = new DistributedService(this, 'webapp-frontend', {
      auth: token(this),
      serviceType: ServiceProtocol.HTTP,
      backends: { discovery: { mode: DiscoveryMode.AUTO, port: 3000, workload: this.frontend } },
      expose: { type: ExposeType.PATH, domain: 'app.example.com', path: '/frontend' },
      loadBalancing: { algorithm: LoadBalancingAlgorithm.ROUND_ROBIN, healthCheck: { type: HealthCheckType.HTTP, path: '/health' } },
      security: {
        authentication: { type: AuthenticationType.OAUTH2, tokenSecret: 'oauth2-config' },
        authorization: {
          enabled: true,
          rules: [
            { path: '/frontend/admin/*', methods: [HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE], roles: ['admin'] },
            { path: '/frontend/api/*', methods: [HttpMethod.GET], roles: ['user', 'admin'] },
          ],
        },
      },
    });
  }
}
