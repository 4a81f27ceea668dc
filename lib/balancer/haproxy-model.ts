import { Duration } from 'cdk8s';
import { AuthenticationType, HealthCheckType, HttpMethod } from '../spec';

/**
 * How HAProxy handles the traffic of a service.
 *
 * @see https://docs.haproxy.org/2.8/configuration.html#4-mode
 */
export enum HaproxyMode {
  /** Layer 7: per-request balancing, cookies, end-user authentication, authorization rules. */
  HTTP = 'http',
  /** Layer 4: per-connection balancing of any TCP protocol (TLS passes through untouched). */
  TCP = 'tcp',
}

/**
 * How HAProxy picks a server for a new request (http) or connection (tcp).
 *
 * Server weights apply to every algorithm.
 *
 * @see https://docs.haproxy.org/2.8/configuration.html#4.2-balance
 */
export enum HaproxyBalance {
  /** `balance roundrobin`: weighted round robin, smooth. */
  ROUND_ROBIN = 'roundrobin',
  /** `balance leastconn`: the server with the fewest active connections. */
  LEAST_CONN = 'leastconn',
  /**
   * `balance source` with `hash-type consistent`: the client address picks the server.
   * Over DNS-discovered servers (`HaproxyTargets.dns()`) a Lua converter picks it instead,
   * by rendezvous hashing on the servers' addresses, so that every replica sends a client
   * to the same backend whatever `server-template` slot DNS put it in
   * (`HaproxyConfig.scripts()`).
   */
  SOURCE = 'source',
  /**
   * `balance random`: HAProxy's default `random(2)`, two random draws and the less
   * loaded of the two ("power of two choices").
   */
  RANDOM = 'random',
  /**
   * `balance hdr(X-Forwarded-For)` with `hash-type consistent`: the first address of the
   * first `X-Forwarded-For` header picks the server. http mode only. This is
   * client-address hashing behind frps, whose http vhost reuses its connections to frpc
   * for many clients and names the client in `X-Forwarded-For` instead; the first
   * address is the client as the outermost proxy saw it (an ingress in front of frps
   * keeps it first). Requests that arrive without the header hash on the connection's
   * source address, which `forwardFor` (on by default) adds before balancing; with
   * `forwardFor` off they are spread over the servers. Over DNS-discovered servers the
   * same rendezvous hashing as `SOURCE` picks the server (the first `X-Forwarded-For`
   * address, else the source address).
   */
  FORWARDED_FOR_HASH = 'hdr(x-forwarded-for)',
}

/**
 * Conditions on which a failed request is tried again (`retry-on`).
 *
 * Anything but `CONN_FAILURE` needs http mode and makes HAProxy buffer the request;
 * those conditions can replay a request the server already started to process.
 *
 * @see https://docs.haproxy.org/2.8/configuration.html#4.2-retry-on
 */
export enum HaproxyRetryOn {
  /** The connection to the server failed (always safe to retry). */
  CONN_FAILURE = 'conn-failure',
  /** The server closed the connection without any response. */
  EMPTY_RESPONSE = 'empty-response',
  /** The server sent an invalid response. */
  JUNK_RESPONSE = 'junk-response',
  /** The server did not answer within `timeout server`. */
  RESPONSE_TIMEOUT = 'response-timeout',
  /** The server answered 502. */
  STATUS_502 = '502',
  /** The server answered 503. */
  STATUS_503 = '503',
  /** The server answered 504. */
  STATUS_504 = '504',
}

/**
 * JWS algorithms HAProxy's `jwt_verify` checks with a public key file.
 */
export enum JwtAlgorithm {
  /** RSASSA-PKCS1-v1_5 with SHA-256 */
  RS256 = 'RS256',
  /** RSASSA-PKCS1-v1_5 with SHA-384 */
  RS384 = 'RS384',
  /** RSASSA-PKCS1-v1_5 with SHA-512 */
  RS512 = 'RS512',
  /** ECDSA P-256 with SHA-256 */
  ES256 = 'ES256',
  /** ECDSA P-384 with SHA-384 */
  ES384 = 'ES384',
  /** ECDSA P-521 with SHA-512 */
  ES512 = 'ES512',
}

/**
 * One backend server.
 */
