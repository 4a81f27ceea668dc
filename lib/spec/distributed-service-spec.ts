/**
 * The DistributedService spec: the user's API contract
 * (seeds/000_f3480acfcf37b24a.txt), field for field. Enum values are the
 * seed's strings, so a frp.io/v1beta1 manifest converts without renaming.
 * Fields marked "extension" are not in the seed; they carry what a rendered
 * bundle needs and an operator would have decided at run time.
 */
import { IConstruct } from 'constructs';

/**
 * The protocol of the proxied service: the type of `spec.serviceType` (the
 * specification's key; a Kubernetes Service type is `expose.serviceType`).
 */
export enum ServiceProtocol {
  /** HTTP: frp http proxies, routed by domain and path. */
  HTTP = 'http',
  /** TCP: frp tcp proxies on a remote port. */
  TCP = 'tcp',
  /** UDP: frp udp proxies on a remote port (frp has no UDP groups). */
  UDP = 'udp',
  /** gRPC: HTTP/2 carried through frp tcp proxies on a remote port. */
  GRPC = 'grpc',
}

/** `spec.backends.discovery.mode`. */
export enum DiscoveryMode {
  /** The backend workload is handed to the construct; frpc runs as its sidecar. */
  AUTO = 'auto',
  /** Pods chosen by a label selector (a Service is rendered for them). */
  SELECTOR = 'selector',
  /** A DNS name (a headless Service) resolving to every backend. */
  DNS = 'dns',
}

/** A Kubernetes label selector requirement. */
export interface LabelSelectorRequirement {
  /** Label key. */
  readonly key: string;
  /** In, NotIn, Exists or DoesNotExist. */
  readonly operator: string;
  /**
   * Values for In and NotIn.
   * @default - none
   */
  readonly values?: string[];
}

/** A Kubernetes label selector. */
export interface LabelSelector {
  /**
   * Exact label matches.
   * @default - none
   */
  readonly matchLabels?: { [key: string]: string };
  /**
   * Set-based requirements.
   * @default - none
   */
  readonly matchExpressions?: LabelSelectorRequirement[];
}

/** `spec.backends.discovery`. */
export interface BackendDiscovery {
  /**
   * How backends are found.
   * @default DiscoveryMode.AUTO
   */
  readonly mode?: DiscoveryMode;
  /**
   * Label selector (mode selector).
   * @default - mode auto without a workload selects `app.kubernetes.io/name: <service name>`
   */
  readonly selector?: LabelSelector;
  /**
   * Namespace the backends run in.
   * @default - the DistributedService's namespace
   */
  readonly namespace?: string;
  /**
   * Backend port (1-65535). Required unless a workload with a port is given.
   * @default - the workload's container port (mode auto)
   */
  readonly port?: number;
  /**
   * Extension: Service name to resolve (mode dns): `<serviceName>.<namespace>.svc`.
   * Usually a headless Service of the backend pods.
   * @default - `<name>-backends` (the name itself is the exposed Service's)
   */
  readonly serviceName?: string;
  /**
   * Extension: the most backend pods the balancer tier spreads over (its HAProxy
   * `server-template` slots, filled at run time from the pods' DNS records). Pods
   * beyond this number get no traffic from the balancer, and HAProxy does not say so: a
   * workload handed over with more replicas is a render warning; with selector or dns
   * discovery the number of pods is known at run time only (compare
   * `status.activeBackends`). Pods come and go within the slots without restarting
   * HAProxy or frpc.
   * Not used without a balancer tier (the backends' Service spreads over every ready pod).
   * At most 500: the pods' A records must fit one DNS answer of 8192 bytes.
   * @default 32
   */
  readonly maxBackends?: number;
  /**
   * Extension: the backend workload (mode auto); frpc is added to its pods. Any
   * cdk8s-plus version (28 to 33 and later) or any ApiObject with a pod template.
   * @default - none
   */
  readonly workload?: IConstruct;
}

