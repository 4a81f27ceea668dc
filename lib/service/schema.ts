import { CHECKS, MAX_SECONDS } from './field-checks';

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
  'maxItems'?: number;
  'minItems'?: number;
  'maxProperties'?: number;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-validations'?: { rule: string; message: string }[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  /**
   * A check in code for what a pattern cannot say (map keys, IP addresses,
   * duration bounds, the renderers' own rules): returns what is wrong, or
   * undefined. Not part of the CRD (see crdSchema).
   */
  'check'?: FieldCheck;
}

/** A field check: what is wrong with `value`, or undefined. @internal */
export type FieldCheck = (value: any) => string | undefined;

/** The schema without the code-only `check`s, for the CRD. @internal */
export function crdSchema(schema: JsonSchema): JsonSchema {
  const { check: _check, properties, additionalProperties, items, ...rest } = schema;
  const out: JsonSchema = { ...rest };
  if (properties) out.properties = Object.fromEntries(Object.entries(properties).map(([k, v]) => [k, crdSchema(v)]));
  if (additionalProperties !== undefined) out.additionalProperties = typeof additionalProperties === 'object' ? crdSchema(additionalProperties) : additionalProperties;
  if (items) out.items = crdSchema(items);
  return out;
}

const str = (description: string, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'string', description, ...extra });
const int = (description: string, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'integer', description, ...extra });
const bool = (description: string, dflt: boolean): JsonSchema => ({ type: 'boolean', description, default: dflt });
const obj = (description: string, properties: { [k: string]: JsonSchema }, extra: Partial<JsonSchema> = {}): JsonSchema => ({ type: 'object', description, properties, ...extra });
const port = (description: string): JsonSchema => int(description, { minimum: 1, maximum: 65535 });
const DURATION_SM = '^[0-9]+(s|m)$';
const DURATION_SMH = '^[0-9]+(s|m|h)$';
const labelMap: JsonSchema = { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 64, check: CHECKS.labels };
const name = (description: string, check: FieldCheck = CHECKS.objectName): JsonSchema => str(description, { maxLength: 253, check });
const duration = (description: string, pattern: string, units: string, max: { seconds: number; why: string }, dflt: string): JsonSchema =>
  str(description, { pattern, default: dflt, check: CHECKS.duration(units, max) });

/** Endpoints one service may list (its ConfigMaps stay far below Kubernetes' 1 MiB object limit). @internal */
export const MAX_ENDPOINTS = 1000;

/**
 * Balancer slots for discovered backends unless `maxBackends` says otherwise: HAProxy
 * reserves them at start and fills them from DNS at run time. @internal
 */
export const DEFAULT_MAX_BACKENDS = 32;
/** The most slots: their A records (16 bytes each) must fit HAProxy's 8192-byte DNS answer. @internal */
export const MAX_DISCOVERED_BACKENDS = 500;

