import { Duration } from 'cdk8s';

/**
 * How nginx picks the upstream server of a new UDP session.
 *
 * nginx keys a UDP session on the client address and port; with `proxyResponses` set,
 * a session ends after that many replies, so the next datagram is balanced again.
 *
 * @see https://nginx.org/en/docs/stream/ngx_stream_upstream_module.html
 */
export enum NginxStreamBalance {
  /** Weighted round robin (nginx's default; no directive). */
  ROUND_ROBIN = 'round-robin',
  /** `least_conn`: the server with the fewest active sessions. */
  LEAST_CONN = 'least-conn',
  /** `random two least_conn`: two random draws, the less busy one. */
  RANDOM = 'random',
  /**
   * `hash $remote_addr consistent`: the client IP picks the server. Behind frp every
   * datagram comes from the frpc pod's IP, so this pins all traffic of one frpc to one
   * server; use `HASH_CLIENT_ADDRESS_AND_PORT` there.
   */
  HASH_CLIENT_ADDRESS = 'hash-address',
  /**
   * `hash $remote_addr:$remote_port consistent`: frpc opens one local UDP socket per
   * end user, so this is per-user stickiness behind frp.
   */
  HASH_CLIENT_ADDRESS_AND_PORT = 'hash-address-port',
}

/** One upstream server. */
export interface NginxStreamServer {
  /** IPv4, IPv6 (without brackets) or a DNS name (resolved when nginx starts). */
  readonly host: string;
  /** The server port. */
  readonly port: number;
  /**
   * Relative weight, 1 to 256.
   *
   * @default 1
   */
  readonly weight?: number;
  /**
   * Failed attempts within `failTimeout` that take the server out for `failTimeout`
   * (passive health checking: open-source nginx has no active checks).
   *
   * @default 1
   */
  readonly maxFails?: number;
  /**
   * The window of `maxFails`, and how long a failed server stays out.
   *
   * @default Duration.seconds(10)
   */
  readonly failTimeout?: Duration;
}

/** One balanced UDP service: a `server { listen PORT udp; }` and its `upstream`. */
export interface NginxUdpService {
  /** Service name, a DNS label; the upstream is `<name>`. */
  readonly name: string;
  /** UDP port nginx listens on. */
  readonly port: number;
  /** The servers (at least one). */
  readonly servers: NginxStreamServer[];
  /**
   * The address to listen on.
   *
   * @default - every address
   */
  readonly bindAddress?: string;
  /**
   * Balancing algorithm.
   *
   * @default NginxStreamBalance.ROUND_ROBIN
   */
  readonly balance?: NginxStreamBalance;
  /**
   * Replies after which a session ends (`proxy_responses`): 1 for request/response
   * protocols such as DNS.
   *
   * @default - sessions end after `proxyTimeout` of silence
   */
  readonly proxyResponses?: number;
  /**
   * Silence after which a session ends (`proxy_timeout`).
   *
   * @default Duration.seconds(30)
   */
  readonly proxyTimeout?: Duration;
}

/**
 * Where nginx runs: the parts of `NginxStreamConfigProps` that are not about services.
 */
export interface NginxStreamRuntimeOptions {
  /**
   * Writable directory for the pid file (an emptyDir in Kubernetes).
   *
   * @default "/tmp"
   */
  readonly runtimeDir?: string;
  /**
   * Dynamic modules to load first (`load_module`). Debian's nginx needs
   * `/usr/lib/nginx/modules/ngx_stream_module.so`; the official nginx image has the
   * stream module built in.
   *
   * @default - none
   */
  readonly modules?: string[];
  /**
   * Worker processes.
   *
   * @default 1
   */
  readonly workerProcesses?: number;
  /**
   * Connections (sessions) per worker.
   *
   * @default 1024
   */
  readonly workerConnections?: number;
}

/**
 * A small HTTP server next to the UDP services (an `http {}` block): a path that answers
 * 200 while nginx runs, for Kubernetes probes (a UDP port cannot be probed), and
 * `stub_status`, the connection counters nginx-prometheus-exporter turns into metrics.
 * The counters cover every connection of the process, UDP sessions included.
 *
 * @see https://nginx.org/en/docs/http/ngx_http_stub_status_module.html
 */
export interface NginxStatusEndpointOptions {
  /**
   * TCP port of the status server.
   *
   * @default 8405
   */
  readonly port?: number;
  /**
   * Path answered with 200 `ok`.
   *
   * @default "/healthz"
   */
  readonly healthPath?: string;
  /**
   * Path of `stub_status`.
   *
   * @default "/stub_status"
   */
  readonly stubStatusPath?: string;
  /**
   * The address to listen on.
   *
   * @default - every address
   */
  readonly bindAddress?: string;
}

/**
 * A whole nginx.conf for UDP balancing (`stream {}`), runnable by a non-root user with a
 * read-only root filesystem: the pid file (and the status server's temp directories) go
 * to `runtimeDir`, logs to stderr/stdout.
 */
export interface NginxStreamConfigProps extends NginxStreamRuntimeOptions {
  /** The UDP services (at least one); rendered sorted by name. */
  readonly services: NginxUdpService[];
  /**
   * The HTTP status server (health path and `stub_status`).
   *
   * @default - none: nginx serves UDP only
   */
  readonly statusEndpoint?: NginxStatusEndpointOptions;
}
