import { ApiObject, Chart } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { IConstruct } from 'constructs';
import { LabelMatcher } from './_promql';
import { checkNonEmpty, invalid } from '../frp/errors';

/**
 * An frps as monitoring sees it: the Service carrying its `metrics` port and
 * how to scrape it. FrpServer is one.
 */
export interface IFrpServerMetrics extends IConstruct {
  /** The control Service, which carries the web server port named `metrics`. */
  readonly service: kplus.Service;
  /** Whether frps serves `/metrics`. */
  readonly prometheusEnabled: boolean;
  /** Secret with `user` and `password` protecting `/metrics`, if any. */
  readonly webServerCredentials?: kplus.ISecret;
  /** Number of frps replicas (every replica holds every group member). */
  readonly replicas: number;
}

/** How to reach the metrics of a Service that is not an FrpServer. */
export interface MetricsTargetOptions {
  /** Name of the Service port that serves Prometheus metrics (e.g. "metrics"). */
  readonly port: string;
  /**
   * HTTP path of the metrics.
   * @default "/metrics"
   */
  readonly path?: string;
  /**
   * Secret with the basic-auth credentials Prometheus sends. It must live in
   * the ServiceMonitor's namespace (prometheus-operator reads it from there).
   * @default - no basic auth
   */
  readonly basicAuthSecret?: kplus.ISecret;
  /**
   * Key of the user name in `basicAuthSecret`.
   * @default "user"
   */
  readonly basicAuthUsernameKey?: string;
  /**
   * Key of the password in `basicAuthSecret`.
   * @default "password"
   */
  readonly basicAuthPasswordKey?: string;
}

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * A Service port that Prometheus scrapes through a ServiceMonitor, and the
 * labels its series carry once scraped. prometheus-operator sets `job` to the
 * Service name and adds `namespace`, `service`, `pod` and `endpoint`; alert
 * rules and dashboards select on `job` and `namespace` so that several frps
 * (or balancers) in one cluster never mix.
 */
export class MetricsTarget {
  /**
   * The web server port (`metrics`) of an frps; basic auth comes from its
   * `webServerCredentials` Secret when set.
   * @param server an FrpServer with Prometheus enabled
   */
  public static fromFrpServer(server: IFrpServerMetrics): MetricsTarget {
    if (!server || !(server.service instanceof kplus.Service)) {
      throw new Error('MetricsTarget.fromFrpServer: server: must be an FrpServer');
    }
    if (!server.prometheusEnabled) {
      invalid(server.node.path, 'enablePrometheus', 'is false, so frps serves no /metrics to scrape: set enablePrometheus to true (the default) or leave monitoring off');
    }
    return new MetricsTarget(server.service, {
      port: 'metrics',
      path: '/metrics',
      basicAuthSecret: server.webServerCredentials,
      basicAuthUsernameKey: 'user',
      basicAuthPasswordKey: 'password',
    });
  }

  /**
   * Any Service with a named port serving Prometheus metrics (e.g. the HAProxy
   * balancer tier: port "metrics", path "/metrics").
   * @param service the Service Prometheus discovers (selected by its labels)
   * @param options the port and how to scrape it
   */
  public static fromService(service: kplus.Service, options: MetricsTargetOptions): MetricsTarget {
    if (!service || !(service instanceof kplus.Service)) {
      throw new Error('MetricsTarget.fromService: service: must be a cdk8s-plus Service');
    }
    return new MetricsTarget(service, options ?? ({} as MetricsTargetOptions));
  }

  /** The Service Prometheus discovers. */
  public readonly service: kplus.Service;
  /** Name of the Service port scraped. */
  public readonly port: string;
  /** HTTP path scraped. */
  public readonly path: string;
  /** Basic-auth Secret, if any. */
  public readonly basicAuthSecret?: kplus.ISecret;
  /** Key of the user name in the basic-auth Secret. */
  public readonly basicAuthUsernameKey: string;
  /** Key of the password in the basic-auth Secret. */
  public readonly basicAuthPasswordKey: string;
  /** Value of the `job` label on scraped series: the Service name. */
  public readonly job: string;
  /**
   * Namespace of the Service, when the chart (or the Service) sets one.
   * Without it, series are told apart by `job` only.
   */
  public readonly namespace?: string;

  private constructor(service: kplus.Service, options: MetricsTargetOptions) {
    const where = service.node.path;
    checkNonEmpty(where, 'port', options.port);
    if (!/^[a-z0-9]([-a-z0-9]{0,13}[a-z0-9])?$/.test(options.port) || !/[a-z]/.test(options.port)) {
      invalid(where, 'port', `must be a Service port name (IANA_SVC_NAME: ≤ 15 lowercase letters, digits and '-', at least one letter), got ${JSON.stringify(options.port)}`);
    }
    const path = options.path ?? '/metrics';
    if (typeof path !== 'string' || !path.startsWith('/') || /\s/.test(path)) {
      invalid(where, 'path', `must be an absolute HTTP path without spaces, got ${JSON.stringify(path)}`);
    }
    const userKey = options.basicAuthUsernameKey ?? 'user';
    const passwordKey = options.basicAuthPasswordKey ?? 'password';
    for (const [field, key] of [['basicAuthUsernameKey', userKey], ['basicAuthPasswordKey', passwordKey]] as const) {
      if (!SECRET_KEY.test(key)) invalid(where, field, `must be a valid Secret key ([-._a-zA-Z0-9]+), got ${JSON.stringify(key)}`);
    }
    this.service = service;
    this.port = options.port;
    this.path = path;
    this.basicAuthSecret = options.basicAuthSecret;
    this.basicAuthUsernameKey = userKey;
    this.basicAuthPasswordKey = passwordKey;
    this.job = service.name;
    this.namespace = namespaceOf(service);
  }

  /**
   * Label matchers selecting this target's series (`job`, and `namespace` when known). @internal
   */
  public _matchers(): LabelMatcher[] {
    const m: LabelMatcher[] = [{ name: 'job', op: '=', value: this.job }];
    if (this.namespace) m.push({ name: 'namespace', op: '=', value: this.namespace });
    return m;
  }

  /** The Service's labels as they are synthesized. @internal */
  public _serviceLabels(): { [key: string]: string } {
    return { ...(this.service.metadata.toJson().labels ?? {}) };
  }

  /** Names of the Service's ports as they are now. @internal */
  public _servicePortNames(): string[] {
    return this.service.ports.map(p => p.name).filter((n): n is string => typeof n === 'string');
  }
}

/** The namespace an object will be written to, when known at synth time. @internal */
export function namespaceOf(c: IConstruct): string | undefined {
  const meta = (c as { metadata?: { namespace?: string } }).metadata;
  if (meta && typeof meta.namespace === 'string' && meta.namespace !== '') return meta.namespace;
  const api = c.node.defaultChild;
  if (api instanceof ApiObject && api.metadata.namespace) return api.metadata.namespace;
  try {
    return Chart.of(c).namespace;
  } catch {
    return undefined;
  }
}