/** One entry of `spec.backends.endpoints`. */
export interface BackendEndpoint {
  /** Host name or IP. */
  readonly host: string;
  /** Port (1-65535). */
  readonly port: number;
  /**
   * Relative weight (>= 1).
   * @default 1
   */
  readonly weight?: number;
  /**
   * Free-form metadata (sent to frps as proxy metadatas).
   * @default - none
   */
  readonly metadata?: { [key: string]: string };
}

/** `spec.backends`: exactly one of discovery and endpoints. */
export interface Backends {
  /**
   * Extension: frpc pods forwarding to the backends; each pod is one more member
   * of the group (the seed's scale subresource points here). Not used when frpc
   * runs as a sidecar of a handed-over workload.
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Discover backends.
   * @default - endpoints must be given
   */
  readonly discovery?: BackendDiscovery;
  /**
   * Backends listed by hand.
   * @default - discovery must be given
   */
  readonly endpoints?: BackendEndpoint[];
}

/** `spec.expose.type`. */
export enum ExposeType {
  /** On a custom domain (http). */
  DOMAIN = 'domain',
  /** On `<subdomain>.<subDomainHost>` (http). */
  SUBDOMAIN = 'subdomain',
  /** On a path of a domain (http). */
  PATH = 'path',
  /** On a port of frps (tcp, udp, grpc). */
  PORT = 'port',
}

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

/** Kubernetes Service types for a port exposure. */
export enum ExposeServiceType {
  /** Cluster-internal. */
  CLUSTER_IP = 'ClusterIP',
  /** A port on every node. */
  NODE_PORT = 'NodePort',
  /** A cloud load balancer. */
  LOAD_BALANCER = 'LoadBalancer',
}

/**
 * Extension: an existing Gateway API `Gateway` (gateway.networking.k8s.io/v1)
 * that the service is attached to with a route instead of an Ingress or a
 * Service of its own: an `HTTPRoute` for domain, subdomain and path exposures,
 * a `TCPRoute` (tcp, grpc) or `UDPRoute` (udp) for port exposures.
 */
export interface GatewayReference {
  /** The Gateway's name. */
  readonly name: string;
  /**
   * The Gateway's namespace (its listeners' `allowedRoutes` must admit routes
   * from the namespace of frps, where the route is created).
   * @default - the namespace of frps
   */
  readonly namespace?: string;
  /**
   * The listener to attach to (`parentRefs[].sectionName`); for a port
   * exposure, the listener on expose.port.
   * @default - every listener of the Gateway that accepts the route
   */
  readonly sectionName?: string;
}

/** `spec.expose`. */
export interface Expose {
  /**
   * How the service is reached.
   * @default ExposeType.DOMAIN
   */
  readonly type?: ExposeType;
  /**
   * Custom domain.
   * @default - none
   */
  readonly domain?: string;
  /**
   * Subdomain of the server's subDomainHost.
   * @default - none
   */
  readonly subdomain?: string;
  /**
   * URL path, `^/[a-zA-Z0-9\-_/]*$`.
   * @default - all paths
   */
  readonly path?: string;
  /**
   * External port (1-65535).
   * @default - none
   */
  readonly port?: number;
  /**
   * Extension: type of the Kubernetes Service that exposes a port exposure
   * (not the protocol, which is the top-level `serviceType`).
   * @default ExposeServiceType.CLUSTER_IP
   */
  readonly serviceType?: ExposeServiceType;
  /**
   * Extension: `externalTrafficPolicy` of a NodePort or LoadBalancer
   * exposure. Only `Local` keeps the client address, which the service reads
   * when it balances or pins by client address (tcp/grpc ip-hash or session
   * affinity in the balancer tier, which gets it from frps through PROXY v2),
   * keeps udp clients on one frps replica (`sessionAffinity: ClientIP`), or
   * when the server's NetworkPolicy admits the exposed port from address
   * ranges (exposurePeers). `Cluster` turns that into node addresses: every
   * client behind one node hashes alike, and address ranges never match.
   * @default - ExternalTrafficPolicy.LOCAL when the service reads the client
   * address as above, else Kubernetes' default (Cluster)
   */
  readonly externalTrafficPolicy?: ExternalTrafficPolicy;
  /**
   * Extension: IngressClass for domain/subdomain/path exposures.
   * @default - the cluster's default IngressClass
   */
  readonly ingressClassName?: string;
  /**
   * Extension: Secret with the TLS certificate the Ingress serves.
   * @default - plain HTTP on the Ingress
   */
  readonly ingressTlsSecret?: string;
  /**
   * Extension: attach to this existing Gateway with an HTTPRoute, TCPRoute or
   * UDPRoute instead of rendering an Ingress (or exposing a port with a
   * Service of type serviceType). TLS for https is the Gateway listener's.
   * @default - an Ingress (domain, subdomain, path) or a Service (port)
   */
  readonly gateway?: GatewayReference;
}

