import { Construct } from 'constructs';
import { FrpAlertRules, FrpAlertRulesOptions } from './alerts';
import { FrpDashboard, FrpDashboardOptions } from './dashboard';
import { IFrpServerMetrics, MetricsTarget } from './metrics-target';
import { ServiceMonitor, ServiceMonitorOptions } from './service-monitor';
import { invalid } from '../frp/errors';

/** What FrpMonitoring renders besides the server (the shape of a `monitoring` option). */
export interface FrpMonitoringOptions {
  /**
   * The HAProxy balancer tier's metrics: also scraped (a second
   * ServiceMonitor), alerted on (HAProxyBackendDown) and charted.
   * @default - no balancer
   */
  readonly balancer?: MetricsTarget;
  /**
   * Labels your Prometheus selects ServiceMonitors and PrometheusRules by
   * (e.g. `release: kube-prometheus-stack`); added to every ServiceMonitor and
   * to the PrometheusRule (before their own `labels`).
   * @default - none
   */
  readonly labels?: { [key: string]: string };
  /**
   * Render the ServiceMonitor(s).
   * @default true
   */
  readonly enableServiceMonitor?: boolean;
  /**
   * ServiceMonitor options (interval, timeout, labels).
   * @default - every 30s
   */
  readonly serviceMonitor?: ServiceMonitorOptions;
  /**
   * Render the PrometheusRule.
   * @default true
   */
  readonly enableAlerts?: boolean;
  /**
   * Alert options (thresholds, `for`, severities, expected proxies, runbook URL).
   * @default - see FrpAlertRulesOptions
   */
  readonly alerts?: FrpAlertRulesOptions;
  /**
   * Render the Grafana dashboard ConfigMap.
   * @default true
   */
  readonly enableDashboard?: boolean;
  /**
   * Dashboard options (title, uid, sidecar label, folder).
   * @default - see FrpDashboardOptions
   */
  readonly dashboard?: FrpDashboardOptions;
}

/** Properties of FrpMonitoring. */
export interface FrpMonitoringProps extends FrpMonitoringOptions {
  /** The frps to monitor (with `enablePrometheus`, the default). */
  readonly server: IFrpServerMetrics;
}

/**
 * Everything to watch one frps with kube-prometheus-stack: a ServiceMonitor
 * (plus one for the balancer tier), a PrometheusRule with the frp alerts and a
 * Grafana dashboard ConfigMap. Each part can be turned off.
 *
 * The frps pods must accept connections from Prometheus on the metrics port
 * (NetworkPolicy), and Prometheus must select the objects' labels.
 */
export class FrpMonitoring extends Construct {
  /** The frps metrics endpoint. */
  public readonly target: MetricsTarget;
  /** ServiceMonitor of frps, when enabled. */
  public readonly serviceMonitor?: ServiceMonitor;
  /** ServiceMonitor of the balancer tier, when enabled and a balancer is given. */
  public readonly balancerServiceMonitor?: ServiceMonitor;
  /** The alert rules, when enabled. */
  public readonly alerts?: FrpAlertRules;
  /** The dashboard, when enabled. */
  public readonly dashboard?: FrpDashboard;

  constructor(scope: Construct, id: string, props: FrpMonitoringProps) {
    super(scope, id);
    const where = this.node.path;
    if (!props || !props.server) invalid(where, 'server', 'is required: the FrpServer to monitor');
    const sm = props.enableServiceMonitor ?? true;
    const alerts = props.enableAlerts ?? true;
    const dashboard = props.enableDashboard ?? true;
    if (!sm && !alerts && !dashboard) {
      invalid(where, 'enableServiceMonitor', 'every part (ServiceMonitor, alerts, dashboard) is disabled: enable one or do not create FrpMonitoring');
    }
    this.target = MetricsTarget.fromFrpServer(props.server);
    const balancer = props.balancer;
    if (balancer !== undefined && !(balancer instanceof MetricsTarget)) {
      invalid(where, 'balancer', 'must be a MetricsTarget (MetricsTarget.fromService(balancerService, { port: "metrics" }))');
    }

    if (sm) {
      const options = props.serviceMonitor ?? {};
      const labels = { ...props.labels, ...options.labels };
      this.serviceMonitor = new ServiceMonitor(this, 'ServiceMonitor', { ...options, labels, target: this.target });
      if (balancer) {
        this.balancerServiceMonitor = new ServiceMonitor(this, 'BalancerServiceMonitor', { ...options, labels, target: balancer });
      }
    }
    if (alerts) {
      const options = props.alerts ?? {};
      this.alerts = new FrpAlertRules(this, 'Alerts', {
        ...options,
        labels: { ...props.labels, ...options.labels },
        server: this.target,
        balancer,
        // HA: every frps replica must hold every member
        perReplica: props.server.replicas > 1,
      });
    }
    if (dashboard) {
      this.dashboard = new FrpDashboard(this, 'Dashboard', { ...props.dashboard, server: this.target, balancer });
    }
  }
}