export interface HaproxyServer {
  /**
   * An IPv4 address, an IPv6 address (without brackets) or a DNS name. DNS names are
   * resolved at run time through the `resolvers` section, so HAProxy starts even when a
   * name does not resolve yet.
   */
  readonly host: string;
  /** The server port. */
  readonly port: number;
  /**
   * Relative weight, 1 to 256.
   *
   * @default 1
   */
  readonly weight?: number;
}

/**
 * Per-pod discovery through DNS: a `server-template` whose slots HAProxy fills from the
 * A/AAAA records of a name, typically a headless Service
 * (`<service>.<namespace>.svc.cluster.local`).
 */
export interface HaproxyDnsDiscovery {
  /** The DNS name to resolve. */
  readonly hostname: string;
  /** The port every discovered server listens on. */
  readonly port: number;
  /**
   * How many server slots to reserve; records beyond this number are ignored.
   *
   * @default 10
   */
  readonly maxServers?: number;
}

/**
 * Where a service sends its traffic: a fixed list of servers, or DNS discovery.
 */
export class HaproxyTargets {
  /**
   * A fixed list of servers; they are named `s1`, `s2`, ... in the given order.
   *
   * @param servers the servers (at least one)
   */
  public static endpoints(servers: HaproxyServer[]): HaproxyTargets {
    return new HaproxyTargets(servers, undefined);
  }

  /**
   * Servers discovered through DNS (`server-template` + `resolvers`).
   *
   * @param discovery the name to resolve
   */
  public static dns(discovery: HaproxyDnsDiscovery): HaproxyTargets {
    return new HaproxyTargets(undefined, discovery);
  }

  /**
   * @param servers the fixed servers, when built with `endpoints()`
   * @param discovery the DNS discovery, when built with `dns()`
   */
  private constructor(
    /** The fixed servers, when built with `endpoints()`. */
    public readonly servers: HaproxyServer[] | undefined,
    /** The DNS discovery, when built with `dns()`. */
    public readonly discovery: HaproxyDnsDiscovery | undefined,
  ) {}
}

/**
 * Active health checks of the servers of a service.
 */
export interface HaproxyHealthCheck {
  /**
   * What to probe: `TCP` is a connect; `HTTP` is `GET <path>` over HTTP/1 (2xx and 3xx
   * are healthy); `HTTPS` the same over TLS (the check connection only). `GRPC` is
   * rendered as a TCP connect check: HAProxy cannot speak grpc.health.v1 (it cannot send
   * the binary request body or read the `grpc-status` trailer), so run the real gRPC
   * check as the Kubernetes pod probe.
   *
   * @default HealthCheckType.TCP
   */
  readonly type?: HealthCheckType;
  /**
   * The path to `GET` for `HTTP` and `HTTPS` checks.
   *
   * @default "/health"
   */
  readonly path?: string;
  /**
   * Time between two checks (`inter`).
   *
   * @default Duration.seconds(10)
   */
  readonly interval?: Duration;
  /**
   * How long a check may take (`timeout check`).
   *
   * @default Duration.seconds(3)
   */
  readonly timeout?: Duration;
  /**
   * Consecutive successful checks that bring a server back (`rise`).
   *
   * @default 1
   */
  readonly rise?: number;
  /**
   * Consecutive failed checks that take a server out (`fall`).
   *
   * @default 3
   */
  readonly fall?: number;
  /**
   * CA bundle file that verifies the server certificate of `HTTPS` checks.
   *
   * @default - the certificate is not verified (`verify none`): the check then only
   * proves the server is alive, which is all it is for.
   */
  readonly caFile?: string;
}

/**
 * Retries of failed connections or requests.
 *
 * HAProxy has no configurable backoff: before a retry on the same server it waits
 * min(`timeout connect`, 1s); a retry redispatched to another server goes at once.
 */
export interface HaproxyRetry {
  /**
   * Retries after the first attempt (`retries`); 0 turns retries off.
   */
  readonly retries: number;
  /**
   * Send every retry to another server (`option redispatch 1`), even one a cookie or
   * stick table pins the client to.
   *
   * @default true
   */
  readonly redispatch?: boolean;
  /**
   * When to retry (`retry-on`).
   *
   * @default [HaproxyRetryOn.CONN_FAILURE]
   */
  readonly retryOn?: HaproxyRetryOn[];
}