/** `spec.loadBalancing.algorithm`. */
export enum LoadBalancingAlgorithm {
  /** frp load-balancing groups. */
  RANDOM = 'random',
  /** frp load-balancing groups (http: exact per-request round robin). */
  ROUND_ROBIN = 'round-robin',
  /** Fewest active connections (balancer tier). */
  LEAST_CONN = 'least-conn',
  /** Endpoint weights (group member replication, or balancer weights). */
  WEIGHTED = 'weighted',
  /** Client address hashing (balancer tier). */
  IP_HASH = 'ip-hash',
}

/** `spec.loadBalancing.sessionAffinity`. */
export interface SessionAffinity {
  /**
   * Keep a client on one backend (balancer tier).
   * @default false
   */
  readonly enabled?: boolean;
  /**
   * How long affinity lasts, `^[0-9]+(s|m|h)$`.
   * @default "1h"
   */
  readonly timeout?: string;
  /**
   * Cookie name (http).
   * @default "frp-session"
   */
  readonly cookieName?: string;
}

/** `spec.loadBalancing.healthCheck.type`. */
export enum HealthCheckType {
  /** TCP connect. */
  TCP = 'tcp',
  /** HTTP GET on `path`, 2xx is healthy. */
  HTTP = 'http',
  /** HTTPS GET (frp checks that TCP connects; the balancer checks TLS and HTTP). */
  HTTPS = 'https',
  /** gRPC (frp and the balancer check that TCP connects; use the pod's grpc probe for the gRPC health protocol). */
  GRPC = 'grpc',
}

/** `spec.loadBalancing.healthCheck`. */
export interface HealthCheck {
  /**
   * Check backends.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Check kind.
   * @default - http for http services, tcp otherwise (the seed's defaulting webhook)
   */
  readonly type?: HealthCheckType;
  /**
   * Path for http checks.
   * @default "/health"
   */
  readonly path?: string;
  /**
   * Interval, `^[0-9]+(s|m)$`.
   * @default "10s"
   */
  readonly interval?: string;
  /**
   * Timeout, `^[0-9]+(s|m)$`.
   * @default "3s"
   */
  readonly timeout?: string;
  /**
   * Successes before a backend counts as up (balancer `rise`).
   * @default 1
   */
  readonly successThreshold?: number;
  /**
   * Failures before a backend counts as down (frp `maxFailed`, balancer `fall`).
   * @default 3
   */
  readonly failureThreshold?: number;
}

/** `spec.loadBalancing`. */
export interface LoadBalancing {
  /**
   * Algorithm.
   * @default LoadBalancingAlgorithm.RANDOM
   */
  readonly algorithm?: LoadBalancingAlgorithm;
  /**
   * Session affinity.
   * @default - off
   */
  readonly sessionAffinity?: SessionAffinity;
  /**
   * Health checks.
   * @default - enabled, with the defaults of HealthCheck
   */
  readonly healthCheck?: HealthCheck;
}

/** `spec.security.mtls.mode`. */
export enum MtlsMode {
  /** cert-manager bootstrap: a CA rendered in the bundle issues every certificate. */
  AUTO = 'auto',
  /** Existing Secrets: caSecret and certSecret. */
  MANUAL = 'manual',
  /**
   * A CA managed outside the bundle: its key pair as caSecret (cert-manager
   * issues frps' and frpc's certificates from it; certSecret, if given, is
   * frpc's certificate instead), or an issuer already running (issuerName).
   */
  EXTERNAL = 'external',
}