/** @internal */
export const SPEC_SCHEMA: JsonSchema = obj('Desired state of the distributed service.', {
  serviceType: str('Protocol of the proxied service.', { enum: ['http', 'tcp', 'udp', 'grpc'] }),
  backends: obj('Where the backends are: discovery or endpoints, not both.', {
    replicas: int('Extension: frpc pods (each one more group member); the scale subresource sets it.', { minimum: 1, maximum: 100, default: 2 }),
    discovery: obj('Discover backends.', {
      mode: str('auto, selector or dns.', { enum: ['auto', 'selector', 'dns'], default: 'auto' }),
      selector: obj('Kubernetes label selector.', {
        matchLabels: labelMap,
        matchExpressions: {
          type: 'array',
          maxItems: 64,
          items: obj('Requirement.', {
            key: str('Label key.', { maxLength: 317, check: CHECKS.labelKey }),
            operator: str('Operator.', { enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] }),
            values: { type: 'array', maxItems: 64, items: str('Label value.', { maxLength: 63, check: CHECKS.labelValue }) },
          }, { required: ['key', 'operator'] }),
        },
      }),
      namespace: str('Namespace to look for backends in.', { maxLength: 63, check: CHECKS.dnsLabel }),
      port: port('Backend port.'),
      serviceName: str('Extension: Service to resolve in mode dns (default: <name>-backends).', { maxLength: 63, check: CHECKS.serviceName }),
      maxBackends: int('Extension: the most backend pods the balancer tier spreads over (its HAProxy server slots; more ready pods than this get no traffic from it).', { minimum: 1, maximum: MAX_DISCOVERED_BACKENDS, default: DEFAULT_MAX_BACKENDS }),
    }),
    endpoints: {
      type: 'array',
      description: 'Backends listed by hand.',
      maxItems: MAX_ENDPOINTS,
      items: obj('Endpoint.', {
        host: str('Host name or IP.', { maxLength: 253, check: CHECKS.host }),
        port: port('Port.'),
        weight: int('Relative weight.', { minimum: 1, maximum: 100, default: 1 }),
        metadata: { type: 'object', additionalProperties: { type: 'string' }, maxProperties: 32, check: CHECKS.smallMap },
      }, { required: ['host', 'port'] }),
    },
  }, { oneOf: [{ required: ['discovery'] }, { required: ['endpoints'] }] }),
  expose: obj('How the service is reached.', {
    // no schema default: it depends on serviceType (the operator's defaulting webhook writes it)
    type: str('domain, subdomain, path or port (default: domain for http services, port otherwise).', { enum: ['domain', 'subdomain', 'path', 'port'] }),
    domain: str('Custom domain.', { maxLength: 253, check: CHECKS.domain }),
    subdomain: str('Subdomain of the server base domain.', { maxLength: 63, check: CHECKS.dnsLabel }),
    path: str('URL path.', { pattern: '^/[a-zA-Z0-9\\-_/]*$' }),
    port: port('External port.'),
    serviceType: str('Extension: Service type for a port exposure.', { enum: ['ClusterIP', 'NodePort', 'LoadBalancer'], default: 'ClusterIP' }),
    externalTrafficPolicy: str('Extension: externalTrafficPolicy of a NodePort or LoadBalancer exposure (default: Local when the service reads the client address).', { enum: ['Cluster', 'Local'] }),
    ingressClassName: name('Extension: IngressClass for host/path exposures.'),
    ingressTlsSecret: name('Extension: TLS Secret the Ingress serves.'),
    gateway: obj('Extension: an existing Gateway API Gateway to attach an HTTPRoute, TCPRoute or UDPRoute to, instead of an Ingress or Service.', {
      name: name('Gateway name.', CHECKS.subdomainNamed('a Gateway\'s name')),
      namespace: str('Gateway namespace (default: the namespace of frps).', { maxLength: 63, check: CHECKS.dnsLabel }),
      sectionName: name('Listener name.', CHECKS.subdomainNamed('a listener name')),
    }, { required: ['name'] }),
  }),
  loadBalancing: obj('Load balancing.', {
    algorithm: str('Algorithm.', { enum: ['random', 'round-robin', 'least-conn', 'weighted', 'ip-hash'], default: 'random' }),
    sessionAffinity: obj('Session affinity.', {
      enabled: bool('Keep a client on one backend.', false),
      timeout: duration('Affinity duration.', DURATION_SMH, 'smh', MAX_SECONDS.day, '1h'),
      cookieName: str('Cookie name (http).', { pattern: '^[A-Za-z0-9!#$%&\'*+\\-.^_`|~]+$', default: 'frp-session', check: CHECKS.cookieName }),
    }),
    healthCheck: obj('Health checks.', {
      enabled: bool('Check backends.', true),
      type: str('Check kind (default: http for http services, tcp otherwise).', { enum: ['tcp', 'http', 'https', 'grpc'] }),
      path: str('Path for http checks.', { pattern: '^/\\S*$', default: '/health', maxLength: 1024, check: CHECKS.urlPath }),
      interval: duration('Interval.', DURATION_SM, 'sm', MAX_SECONDS.frpTimer, '10s'),
      timeout: duration('Timeout.', DURATION_SM, 'sm', MAX_SECONDS.frpTimer, '3s'),
      successThreshold: int('Successes to become healthy.', { minimum: 1, maximum: 100, default: 1 }),
      failureThreshold: int('Failures to become unhealthy.', { minimum: 1, maximum: 100, default: 3 }),
    }),
  }),
  security: obj('Security.', {
    mtls: obj('Mutual TLS between frpc and frps.', {
      enabled: bool('Enable mTLS.', false),
      mode: str('Certificate source.', { enum: ['auto', 'manual', 'external'], default: 'auto' }),
      caSecret: name('Secret with the CA certificate.'),
      certSecret: name('Secret with the client certificate.'),
      serverCertSecret: name('Extension: Secret with the frps certificate (mode manual, own server).'),
      certRotation: obj('Rotation.', {
        enabled: bool('Renew automatically.', true),
        beforeExpiry: str('Renew this long before expiry.', { pattern: '^[0-9]+(d|h)$', default: '7d', check: CHECKS.renewBefore }),
      }),
      issuerName: name('Extension: issuer name (mode external).'),
      issuerKind: str('Extension: issuer kind (mode external).', { enum: ['Issuer', 'ClusterIssuer'], default: 'ClusterIssuer' }),
    }),
    authentication: obj('End-user authentication.', {
      type: str('Kind.', { enum: ['none', 'token', 'oauth2', 'apikey'], default: 'none' }),
      tokenSecret: name('Secret with tokens, keys or the JWT public key.'),
    }),
    authorization: obj('End-user authorization.', {
      enabled: bool('Enforce rules.', false),
      rules: {
        type: 'array',
        maxItems: 64,
        items: obj('Rule.', {
          path: str('Path glob.', { pattern: '^/\\S*$', maxLength: 1024, check: CHECKS.globPath }),
          methods: { type: 'array', minItems: 1, maxItems: 5, items: str('Method.', { enum: ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] }) },
          roles: { type: 'array', minItems: 1, maxItems: 64, items: str('Role.', { maxLength: 128, check: CHECKS.role }) },
        }),
      },
    }),
  }),
  advanced: obj('Tuning.', {
    connectionPool: obj('Connection pool.', {
      enabled: bool('Keep work connections ready.', true),
      size: int('Pool size.', { minimum: 1, maximum: 100, default: 5 }),
      idleTimeout: duration('Idle timeout.', DURATION_SM, 'sm', MAX_SECONDS.day, '90s'),
    }),
    bandwidth: obj('Bandwidth limit.', {
      limit: str('Limit.', { pattern: '^[0-9]+(MB|KB|GB)$' }),
      mode: str('Who enforces it.', { enum: ['client', 'server'], default: 'client' }),
    }),
    timeout: obj('Timeouts.', {
      dial: duration('Dial timeout.', DURATION_SM, 'sm', MAX_SECONDS.frpTimer, '10s'),
      keepAlive: duration('Keepalive.', DURATION_SM, 'sm', MAX_SECONDS.day, '30s'),
    }),
    retry: obj('Retries.', {
      enabled: bool('Retry.', true),
      maxAttempts: int('Attempts.', { minimum: 1, maximum: 10, default: 3 }),
      backoff: str('Backoff.', { enum: ['constant', 'exponential', 'linear'], default: 'exponential' }),
    }),
  }),
}, { required: ['serviceType', 'backends'] });
