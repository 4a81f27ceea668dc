/**
 * The names of the metrics `cdk8s-frp operator` serves on `/metrics` (issue 18
 * §3), in one place: the controller registers them under these names and the
 * operator's alerts and dashboard (lib/operator-deploy) query them. Not part of
 * the jsii API (plain constants; index.ts does not re-export this module).
 *
 * Conventions of the Prometheus client libraries: counters end in `_total`,
 * durations are seconds, one gauge per state with the state as a label value
 * (as kube-state-metrics writes `kube_pod_status_phase`). @internal
 */
export const OPERATOR_METRICS = {
  /**
   * Gauge: backends of one DistributedService by health, from what the cluster
   * reports (ready endpoints count as healthy). Labels `namespace`, `name`,
   * `state` (`healthy` or `unhealthy`).
   */
  backends: 'frp_distributed_service_backends',
  /**
   * Gauge: 1 for the state a DistributedService is in (`status.state`), 0 for
   * every other state. Labels `namespace`, `name`, `state` (one of
   * DISTRIBUTED_SERVICE_STATES).
   */
  state: 'frp_distributed_service_state',
  /** Counter: reconciles finished. Label `result` (one of RECONCILE_RESULTS). */
  reconcileTotal: 'frp_operator_reconcile_total',
  /** Counter: reconciles that ended in an error (also counted in reconcileTotal with result="error"). */
  reconcileErrorsTotal: 'frp_operator_reconcile_errors_total',
  /** Histogram (seconds): how long one reconcile took; `_bucket`, `_sum`, `_count`. */
  reconcileDurationSeconds: 'frp_operator_reconcile_duration_seconds',
  /** Gauge: 1 while this replica holds the leader Lease, else 0. */
  leader: 'frp_operator_leader',
} as const;

/** Values of the `state` label of OPERATOR_METRICS.backends. @internal */
export const BACKEND_HEALTH_STATES = ['healthy', 'unhealthy'] as const;

/** Values of the `result` label of OPERATOR_METRICS.reconcileTotal. @internal */
export const RECONCILE_RESULTS = ['success', 'error', 'requeue'] as const;

/**
 * `status.state` of a DistributedService (seed 000's state diagram; the CRD's
 * enum): the values of the `state` label of OPERATOR_METRICS.state. @internal
 */
export const DISTRIBUTED_SERVICE_STATES = ['Pending', 'Provisioning', 'Running', 'Updating', 'Degraded', 'Failed', 'Terminating'] as const;

/** Default `--metrics-address` port of `cdk8s-frp operator` (contract 2: 0.0.0.0:8080). @internal */
export const OPERATOR_METRICS_PORT = 8080;
/** Default `--health-address` port (contract 2: 0.0.0.0:8081; /healthz and /readyz). @internal */
export const OPERATOR_HEALTH_PORT = 8081;
