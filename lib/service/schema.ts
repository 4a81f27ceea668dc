/**
 * The openAPIV3Schema of DistributedService, from the seed
 * (seeds/000_f3480acfcf37b24a.txt), plus extensions marked in their
 * descriptions. One source of truth: it validates user input (props and
 * manifests, see validate-schema.ts) and is the schema of the rendered CRD.
 * @internal
 */
export interface JsonSchema {
  'type'?: 'object' | 'array' | 'string' | 'integer' | 'boolean' | 'number';
  'description'?: string;
  'properties'?: { [name: string]: JsonSchema };
  'additionalProperties'?: JsonSchema | boolean;
  'items'?: JsonSchema;
  'required'?: string[];
  'enum'?: (string | number | boolean)[];
  'pattern'?: string;
  'minimum'?: number;
  'maximum'?: number;
  'maxLength'?: number;
  'default'?: unknown;
  'oneOf'?: { required: string[] }[];
  'format'?: string;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message: string }[];
}

const str = (description: string, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'string', description, ...extra });
const int = (description: string, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'integer', description, ...extra });
const bool = (description: string, dflt: boolean): JsonSchema => ({ type: 'boolean', description, default: dflt });
const obj = (description: string, properties: { [k: string]: JsonSchema }, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'object', description, properties, ...extra });
const port = (description: string): JsonSchema => int(description, { minimum: 1, maximum: 65535 });
const DURATION_SM = '^[0-9]+(s|m)$';
const DURATION_SMH = '^[0-9]+(s|m|h)$';
const stringMap: JsonSchema = { type: 'object', additionalProperties: { type: 'string' } };