/** `spec.security.mtls.certRotation`. */
export interface CertRotation {
  /**
   * Renew certificates automatically.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Renew this long before expiry, `^[0-9]+(d|h)$`.
   * @default "7d"
   */
  readonly beforeExpiry?: string;
}

/** Kinds of cert-manager issuers. */
export enum IssuerKind {
  /** A namespaced Issuer. */
  ISSUER = 'Issuer',
  /** A ClusterIssuer. */
  CLUSTER_ISSUER = 'ClusterIssuer',
}

/** `spec.security.mtls`. */
export interface Mtls {
  /**
   * Mutual TLS between frpc and frps.
   * @default false
   */
  readonly enabled?: boolean;
  /**
   * Where certificates come from.
   * @default MtlsMode.AUTO
   */
  readonly mode?: MtlsMode;
  /**
   * Secret with the CA. Mode manual: the CA certificate that signed frps' and
   * frpc's certificates: `ca.crt` with serverCertSecret, else `tls.crt` (and
   * `tls.key`, as `kubectl create secret tls` writes it). Mode external: the externally managed CA's key pair
   * (`tls.crt`, `tls.key`, as cert-manager's CA issuer reads it); cert-manager
   * issues frps' and frpc's certificates from it (required unless issuerName
   * names an issuer instead).
   * @default - none
   */
  readonly caSecret?: string;
  /**
   * Secret with frpc's client certificate (`tls.crt`, `tls.key`), signed by
   * the CA. Required in mode manual; in mode external with caSecret it
   * replaces the certificate cert-manager would issue.
   * @default - none (mode external: issued from caSecret)
   */
  readonly certSecret?: string;
  /**
   * Extension: Secret with frps' certificate (`tls.crt`, `tls.key`; mode manual,
   * when the service creates its own server).
   * @default - frps' certificate is issued by a cert-manager CA issuer over
   * caSecret, which then must hold the CA's `tls.crt` and `tls.key`
   */
  readonly serverCertSecret?: string;
  /**
   * Rotation.
   * @default - enabled, 7d before expiry
   */
  readonly certRotation?: CertRotation;
  /**
   * Extension: a cert-manager issuer that already runs and issues the
   * certificates (mode external, instead of caSecret).
   * @default - none: mode external takes caSecret
   */
  readonly issuerName?: string;
  /**
   * Extension: the issuer's kind (mode external).
   * @default IssuerKind.CLUSTER_ISSUER
   */
  readonly issuerKind?: IssuerKind;
}

/**
 * `spec.security.authentication.type`: how end users authenticate (balancer
 * tier); also the kind of an `EndUserAuthentication`.
 */
export enum AuthenticationType {
  /** None. */
  NONE = 'none',
  /** A static bearer token (`Authorization: Bearer <token>`), checked against a list. */
  TOKEN = 'token',
  /** OAuth2/JWT bearer tokens, their signature verified with a public key. */
  OAUTH2 = 'oauth2',
  /** API keys in a request header, checked against a list. */
  API_KEY = 'apikey',
}

/** `spec.security.authentication`. */
export interface Authentication {
  /**
   * Kind.
   * @default AuthenticationType.NONE
   */
  readonly type?: AuthenticationType;
  /**
   * Secret with the tokens, keys or the JWT public key.
   * @default - none (required unless type is none)
   */
  readonly tokenSecret?: string;
}

/** HTTP methods in authorization rules. */
export enum HttpMethod {
  /** GET */
  GET = 'GET',
  /** POST */
  POST = 'POST',
  /** PUT */
  PUT = 'PUT',
  /** DELETE */
  DELETE = 'DELETE',
  /** PATCH */
  PATCH = 'PATCH',
}

/** One `spec.security.authorization.rules` entry. */
export interface AuthorizationRule {
  /**
   * Path glob, e.g. `/frontend/admin/*`.
   * @default - every path
   */
  readonly path?: string;
  /**
   * Allowed methods.
   * @default - every method
   */
  readonly methods?: HttpMethod[];
  /**
   * Roles (JWT `roles` claim) of which one is needed.
   * @default - any authenticated client
   */
  readonly roles?: string[];
}