/**
 * Options of cookie-based session affinity.
 */
export interface CookieAffinityOptions {
  /**
   * The cookie name.
   *
   * @default "frp-session"
   */
  readonly name?: string;
  /**
   * A cookie unused for longer than this is ignored (`maxidle`), so the client is
   * balanced again.
   *
   * @default Duration.hours(1)
   */
  readonly maxIdle?: Duration;
  /**
   * Key HAProxy hashes into the cookie value of DNS-discovered servers
   * (`dynamic-cookie-key`), so that every HAProxy replica computes the same value.
   * Not a secret: it only keeps server addresses out of the cookie.
   *
   * @default - the service name
   */
  readonly dynamicCookieKey?: string;
}

/**
 * Options of client-address session affinity.
 */
export interface SourceAffinityOptions {
  /**
   * How long an idle client stays pinned to its server (stick table `expire`).
   *
   * @default Duration.hours(1)
   */
  readonly expire?: Duration;
  /**
   * Most client addresses remembered (stick table `size`).
   *
   * @default 100000
   */
  readonly tableSize?: number;
}

/** The kinds of session affinity. */
export enum HaproxyAffinityKind {
  /** An inserted cookie names the server (http mode, clients that keep cookies). */
  COOKIE = 'cookie',
  /** A stick table maps the client address to its server (any mode). */
  SOURCE_ADDRESS = 'source-address',
}

/**
 * Keeps a client on the server it first reached.
 */
export class HaproxyAffinity {
  /**
   * `cookie NAME insert indirect nocache maxidle T`: HAProxy inserts a cookie naming the
   * server. http mode only; browsers and most HTTP clients keep it.
   *
   * @param options cookie name and idle timeout
   */
  public static cookie(options: CookieAffinityOptions = {}): HaproxyAffinity {
    return new HaproxyAffinity(HaproxyAffinityKind.COOKIE, options, undefined);
  }

  /**
   * `stick-table type ip ... expire T` + `stick on src`: the client address (the real one
   * when PROXY protocol is on) maps to a server. Works in tcp mode and for gRPC, whose
   * clients do not keep cookies. The table is per HAProxy process unless the config
   * shares it through `peers` (HaproxyBalancer does with more than one replica).
   *
   * @param options expiry and table size
   */
  public static sourceAddress(options: SourceAffinityOptions = {}): HaproxyAffinity {
    return new HaproxyAffinity(HaproxyAffinityKind.SOURCE_ADDRESS, undefined, options);
  }

  /**
   * @param kind which affinity
   * @param cookieOptions the options of `cookie()`
   * @param sourceOptions the options of `sourceAddress()`
   */
  private constructor(
    /** Which affinity. */
    public readonly kind: HaproxyAffinityKind,
    /** The options of `cookie()`. */
    public readonly cookieOptions: CookieAffinityOptions | undefined,
    /** The options of `sourceAddress()`. */
    public readonly sourceOptions: SourceAffinityOptions | undefined,
  ) {}
}

/**
 * Options of API key authentication.
 */
export interface ApiKeyAuthOptions {
  /**
   * File holding the valid keys, one per line (mounted from a Secret). Empty lines and
   * lines starting with `#` are ignored. HAProxy reads it at start: roll the pods to
   * change keys.
   */
  readonly keysFile: string;
  /**
   * The request header that carries the key.
   *
   * @default "X-API-Key"
   */
  readonly header?: string;
}

/**
 * Options of static bearer token authentication.
 */
export interface BearerTokenAuthOptions {
  /**
   * File holding the valid tokens, one per line (mounted from a Secret), sent as
   * `Authorization: Bearer <token>`. HAProxy reads it at start.
   */
  readonly tokensFile: string;
}

/**
 * Options of JWT (OAuth2 access token) authentication.
 */
export interface JwtAuthOptions {
  /**
   * PEM public key (or certificate) of the token issuer (mounted from a Secret).
   */
  readonly publicKeyFile: string;
  /**
   * The only accepted signing algorithm; the token header `alg` must equal it.
   *
   * @default JwtAlgorithm.RS256
   */
  readonly algorithm?: JwtAlgorithm;
  /**
   * JSON path of the roles claim in the token payload: an array of strings, or a single
   * string holding one role.
   *
   * @default "$.roles"
   */
  readonly rolesClaim?: string;
  /**
   * How many entries of the roles array are looked at.
   *
   * @default 16
   */
  readonly maxRoles?: number;
  /**
   * Required value of the `iss` claim.
   *
   * @default - the issuer is not checked
   */
  readonly issuer?: string;
  /**
   * Required value of the `aud` claim (a string, or one of the first 8 entries of an array).
   *
   * @default - the audience is not checked
   */
  readonly audience?: string;
}

