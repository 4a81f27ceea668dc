import { ApiObject, Duration, Lazy } from 'cdk8s';
import { Construct } from 'constructs';
import { checkK8sLabels, promDuration } from './_promql';
import { MetricsTarget, namespaceOf } from './metrics-target';
import * as monitoring from '../../imports/monitoring.coreos.com';
import { invalid } from '../frp/errors';
import { claimName } from '../k8s/names';
import { lazyString } from '../k8s/pod-defaults';

/** How often and how long Prometheus scrapes, and what selects the ServiceMonitor. */
export interface ServiceMonitorOptions {
  /**
   * Scrape interval.
   * @default Duration.seconds(30)
   */
  readonly interval?: Duration;
  /**
   * Scrape timeout (at most the interval).
   * @default - Prometheus' global scrape timeout (10s), capped at the interval
   */
  readonly scrapeTimeout?: Duration;
  /**
   * Extra labels on the ServiceMonitor, for the `serviceMonitorSelector` of
   * your Prometheus (kube-prometheus-stack selects `release: <release name>`
   * unless `serviceMonitorSelectorNilUsesHelmValues` is false).
   * @default - the target Service's labels only
   */
  readonly labels?: { [key: string]: string };
  /**
   * Keep the scraped series' own labels where they collide with the target's
   * (`namespace`, `pod`, `service`, `job`): for exporters whose series describe
   * objects in other namespaces (the operator's `namespace` label is the
   * DistributedService's), as kube-state-metrics is scraped.
   * @default false
   */
  readonly honorLabels?: boolean;
}

/** Properties of a ServiceMonitor. */
export interface ServiceMonitorProps extends ServiceMonitorOptions {
  /**
   * What to scrape: `MetricsTarget.fromFrpServer(server)`, or
   * `MetricsTarget.fromService(service, { port })` for another tier.
   */
  readonly target: MetricsTarget;
}

/**
 * A prometheus-operator ServiceMonitor (monitoring.coreos.com/v1) that scrapes
 * one Service port. It selects the Service by all of its labels, names the
 * port by name, limits discovery to the Service's namespace when the chart has
 * one, and sends basic auth from the target's Secret when it has one.
 *
 * @see https://prometheus-operator.dev/docs/api-reference/api/#monitoring.coreos.com/v1.ServiceMonitor
 */
export class ServiceMonitor extends Construct {
  /** The ServiceMonitor object (escape hatch). */
  public readonly apiObject: ApiObject;
  /** What is scraped. */
  public readonly target: MetricsTarget;
  /** Scrape interval. */
  public readonly interval: Duration;
  /** Name of the ServiceMonitor. */
  public readonly name: string;

  constructor(scope: Construct, id: string, props: ServiceMonitorProps) {
    super(scope, id);
    const where = this.node.path;
    if (!props || !(props.target instanceof MetricsTarget)) {
      invalid(where, 'target', 'is required: MetricsTarget.fromFrpServer(server) or MetricsTarget.fromService(service, { port })');
    }
    const target = props.target;
    this.target = target;
    this.interval = props.interval ?? Duration.seconds(30);
    const interval = promDuration(where, 'interval', this.interval);
    let scrapeTimeout: string | undefined;
    if (props.scrapeTimeout !== undefined) {
      scrapeTimeout = promDuration(where, 'scrapeTimeout', props.scrapeTimeout);
      if (props.scrapeTimeout.toMilliseconds() > this.interval.toMilliseconds()) {
        invalid(where, 'scrapeTimeout', `(${scrapeTimeout}) must not be longer than interval (${interval}): Prometheus refuses such a scrape config`);
      }
    }
    checkK8sLabels(where, 'labels', props.labels);

    const ownNamespace = namespaceOf(this);
    const secret = target.basicAuthSecret;
    if (secret) {
      const secretNamespace = namespaceOf(secret);
      if (ownNamespace && secretNamespace && ownNamespace !== secretNamespace) {
        invalid(where, 'target.basicAuthSecret', `is in namespace ${secretNamespace} but the ServiceMonitor is in ${ownNamespace}: prometheus-operator reads basic-auth Secrets from the ServiceMonitor's namespace; put both in one namespace`);
      }
    }

    this.apiObject = new monitoring.ServiceMonitor(this, 'Resource', {
      metadata: {
        // named after the Service it scrapes
        name: claimName(this, 'ServiceMonitor', target.job, ownNamespace),
        labels: { ...target._serviceLabels(), 'app.kubernetes.io/component': 'monitoring', ...props.labels },
      },
      spec: {
        selector: {
          matchLabels: Lazy.any({ produce: () => this.selectorLabels() }) as unknown as { [key: string]: string },
        },
        namespaceSelector: target.namespace ? { matchNames: [target.namespace] } : undefined,
        endpoints: [{
          port: lazyString(() => this.portName()),
          path: target.path,
          scheme: monitoring.ServiceMonitorSpecEndpointsScheme.HTTP,
          interval,
          scrapeTimeout,
          honorLabels: props.honorLabels === true ? true : undefined,
          basicAuth: secret ? {
            username: { name: secret.name, key: target.basicAuthUsernameKey },
            password: { name: secret.name, key: target.basicAuthPasswordKey },
          } : undefined,
        }],
      },
    });
    this.name = this.apiObject.name;
  }

  /** The Service's labels at synth time; the selector must match the Service and only by what it carries. */
  private selectorLabels(): { [key: string]: string } {
    const labels = this.target._serviceLabels();
    if (Object.keys(labels).length === 0) {
      invalid(this.node.path, 'target', `the Service ${this.target.service.node.path} has no labels, so no ServiceMonitor can select it: give it labels (e.g. app.kubernetes.io/name)`);
    }
    return labels;
  }

  /** The scraped port name, checked against the Service's ports at synth time. */
  private portName(): string {
    const names = this.target._servicePortNames();
    if (!names.includes(this.target.port)) {
      invalid(this.node.path, 'target.port', `the Service ${this.target.service.node.path} has no port named ${JSON.stringify(this.target.port)} (its named ports: ${names.length ? names.map(n => JSON.stringify(n)).join(', ') : 'none'})`);
    }
    return this.target.port;
  }
}