/** `spec.security.authorization`. */
export interface Authorization {
  /**
   * Enforce rules.
   * @default false
   */
  readonly enabled?: boolean;
  /**
   * Rules; a request must match one.
   * @default - none
   */
  readonly rules?: AuthorizationRule[];
}

/** `spec.security`. */
export interface Security {
  /**
   * frpc↔frps mutual TLS.
   * @default - off
   */
  readonly mtls?: Mtls;
  /**
   * End-user authentication.
   * @default - none
   */
  readonly authentication?: Authentication;
  /**
   * End-user authorization.
   * @default - off
   */
  readonly authorization?: Authorization;
}

/** `spec.advanced.connectionPool`. */
export interface ConnectionPool {
  /**
   * Keep work connections ready.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Connections kept ready (1-100).
   * @default 5
   */
  readonly size?: number;
  /**
   * Idle timeout, `^[0-9]+(s|m)$` (balancer tier; frp has none).
   * @default "90s"
   */
  readonly idleTimeout?: string;
}

/**
 * `spec.advanced.bandwidth.mode`: which side enforces a bandwidth limit (also
 * frp's `transport.bandwidthLimitMode`).
 */
export enum BandwidthMode {
  /** frpc rate-limits (frp's default). */
  CLIENT = 'client',
  /** frps rate-limits. */
  SERVER = 'server',
}

/** `spec.advanced.bandwidth`. */
export interface BandwidthSpec {
  /**
   * Limit, `^[0-9]+(MB|KB|GB)$` (GB is converted to MB).
   * @default - unlimited
   */
  readonly limit?: string;
  /**
   * Who enforces it.
   * @default BandwidthMode.CLIENT
   */
  readonly mode?: BandwidthMode;
}

/** `spec.advanced.timeout`. */
export interface Timeouts {
  /**
   * Dial timeout to frps, `^[0-9]+(s|m)$`.
   * @default "10s"
   */
  readonly dial?: string;
  /**
   * TCP keepalive to frps, `^[0-9]+(s|m)$`.
   * @default "30s"
   */
  readonly keepAlive?: string;
}

/** `spec.advanced.retry.backoff`. */
export enum RetryBackoff {
  /** Constant. */
  CONSTANT = 'constant',
  /** Exponential. */
  EXPONENTIAL = 'exponential',
  /** Linear. */
  LINEAR = 'linear',
}

/** `spec.advanced.retry`. */
export interface Retry {
  /**
   * Retry failed connections on another backend (balancer tier).
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Attempts (>= 1).
   * @default 3
   */
  readonly maxAttempts?: number;
  /**
   * Backoff between attempts.
   * @default RetryBackoff.EXPONENTIAL
   */
  readonly backoff?: RetryBackoff;
}

/** `spec.advanced`. */
export interface Advanced {
  /**
   * Connection pool.
   * @default - enabled, size 5
   */
  readonly connectionPool?: ConnectionPool;
  /**
   * Bandwidth limit.
   * @default - unlimited
   */
  readonly bandwidth?: BandwidthSpec;
  /**
   * Timeouts.
   * @default - dial 10s, keepAlive 30s
   */
  readonly timeout?: Timeouts;
  /**
   * Retries.
   * @default - the seed's defaults; they take effect only where a balancer tier exists
   */
  readonly retry?: Retry;
}

/** The DistributedService spec (`spec` of a frp.io/v1beta1 DistributedService). */
export interface DistributedServiceSpec {
  /** The protocol of the proxied service (the specification's key `serviceType`). */
  readonly serviceType: ServiceProtocol;
  /** Backends. */
  readonly backends: Backends;
  /**
   * How it is reached.
   * @default - type domain
   */
  readonly expose?: Expose;
  /**
   * Load balancing.
   * @default - random, health checks on
   */
  readonly loadBalancing?: LoadBalancing;
  /**
   * Security.
   * @default - no mTLS, no end-user auth (frpc↔frps token auth is always on)
   */
  readonly security?: Security;
  /**
   * Tuning.
   * @default - the defaults of Advanced
   */
  readonly advanced?: Advanced;
}