/**
 * How end users authenticate (http mode). Failures get 401.
 */
export class EndUserAuthentication {
  /**
   * An API key in a header, checked against a key list file.
   *
   * @param options the key file and header
   */
  public static apiKey(options: ApiKeyAuthOptions): EndUserAuthentication {
    return new EndUserAuthentication(AuthenticationType.API_KEY, options, undefined, undefined);
  }

  /**
   * `Authorization: Bearer <token>` checked against a token list file.
   *
   * @param options the token file
   */
  public static bearerToken(options: BearerTokenAuthOptions): EndUserAuthentication {
    return new EndUserAuthentication(AuthenticationType.TOKEN, undefined, options, undefined);
  }

  /**
   * `Authorization: Bearer <jwt>`: the signature is verified with the issuer's public key
   * (`jwt_verify`), the header `alg` must match, `exp` must be in the future (a token
   * without `exp` is refused), `nbf` (when present) in the past, and the issuer and
   * audience are compared when given. No clock skew is allowed. Its roles feed
   * authorization rules.
   *
   * @param options the key file, algorithm and claims
   */
  public static jwt(options: JwtAuthOptions): EndUserAuthentication {
    return new EndUserAuthentication(AuthenticationType.OAUTH2, undefined, undefined, options);
  }

  /**
   * @param kind which authentication
   * @param apiKeyOptions the options of `apiKey()`
   * @param bearerTokenOptions the options of `bearerToken()`
   * @param jwtOptions the options of `jwt()`
   */
  private constructor(
    /** Which authentication (never `NONE`). */
    public readonly kind: AuthenticationType,
    /** The options of `apiKey()`. */
    public readonly apiKeyOptions: ApiKeyAuthOptions | undefined,
    /** The options of `bearerToken()`. */
    public readonly bearerTokenOptions: BearerTokenAuthOptions | undefined,
    /** The options of `jwt()`. */
    public readonly jwtOptions: JwtAuthOptions | undefined,
  ) {}
}

/**
 * One authorization rule. A request is allowed when at least one rule matches its path,
 * its method and (when the rule lists roles) one of the token's roles; otherwise 403.
 */
export interface HaproxyAuthorizationRule {
  /**
   * Path glob, absolute. A trailing `*` matches the rest of the path including further
   * segments (`/admin/*` covers `/admin/users/1`); `*` elsewhere matches within one
   * segment; `**` matches across segments. Without `*` the path must match exactly.
   */
  readonly path: string;
  /**
   * Methods the rule allows.
   *
   * @default - every method
   */
  readonly methods?: HttpMethod[];
  /**
   * Roles the rule allows (any one of them); needs JWT authentication.
   *
   * @default - any authenticated client
   */
  readonly roles?: string[];
}

/**
 * Per-client rate limiting on the client address.
 */
export interface HaproxyRateLimit {
  /**
   * Requests (http mode) or connections (tcp mode) a client may make per `period`;
   * more get 429 (http) or a closed connection (tcp).
   */
  readonly limit: number;
  /**
   * The window the rate is measured over.
   *
   * @default Duration.seconds(10)
   */
  readonly period?: Duration;
  /**
   * Most client addresses tracked.
   *
   * @default 100000
   */
  readonly tableSize?: number;
}

/**
 * Timeouts. Every field left out keeps the value of the level above (service → config
 * defaults → the defaults below).
 *
 * @see https://docs.haproxy.org/2.8/configuration.html#4.2-timeout%20client
 */