/** @internal */
export const SPEC_SCHEMA: JsonSchema = obj('Desired state of the distributed service.', {
  serviceType: str('Protocol of the proxied service.', { enum: ['http', 'tcp', 'udp', 'grpc'] }),
  backends: obj('Where the backends are: discovery or endpoints, not both.', {
    replicas: int('Extension: frpc pods (each one more group member); the scale subresource sets it.', { minimum: 1, maximum: 100, default: 2 }),
    discovery: obj('Discover backends.', {
      mode: str('auto, selector or dns.', { enum: ['auto', 'selector', 'dns'], default: 'auto' }),
      selector: obj('Kubernetes label selector.', {
        matchLabels: stringMap,
        matchExpressions: {
          type: 'array',
          items: obj('Requirement.', {
            key: str('Label key.'),
            operator: str('Operator.', { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }),
            values: { type: 'array', items: { type: 'string' } },
          }, { required: ['key', 'operator'] }),
        },
      }),
      namespace: str('Namespace to look for backends in.'),
      port: port('Backend port.'),
      serviceName: str('Extension: Service to resolve in mode dns (default: <name>-backends).', { maxLength: 63 }),
    }),
    endpoints: {
      type: 'array',
      description: 'Backends listed by hand.',
      items: obj('Endpoint.', {
        host: str('Host name or IP.'),
        port: port('Port.'),
        weight: int('Relative weight.', { minimum: 1, maximum: 100, default: 1 }),
        metadata: stringMap,
      }, { required: ['host', 'port'] }),
    },
  }, { oneOf: [{ required: ['discovery'] }, { required: ['endpoints'] }] }),
  expose: obj('How the service is reached.', {
    type: str('domain, subdomain, path or port.', { enum: ['domain', 'subdomain', 'path', 'port'], default: 'domain' }),
    domain: str('Custom domain.', { maxLength: 253 }),
    subdomain: str('Subdomain of the server base domain.', { maxLength: 63 }),
    path: str('URL path.', { pattern: '^/[a-zA-Z0-9\\-_/]*$' }),
    port: port('External port.'),
    serviceType: str('Extension: Service type for a port exposure.', { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'], default: 'ClusterIP' }),
    ingressClassName: str('Extension: IngressClass for host/path exposures.'),
    ingressTlsSecret: str('Extension: TLS Secret the Ingress serves.'),
    gateway: obj('Extension: an existing Gateway API Gateway to attach an HTTPRoute, TCPRoute or UDPRoute to, instead of an Ingress or Service.', {
      name: str('Gateway name.', { maxLength: 253 }),
      namespace: str('Gateway namespace (default: the namespace of frps).', { maxLength: 63 }),
      sectionName: str('Listener name.', { maxLength: 253 }),
    }, { required: ['name'] }),
  }),
  loadBalancing: obj('Load balancing.', {
    algorithm: str('Algorithm.', { enum: ['random', 'round-robin', 'least-conn', 'weighted', 'ip-hash'], default: 'random' }),
    sessionAffinity: obj('Session affinity.', {
      enabled: bool('Keep a client on one backend.', false),
      timeout: str('Affinity duration.', { pattern: DURATION_SMH, default: '1h' }),
      cookieName: str('Cookie name (http).', { pattern: '^[A-Za-z0-9!#$%&\'*+\\-.^_`|~]+$', default: 'frp-session' }),
    }),
    healthCheck: obj('Health checks.', {
      enabled: bool('Check backends.', true),
      type: str('Check kind (default: http for http services, tcp otherwise).', { enum: ['tcp', 'http', 'https', 'grpc'] }),
      path: str('Path for http checks.', { pattern: '^/\\S*$', default: '/health' }),
      interval: str('Interval.', { pattern: DURATION_SM, default: '10s' }),
      timeout: str('Timeout.', { pattern: DURATION_SM, default: '3s' }),
      successThreshold: int('Successes to become healthy.', { minimum: 1, maximum: 100, default: 1 }),
      failureThreshold: int('Failures to become unhealthy.', { minimum: 1, maximum: 100, default: 3 }),
    }),
  }),
  security: obj('Security.', {
    mtls: obj('Mutual TLS between frpc and frps.', {
      enabled: bool('Enable mTLS.', false),
      mode: str('Certificate source.', { enum: ['auto', 'manual', 'external'], default: 'auto' }),
      caSecret: str('Secret with the CA certificate.'),
      certSecret: str('Secret with the client certificate.'),
      serverCertSecret: str('Extension: Secret with the frps certificate (mode manual, own server).'),
      certRotation: obj('Rotation.', {
        enabled: bool('Renew automatically.', true),
        beforeExpiry: str('Renew this long before expiry.', { pattern: '^[0-9]+(d|h)$', default: '7d' }),
      }),
      issuerName: str('Extension: issuer name (mode external).'),
      issuerKind: str('Extension: issuer kind (mode external).', { enum: ['Issuer', 'ClusterIssuer'], default: 'ClusterIssuer' }),
    }),
    authentication: obj('End-user authentication.', {
      type: str('Kind.', { enum: ['none', 'token', 'oauth2', 'apikey'], default: 'none' }),
      tokenSecret: str('Secret with tokens, keys or the JWT public key.'),
    }),
    authorization: obj('End-user authorization.', {
      enabled: bool('Enforce rules.', false),
      rules: {
        type: 'array',
        items: obj('Rule.', {
          path: str('Path glob.', { pattern: '^/\\S*$' }),
          methods: { type: 'array', items: str('Method.', { enum: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] }) },
          roles: { type: 'array', items: { type: 'string' } },
        }),
      },
    }),
  }),
  advanced: obj('Tuning.', {
    connectionPool: obj('Connection pool.', {
      enabled: bool('Keep work connections ready.', true),
      size: int('Pool size.', { minimum: 1, maximum: 100, default: 5 }),
      idleTimeout: str('Idle timeout.', { pattern: DURATION_SM, default: '90s' }),
    }),
    bandwidth: obj('Bandwidth limit.', {
      limit: str('Limit.', { pattern: '^[0-9]+(MB|KB|GB)$' }),
      mode: str('Who enforces it.', { enum: ['client', 'server'], default: 'client' }),
    }),
    timeout: obj('Timeouts.', {
      dial: str('Dial timeout.', { pattern: DURATION_SM, default: '10s' }),
      keepAlive: str('Keepalive.', { pattern: DURATION_SM, default: '30s' }),
    }),
    retry: obj('Retries.', {
      enabled: bool('Retry.', true),
      maxAttempts: int('Attempts.', { minimum: 1, maximum: 10, default: 3 }),
      backoff: str('Backoff.', { enum: ['constant', 'exponential', 'linear'], default: 'exponential' }),
    }),
  }),
}, { required: ['serviceType', 'backends'] });