export interface HaproxyTimeouts {
  /**
   * Time to establish a connection to a server (`timeout connect`).
   *
   * @default Duration.seconds(10)
   */
  readonly connect?: Duration;
  /**
   * Client inactivity (`timeout client`).
   *
   * @default Duration.seconds(30)
   */
  readonly client?: Duration;
  /**
   * Server inactivity, including the wait for a response (`timeout server`).
   *
   * @default Duration.seconds(30)
   */
  readonly server?: Duration;
  /**
   * Time to receive a complete request head (`timeout http-request`).
   *
   * @default Duration.seconds(10)
   */
  readonly httpRequest?: Duration;
  /**
   * Idle time between two requests on a client connection (`timeout http-keep-alive`).
   *
   * @default Duration.seconds(30)
   */
  readonly httpKeepAlive?: Duration;
  /**
   * Inactivity of tunnels: WebSocket and other upgraded connections (`timeout tunnel`).
   *
   * @default Duration.hours(1)
   */
  readonly tunnel?: Duration;
}

/**
 * One balanced service: a frontend (`fe_<name>`) and its backend (`be_<name>`).
 */
export interface HaproxyServiceOptions {
  /** Service name, a DNS label; the sections are `fe_<name>` and `be_<name>`. */
  readonly name: string;
  /** The port HAProxy listens on for this service. */
  readonly port: number;
  /** Where the traffic goes. */
  readonly targets: HaproxyTargets;
  /**
   * http or tcp.
   *
   * @default HaproxyMode.HTTP
   */
  readonly mode?: HaproxyMode;
  /**
   * Speak cleartext HTTP/2 (h2c) to clients and servers (`proto h2`), as gRPC needs.
   * http mode only; every request (gRPC call) is then balanced on its own.
   *
   * @default false
   */
  readonly http2?: boolean;
  /**
   * The address to listen on.
   *
   * @default - every address
   */
  readonly bindAddress?: string;
  /**
   * Expect a PROXY protocol header (v1 or v2) on every connection (`accept-proxy`):
   * frpc sends one, so HAProxy sees the real client address. Connections without one
   * are refused.
   *
   * @default false
   */
  readonly acceptProxy?: boolean;
  /**
   * Balancing algorithm.
   *
   * @default HaproxyBalance.ROUND_ROBIN
   */
  readonly balance?: HaproxyBalance;
  /**
   * Active health checks.
   *
   * @default - no health checks: every server is assumed up
   */
  readonly healthCheck?: HaproxyHealthCheck;
  /**
   * Retries.
   *
   * @default - no retries (`retries 0`)
   */
  readonly retry?: HaproxyRetry;
  /**
   * Session affinity.
   *
   * @default - none: every request or connection is balanced
   */
  readonly affinity?: HaproxyAffinity;
  /**
   * End-user authentication (http mode).
   *
   * @default - none
   */
  readonly authentication?: EndUserAuthentication;
  /**
   * Authorization rules (http mode); requests no rule allows get 403, and requests whose
   * path holds `/./`, `/../`, `//` or an encoded `.`, `/` or `\` get 400, so a path cannot
   * dodge the rules.
   *
   * @default - every (authenticated) request is allowed
   */
  readonly authorizationRules?: HaproxyAuthorizationRule[];
  /**
   * Per-client rate limit.
   *
   * @default - no limit
   */
  readonly rateLimit?: HaproxyRateLimit;
  /**
   * Add `X-Forwarded-For` with the client address (http mode).
   *
   * @default true
   */
  readonly forwardFor?: boolean;
  /**
   * Timeouts of this service.
   *
   * @default - the config-wide `timeouts`
   */
  readonly timeouts?: HaproxyTimeouts;
}

/**
 * The Prometheus and stats endpoint.
 */
export interface HaproxyMetricsOptions {
  /**
   * Port of the `frontend metrics`.
   *
   * @default 8404
   */
  readonly port?: number;
  /**
   * Path of the Prometheus exporter.
   *
   * @default "/metrics"
   */
  readonly path?: string;
  /**
   * Path of the read-only HTML stats page.
   *
   * @default "/stats"
   */
  readonly statsPath?: string;
}

/**
 * The endpoint Kubernetes probes (`monitor-uri`): 200 while the process runs.
 */
export interface HaproxyHealthEndpointOptions {
  /**
   * Port of the `frontend healthz`.
   *
   * @default 8405
   */
  readonly port?: number;
  /**
   * Path answered with 200.
   *
   * @default "/healthz"
   */
  readonly path?: string;
}

/**
 * A DNS server of the `resolvers` section.
 */
export interface HaproxyNameserver {
  /** IP address of the DNS server. */
  readonly address: string;
  /**
   * Port of the DNS server.
   *
   * @default 53
   */
  readonly port?: number;
}

/**
 * The `resolvers dns` section, rendered when a service uses DNS discovery or a server
 * given by name.
 */
export interface HaproxyResolversOptions {
  /**
   * The DNS servers.
   *
   * @default - those of /etc/resolv.conf (`parse-resolv-conf`), i.e. the cluster DNS in a pod
   */
  readonly nameservers?: HaproxyNameserver[];
  /**
   * How long a resolution stays valid before it is refreshed (`hold valid`).
   *
   * @default Duration.seconds(10)
   */
  readonly holdValid?: Duration;
  /**
   * Time between two resolutions (`timeout resolve`).
   *
   * @default Duration.seconds(1)
   */
  readonly resolveInterval?: Duration;
}

/**
 * One HAProxy process that shares stick tables (a `peers` entry).
 */
export interface HaproxyPeer {
  /** The peer's name; the local process is the one whose `localPeerEnv` holds it. */
  readonly name: string;
  /**
   * A stable address of the peer: an IP address, or a DNS name that resolves when HAProxy
   * starts. HAProxy resolves peer addresses once, at start, and refuses to start when one
   * does not resolve, so a pod IP that changes on restart does not fit: use an address
   * that outlives the pod (a ClusterIP Service per peer).
   */
  readonly host: string;
}

/**
 * Stick tables shared between HAProxy processes (a `peers` section): every process
 * pushes its entries to the others, and a (re)started process learns the table from them.
 */
export interface HaproxyPeersOptions {
  /** Every process, the local one included (the same list in each). */
  readonly peers: HaproxyPeer[];
  /**
   * The port peers listen on and connect to.
   *
   * @default 10000
   */
  readonly port?: number;
  /**
   * The environment variable that holds the local peer's name (for a pod, its name from
   * the downward API). The config text is the same for every process; this variable
   * picks which `server` line is the local one.
   *
   * @default "POD_NAME"
   */
  readonly localPeerEnv?: string;
}

/**
 * A whole haproxy.cfg.
 */
export interface HaproxyConfigProps {
  /** The balanced services (at least one); rendered sorted by name. */
  readonly services: HaproxyServiceOptions[];
  /**
   * Timeouts of the `defaults` section.
   *
   * @default - the defaults documented on `HaproxyTimeouts`
   */
  readonly timeouts?: HaproxyTimeouts;
  /**
   * Most concurrent connections of the process (`maxconn`).
   *
   * @default 4096
   */
  readonly maxConnections?: number;
  /**
   * Path of the admin runtime API socket (`stats socket`), e.g. on an emptyDir.
   *
   * @default - no runtime API
   */
  readonly statsSocket?: string;
  /**
   * The Prometheus and stats endpoint.
   *
   * @default - port 8404, `/metrics` and `/stats`
   */
  readonly metrics?: HaproxyMetricsOptions;
  /**
   * The probe endpoint.
   *
   * @default - port 8405, `/healthz`
   */
  readonly healthEndpoint?: HaproxyHealthEndpointOptions;
  /**
   * The address the metrics and health endpoints listen on.
   *
   * @default - every address
   */
  readonly adminBindAddress?: string;
  /**
   * DNS resolution of server names.
   *
   * @default - /etc/resolv.conf, `hold valid 10s`, `timeout resolve 1s`
   */
  readonly resolvers?: HaproxyResolversOptions;
  /**
   * Share the session-affinity stick tables (`HaproxyAffinity.sourceAddress()`) with
   * other HAProxy processes, so that a client pinned through one replica stays pinned
   * through the others. Entries name their server by address (`srvkey addr`), which is
   * the same in every process even when DNS discovery put it in another slot. Rate-limit
   * tables stay per process: peers copy counters, they do not add them up.
   *
   * @default - no peers: every stick table is the process' own
   */
  readonly peers?: HaproxyPeersOptions;
  /**
   * The directory where the files of `HaproxyConfig.scripts()` are (HAProxy loads them at
   * start with `lua-load`).
   *
   * @default "/usr/local/etc/haproxy" (the official image's config directory)
   */
  readonly scriptDir?: string;
}
