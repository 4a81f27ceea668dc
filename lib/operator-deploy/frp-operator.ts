import { readFileSync } from 'fs';
import { isIP } from 'net';
import { join } from 'path';
import { ApiObject, Chart, Duration, JsonPatch, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { k8s } from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { planOperatorRbac, RbacPlan, RbacRule } from './_rbac';
import { FrpOperatorMonitoringOptions, planOperatorAlertRules, renderOperatorDashboard } from './operator-monitoring';
import * as certmanager from '../../imports/cert-manager.io';
import { BundleOptions } from '../bundle/distributed-service-bundle';
import { DistributedServiceCrd } from '../crd/distributed-service-crd';
import { checkBaseName, claimName, derivedName, imageVersion, recommendedLabels, selectorLabels, selectPods } from '../k8s/names';
import { checkImage, omitUnstoredDefaults, resourcesWithDefaults, restrictedPodProps, restrictedSecurityContext, sha256 } from '../k8s/pod-defaults';
import { renderPrometheusRule } from '../monitoring/alerts';
import { dashboardConfigMap } from '../monitoring/dashboard';
import { MetricsTarget } from '../monitoring/metrics-target';
import { ServiceMonitor } from '../monitoring/service-monitor';
import { NetworkPeer, policyRule, DNS_PORTS } from '../network/network-peer';
import { WEBHOOK_CERT_DIR, webhookConfigurations } from '../operator/webhook-configuration';
import { OPERATOR_HEALTH_PORT, OPERATOR_METRICS_PORT } from '../operator-metrics-names';
import { CHECKS, isDnsLabel } from '../service/field-checks';

/** Port of the admission webhooks in the operator's pod. */
export const OPERATOR_WEBHOOK_PORT = 9443;

/** The repository the operator image is published to (tag: this package's version). */
export const OPERATOR_IMAGE_REPOSITORY = 'ghcr.io/cdk8s-frp/cdk8s-frp';

/** This package's version (package.json, next to lib/). */
function packageVersion(): string {
  return JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
}

/**
 * Properties of FrpOperator: the bundle options the operator renders every
 * DistributedService with (the options of `cdk8s-frp render`, passed as
 * `cdk8s-frp operator` flags), and how the operator itself runs. With
 * `insecureSkipVerify` the operator gets no permission on cert-manager kinds.
 */
export interface FrpOperatorProps extends BundleOptions {
  /**
   * Namespaces whose DistributedServices the operator reconciles (one
   * `--namespace` each). Its permissions are then Roles in these namespaces
   * (and the frps and cert-manager namespaces) instead of a ClusterRole;
   * only ClusterIssuers keep a ClusterRole.
   * @default - every namespace (a ClusterRole)
   */
  readonly watchNamespaces?: string[];
  /**
   * The operator image (pinned: a tag other than latest, or a digest). Build
   * it from the repository's Dockerfile.
   * @default - "ghcr.io/cdk8s-frp/cdk8s-frp:<this package's version>"
   */
  readonly image?: string;
  /**
   * Operator replicas: one leads (Lease `cdk8s-frp-operator` in the
   * operator's namespace), the others wait to take over.
   * @default 2
   */
  readonly replicas?: number;
  /**
   * Resources of the operator container; what is left out keeps the default.
   * @default - cpu 100m request / 1 limit, memory 128Mi request / 512Mi limit
   */
  readonly resources?: kplus.ContainerResources;
  /**
   * Port of `/metrics` (`--metrics-address 0.0.0.0:PORT`).
   * @default 8080
   */
  readonly metricsPort?: number;
  /**
   * Port of `/healthz` and `/readyz` (`--health-address 0.0.0.0:PORT`).
   * @default 8081
   */
  readonly healthPort?: number;
  /**
   * Render a NetworkPolicy: ingress only to the metrics port (from
   * monitoringPeers) and the health port (kubelet probes); egress only to
   * the API server (apiServerPeers, apiServerPorts) and DNS.
   * @default true
   */
  readonly networkPolicy?: boolean;
  /**
   * Who may scrape the metrics port.
   * @default - the namespace "monitoring"
   */
  readonly monitoringPeers?: NetworkPeer[];
  /**
   * Where the API server is, for the egress rule (e.g.
   * `NetworkPeer.cidr('10.0.0.1/32')`, your control plane's addresses).
   * @default - any address (on apiServerPorts only)
   */
  readonly apiServerPeers?: NetworkPeer[];
  /**
   * Ports of the API server as the pods reach it: the `kubernetes` Service
   * port and, since NetworkPolicies see the address after the Service is
   * resolved, the API server's own port.
   * @default [443, 6443]
   */
  readonly apiServerPorts?: number[];
  /**
   * Render the DistributedService CRD (DistributedServiceCrd).
   * @default true
   */
  readonly crd?: boolean;
  /**
   * Admission webhooks: the operator validates DistributedServices with the
   * checks of `cdk8s-frp render` (alone and with every other one it serves)
   * and writes the defaults the render assumes, at `kubectl apply`. Renders
   * a Service for the webhook port, a self-signed cert-manager Issuer and the
   * serving Certificate (its Secret mounted in the pod), the
   * MutatingWebhookConfiguration and ValidatingWebhookConfiguration pointing
   * at the Service (failurePolicy Fail, the watched namespaces), their CA
   * injected by cert-manager's cainjector (`cert-manager.io/inject-ca-from`),
   * and the NetworkPolicy's ingress to the webhook port from apiServerPeers.
   * Needs cert-manager with its cainjector.
   * @default false
   */
  readonly webhooks?: boolean;
  /**
   * Port of the admission webhooks in the pod (`--webhook-address 0.0.0.0:PORT`;
   * the Service listens on 443).
   * @default 9443
   */
  readonly webhookPort?: number;
  /**
   * Monitoring with kube-prometheus-stack: a ServiceMonitor, a PrometheusRule
   * (FrpOperatorDown, FrpOperatorNoLeader, FrpDistributedServiceNotReady,
   * FrpDistributedServiceNoHealthyBackends, FrpOperatorReconcileErrors) and a
   * Grafana dashboard; each part can be turned off.
   * @default - all three
   */
  readonly monitoring?: FrpOperatorMonitoringOptions;
  /**
   * Base name of the operator's objects (ServiceAccount, Deployment, roles,
   * Services); cluster-scoped ones add the namespace.
   * @default "cdk8s-frp-operator"
   */
  readonly name?: string;
  /**
   * Extra labels on every object.
   * @default - the app.kubernetes.io labels only
   */
  readonly labels?: { [key: string]: string };
}

/**
 * `cdk8s-frp operator` deployed in a cluster: the DistributedService CRD, a
 * ServiceAccount with least-privilege RBAC (only the kinds bundles contain,
 * only where it needs them, no Secrets), a Deployment of two replicas that
 * elect a leader on a Lease, a PodDisruptionBudget, a NetworkPolicy, a
 * metrics Service, and monitoring (ServiceMonitor, alerts, dashboard). Every
 * pod is PodSecurity restricted, with resources, probes and a pinned image.
 * The chart must have a namespace: the operator's own.
 *
 * The props are the options every DistributedService is rendered with, the
 * same as `cdk8s-frp render`'s, so the operator applies what `render` writes.
 */
export class FrpOperator extends Construct {
  /**
   * The Argo CD health check for DistributedService, in Lua (install it as
   * `resource.customizations.health.frp.io_DistributedService` in argocd-cm).
   */
  public static argoCdHealthCheck(): string {
    return readFileSync(join(__dirname, '..', '..', 'argocd', 'health.lua'), 'utf8');
  }

  /** The operator Deployment. */
  public readonly deployment: kplus.Deployment;
  /** The operator container. */
  public readonly container: kplus.Container;
  /** The operator's ServiceAccount. */
  public readonly serviceAccount: kplus.ServiceAccount;
  /** The metrics Service (port `metrics`). */
  public readonly metricsService: kplus.Service;
  /** The operator's namespace (the chart's). */
  public readonly namespace: string;
  /** The operator's command line (after the entrypoint `cdk8s-frp`). */
  public readonly args: string[];
  /** The image the operator runs. */
  public readonly image: string;
  /** Namespaces watched; empty means every namespace. */
  public readonly watchNamespaces: string[];
  /** The ClusterRole, when one is needed. */
  public readonly clusterRole?: k8s.KubeClusterRole;
  /** The Roles, one per namespace, sorted by namespace. */
  public readonly roles: k8s.KubeRole[];
  /** The DistributedService CRD, when rendered. */
  public readonly crd?: DistributedServiceCrd;
  /** The PodDisruptionBudget (with two replicas or more). */
  public readonly podDisruptionBudget?: k8s.KubePodDisruptionBudget;
  /** The NetworkPolicy, when rendered. */
  public readonly networkPolicy?: k8s.KubeNetworkPolicy;
  /** The ServiceMonitor, when rendered. */
  public readonly serviceMonitor?: ServiceMonitor;
  /** The webhook Service, with `webhooks`. */
  public readonly webhookService?: kplus.Service;
  /** The webhooks' serving Certificate, with `webhooks`. */
  public readonly webhookCertificate?: ApiObject;
  /** The MutatingWebhookConfiguration and ValidatingWebhookConfiguration, with `webhooks`. */
  public readonly webhookConfigurations: ApiObject[];

  constructor(scope: Construct, id: string, props: FrpOperatorProps = {}) {
    super(scope, id);
    const where = this.node.path;
    const problems = operatorProblems(props ?? {}, Chart.of(this).namespace);
    if (problems.length > 0) throw new Error(problems.map(p => `${where}: ${p}`).join('\n'));
    this.namespace = Chart.of(this).namespace!;
    const name = checkBaseName(where, 'name', props.name ?? 'cdk8s-frp-operator');
    this.image = props.image ?? `${OPERATOR_IMAGE_REPOSITORY}:${packageVersion()}`;
    checkImage(where, 'image', this.image);
    this.watchNamespaces = [...props.watchNamespaces ?? []].sort();
    const metricsPort = props.metricsPort ?? OPERATOR_METRICS_PORT;
    const healthPort = props.healthPort ?? OPERATOR_HEALTH_PORT;
    const webhookPort = props.webhooks === true ? props.webhookPort ?? OPERATOR_WEBHOOK_PORT : undefined;
    const replicas = props.replicas ?? 2;

    const component = { app: 'cdk8s-frp-operator', instance: name, component: 'operator', version: imageVersion(this.image) };
    const labels = recommendedLabels(component, props.labels);
    const podLabels = selectorLabels(component);
    const named = (kind: string, n: string, namespaced = true) => ({ name: claimName(this, kind, n, namespaced ? undefined : ''), labels });

    if (props.crd ?? true) this.crd = new DistributedServiceCrd(this, 'Crd');

    this.serviceAccount = new kplus.ServiceAccount(this, 'ServiceAccount', {
      metadata: named('ServiceAccount', name),
      automountToken: true,
    });
    const rbac = this.rbac(props);
    const subject = { kind: 'ServiceAccount', name: this.serviceAccount.name, namespace: this.namespace };
    const toKube = (rules: RbacRule[]): k8s.PolicyRule[] => rules.map(r => ({ ...r }));
    if (rbac.cluster.length > 0) {
      const clusterName = derivedName(name, `-${this.namespace}`);
      this.clusterRole = new k8s.KubeClusterRole(this, 'ClusterRole', { metadata: named('ClusterRole', clusterName, false), rules: toKube(rbac.cluster) });
      const binding = new k8s.KubeClusterRoleBinding(this, 'ClusterRoleBinding', {
        metadata: named('ClusterRoleBinding', clusterName, false),
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: this.clusterRole.name },
        subjects: [subject],
      });
      // cluster-scoped: cdk8s gives every object the chart's namespace
      for (const obj of [this.clusterRole, binding]) obj.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
    }
    this.roles = rbac.namespaced.map(({ namespace, rules }) => {
      const role = new k8s.KubeRole(this, `Role-${namespace}`, {
        metadata: { name: claimName(this, 'Role', name, namespace), namespace, labels },
        rules: toKube(rules),
      });
      new k8s.KubeRoleBinding(this, `RoleBinding-${namespace}`, {
        metadata: { name: claimName(this, 'RoleBinding', name, namespace), namespace, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: role.name },
        subjects: [subject],
      });
      return role;
    });

    this.args = operatorArgs(props, this.namespace, this.watchNamespaces, metricsPort, healthPort, webhookPort);
    this.deployment = new kplus.Deployment(this, 'Resource', {
      replicas,
      metadata: named('Deployment', name),
      podMetadata: { labels: { ...labels, ...podLabels } },
      ...restrictedPodProps(),
      serviceAccount: this.serviceAccount,
      // the operator talks to the API server
      automountServiceAccountToken: true,
    });
    this.deployment.select(kplus.LabelSelector.of({ labels: podLabels }));
    omitUnstoredDefaults(this.deployment);
    // replicas on different nodes where the scheduler can
    ApiObject.of(this.deployment).addJsonPatch(JsonPatch.add('/spec/template/spec/topologySpreadConstraints', [{
      maxSkew: 1,
      topologyKey: 'kubernetes.io/hostname',
      whenUnsatisfiable: 'ScheduleAnyway',
      labelSelector: { matchLabels: podLabels },
    }]));
    const tmp = kplus.Volume.fromEmptyDir(this, 'Tmp', 'tmp', { sizeLimit: Size.mebibytes(64) });
    this.container = this.deployment.addContainer({
      name: 'operator',
      image: this.image,
      imagePullPolicy: kplus.ImagePullPolicy.IF_NOT_PRESENT,
      args: this.args,
      ports: [
        { name: 'metrics', number: metricsPort },
        { name: 'health', number: healthPort },
        ...(webhookPort !== undefined ? [{ name: 'webhook', number: webhookPort }] : []),
      ],
      envVariables: {
        // events' reportingInstance (contract 2)
        POD_NAME: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAME),
        POD_NAMESPACE: kplus.EnvValue.fromFieldRef(kplus.EnvFieldPaths.POD_NAMESPACE),
      },
      securityContext: restrictedSecurityContext(),
      // Node and the in-process render of every DistributedService
      resources: resourcesWithDefaults(props.resources, {
        cpuRequest: kplus.Cpu.millis(100), cpuLimit: kplus.Cpu.units(1), memoryRequest: Size.mebibytes(128), memoryLimit: Size.mebibytes(512),
      }),
      liveness: kplus.Probe.fromHttpGet('/healthz', { port: healthPort, periodSeconds: Duration.seconds(10), failureThreshold: 3 }),
      readiness: kplus.Probe.fromHttpGet('/readyz', { port: healthPort, periodSeconds: Duration.seconds(5) }),
      volumeMounts: [{ path: '/tmp', volume: tmp }],
    });

    if (replicas > 1) {
      this.podDisruptionBudget = new k8s.KubePodDisruptionBudget(this, 'DisruptionBudget', {
        metadata: named('PodDisruptionBudget', name),
        spec: { maxUnavailable: k8s.IntOrString.fromNumber(1), selector: { matchLabels: podLabels } },
      });
    }

    this.webhookConfigurations = [];
    if (webhookPort !== undefined) {
      const service = selectPods(new kplus.Service(this, 'WebhookService', {
        metadata: named('Service', derivedName(name, '-webhook')),
        ports: [{ name: 'webhook', port: 443, targetPort: webhookPort }],
      }), podLabels);
      omitUnstoredDefaults(service);
      this.webhookService = service;
      const issuer = new certmanager.Issuer(this, 'WebhookIssuer', {
        metadata: named('Issuer', derivedName(name, '-webhook-selfsign')),
        spec: { selfSigned: {} },
      });
      const certificate = new certmanager.Certificate(this, 'WebhookCertificate', {
        metadata: named('Certificate', derivedName(name, '-webhook')),
        spec: {
          secretName: derivedName(name, '-webhook-tls'),
          dnsNames: [`${service.name}.${this.namespace}.svc`, `${service.name}.${this.namespace}.svc.cluster.local`],
          usages: [certmanager.CertificateSpecUsages.SERVER_AUTH, certmanager.CertificateSpecUsages.DIGITAL_SIGNATURE],
          privateKey: {
            algorithm: certmanager.CertificateSpecPrivateKeyAlgorithm.ECDSA,
            size: 256,
            rotationPolicy: certmanager.CertificateSpecPrivateKeyRotationPolicy.ALWAYS,
          },
          issuerRef: { name: issuer.name, kind: 'Issuer', group: 'cert-manager.io' },
        },
      });
      this.webhookCertificate = certificate;
      const tls = kplus.Volume.fromSecret(this, 'WebhookTls', kplus.Secret.fromSecretName(this, 'WebhookTlsSecret', derivedName(name, '-webhook-tls')), {
        name: 'webhook-tls',
        items: { 'tls.crt': { path: 'tls.crt' }, 'tls.key': { path: 'tls.key' } },
      });
      this.container.mount(WEBHOOK_CERT_DIR, tls, { readOnly: true });
      const configurations = webhookConfigurations({ service: { namespace: this.namespace, name: service.name, port: 443 } }, {
        namespaces: this.watchNamespaces,
        name: derivedName(name, `-${this.namespace}`),
        labels,
        annotations: { 'cert-manager.io/inject-ca-from': `${this.namespace}/${certificate.name}` },
      });
      for (const c of configurations) {
        const obj = new ApiObject(this, c.kind, c);
        claimName(this, c.kind, c.metadata.name, '');
        // cluster-scoped: cdk8s gives every object the chart's namespace
        obj.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
        this.webhookConfigurations.push(obj);
      }
    }

    this.metricsService = selectPods(new kplus.Service(this, 'MetricsService', {
      metadata: named('Service', derivedName(name, '-metrics')),
      ports: [{ name: 'metrics', port: metricsPort, targetPort: metricsPort }],
    }), podLabels);
    omitUnstoredDefaults(this.metricsService);

    if (props.networkPolicy ?? true) {
      const ingress = (ports: number[], peers: NetworkPeer[]) => {
        const p = policyRule(ports.map(port => ({ port, protocol: 'TCP' as const })), peers);
        return { ports: p.ports, from: p.peers };
      };
      const egress = (ports: { port: number; protocol: 'TCP' | 'UDP' }[], peers: NetworkPeer[]) => {
        const p = policyRule(ports, peers);
        return { ports: p.ports, to: p.peers };
      };
      this.networkPolicy = new k8s.KubeNetworkPolicy(this, 'NetworkPolicy', {
        metadata: named('NetworkPolicy', name),
        spec: {
          podSelector: { matchLabels: podLabels },
          policyTypes: ['Ingress', 'Egress'],
          ingress: [
            ingress([metricsPort], props.monitoringPeers ?? [NetworkPeer.namespace('monitoring')]),
            // kubelet's probes
            ingress([healthPort], []),
            // the API server calls the admission webhooks
            ...(webhookPort !== undefined ? [ingress([webhookPort], props.apiServerPeers ?? [])] : []),
          ],
          egress: [
            egress((props.apiServerPorts ?? [443, 6443]).map(port => ({ port, protocol: 'TCP' })), props.apiServerPeers ?? []),
            egress(DNS_PORTS, []),
          ],
        },
      });
    }

    this.addMonitoring(props.monitoring ?? {});
  }

  /** The RBAC plan for these props. */
  private rbac(props: FrpOperatorProps): RbacPlan {
    const certManager = props.insecureSkipVerify !== true;
    const writeNamespaces: string[] = [];
    if (this.watchNamespaces.length > 0) {
      // where the shared frps goes when the props do not say (render's default)
      writeNamespaces.push(props.serverNamespace ?? (this.watchNamespaces.length === 1 ? this.watchNamespaces[0] : 'default'));
      if (certManager) writeNamespaces.push(props.certManagerNamespace ?? 'cert-manager');
    }
    return planOperatorRbac({ namespace: this.namespace, watchNamespaces: this.watchNamespaces, writeNamespaces, certManager });
  }

  /** ServiceMonitor, alerts and dashboard, as asked. */
  private addMonitoring(options: FrpOperatorMonitoringOptions): void {
    const target = MetricsTarget.fromService(this.metricsService, { port: 'metrics' });
    if (options.enableServiceMonitor ?? true) {
      const sm = options.serviceMonitor ?? {};
      (this as { serviceMonitor?: ServiceMonitor }).serviceMonitor = new ServiceMonitor(this, 'ServiceMonitor', {
        ...sm,
        labels: { ...options.labels, ...sm.labels },
        honorLabels: true,
        target,
      });
    }
    if (options.enableAlerts ?? true) {
      const alerts = options.alerts ?? {};
      const scope = new Construct(this, 'Alerts');
      const groups = planOperatorAlertRules(scope.node.path, target, alerts);
      if (groups.length > 0) renderPrometheusRule(scope, target, groups, { ...options.labels, ...alerts.labels });
    }
    if (options.enableDashboard ?? true) {
      const scope = new Construct(this, 'Dashboard');
      dashboardConfigMap(scope, target, options.dashboard ?? {}, {
        uid: `frp-operator-${sha256(`${this.namespace}/${target.job}`).slice(0, 16)}`,
        title: `cdk8s-frp operator ${this.namespace}`,
      }, (uid, title, refresh) => renderOperatorDashboard(target, uid, title, refresh));
    }
  }
}

/**
 * The operator's command line (contract 2), after the entrypoint `cdk8s-frp`:
 * leader election in its own namespace, the watched namespaces, the bundle
 * options. @internal
 */
export function operatorArgs(
  props: FrpOperatorProps, namespace: string, watch: string[], metricsPort: number, healthPort: number, webhookPort?: number,
): string[] {
  const args = ['operator', '--leader-election-namespace', namespace, '--metrics-address', `0.0.0.0:${metricsPort}`, '--health-address', `0.0.0.0:${healthPort}`];
  if (webhookPort !== undefined) args.push('--webhook-address', `0.0.0.0:${webhookPort}`, '--webhook-cert-dir', WEBHOOK_CERT_DIR);
  for (const ns of watch) args.push('--namespace', ns);
  if (props.serverNamespace !== undefined) args.push('--frps-namespace', props.serverNamespace);
  if (props.subDomainHost !== undefined) args.push('--subdomain-host', props.subDomainHost);
  if (props.tokenSecret !== undefined) args.push('--token-secret', props.tokenSecret);
  if (props.frpsReplicas !== undefined) args.push('--frps-replicas', String(props.frpsReplicas));
  if (props.frpsServiceType !== undefined) args.push('--frps-service-type', props.frpsServiceType);
  for (const a of props.frpsAddresses ?? []) args.push('--frps-address', a);
  if (props.frpsNodePort !== undefined) args.push('--frps-node-port', String(props.frpsNodePort));
  for (const c of props.clientCidrs ?? []) args.push('--client-cidr', c);
  if (props.certManagerNamespace !== undefined) args.push('--cert-manager-namespace', props.certManagerNamespace);
  if (props.insecureSkipVerify === true) args.push('--insecure-skip-verify');
  return args;
}

const CIDR = /^([0-9]{1,3}(\.[0-9]{1,3}){3}|[0-9a-fA-F:]+)\/([0-9]{1,3})$/;

/** Every problem of the props at once (`<field>: <message>`), [] when they are valid. @internal */
export function operatorProblems(props: FrpOperatorProps, chartNamespace: string | undefined): string[] {
  const out: string[] = [];
  const check = (field: string, problem: string | undefined) => { if (problem) out.push(`${field}: ${problem}`); };
  const show = (v: unknown) => JSON.stringify(v);
  const isInt = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
  if (chartNamespace === undefined) out.push('namespace: the chart has no namespace: give it the operator\'s namespace (e.g. new Chart(app, "operator", { namespace: "frp-system" })); the Lease and the ServiceAccount live there');
  const label = (field: string, v: unknown) => v !== undefined && check(field, typeof v === 'string' ? CHECKS.dnsLabel(v) : `must be a DNS label, got ${show(v)}`);
  label('serverNamespace', props.serverNamespace);
  label('certManagerNamespace', props.certManagerNamespace);
  if (props.subDomainHost !== undefined) check('subDomainHost', typeof props.subDomainHost === 'string' ? CHECKS.domain(props.subDomainHost) : `must be a DNS name, got ${show(props.subDomainHost)}`);
  if (props.tokenSecret !== undefined) check('tokenSecret', typeof props.tokenSecret === 'string' ? CHECKS.objectName(props.tokenSecret) : `must be a Secret name, got ${show(props.tokenSecret)}`);
  if (props.frpsReplicas !== undefined && !isInt(props.frpsReplicas, 1, 9)) out.push(`frpsReplicas: must be an integer from 1 to 9, got ${show(props.frpsReplicas)}`);
  const serviceTypes: string[] = [kplus.ServiceType.LOAD_BALANCER, kplus.ServiceType.NODE_PORT];
  if (props.frpsServiceType !== undefined && !serviceTypes.includes(props.frpsServiceType)) {
    out.push(`frpsServiceType: must be LoadBalancer or NodePort, got ${show(props.frpsServiceType)}`);
  }
  if (props.frpsAddresses !== undefined && !Array.isArray(props.frpsAddresses)) out.push(`frpsAddresses: must be a list of DNS names or IP addresses, got ${show(props.frpsAddresses)}`);
  (Array.isArray(props.frpsAddresses) ? props.frpsAddresses : []).forEach((a, i) => {
    if (typeof a !== 'string' || !(isIP(a) !== 0 || CHECKS.domain(a) === undefined || isDnsLabel(a))) out.push(`frpsAddresses[${i}]: must be a DNS name or an IP address, got ${show(a)}`);
  });
  if (props.frpsNodePort !== undefined && !isInt(props.frpsNodePort, 1, 65535)) out.push(`frpsNodePort: must be a port from 1 to 65535, got ${show(props.frpsNodePort)}`);
  if (props.frpsServiceType === undefined && ((props.frpsAddresses ?? []).length > 0 || props.frpsNodePort !== undefined)) {
    out.push(`${props.frpsNodePort !== undefined ? 'frpsNodePort' : 'frpsAddresses'}: needs frpsServiceType (LoadBalancer or NodePort)`);
  }
  if (props.clientCidrs !== undefined && !Array.isArray(props.clientCidrs)) out.push(`clientCidrs: must be a list of CIDRs, got ${show(props.clientCidrs)}`);
  (Array.isArray(props.clientCidrs) ? props.clientCidrs : []).forEach((c, i) => {
    const m = typeof c === 'string' ? CIDR.exec(c) : null;
    const ip = m ? m[1] : '';
    if (!m || isIP(ip) === 0 || Number(m[3]) > (isIP(ip) === 4 ? 32 : 128)) out.push(`clientCidrs[${i}]: must be a CIDR such as 198.51.100.0/24, got ${show(c)}`);
  });
  if (props.insecureSkipVerify !== undefined && typeof props.insecureSkipVerify !== 'boolean') out.push(`insecureSkipVerify: must be true or false, got ${show(props.insecureSkipVerify)}`);
  if (props.insecureSkipVerify === true && props.certManagerNamespace !== undefined) out.push('certManagerNamespace: is for the CA, which insecureSkipVerify turns off: give one of them');

  if (props.watchNamespaces !== undefined && !Array.isArray(props.watchNamespaces)) out.push(`watchNamespaces: must be a list of namespaces, got ${show(props.watchNamespaces)}`);
  const seen = new Set<string>();
  (Array.isArray(props.watchNamespaces) ? props.watchNamespaces : []).forEach((ns, i) => {
    label(`watchNamespaces[${i}]`, ns);
    if (seen.has(ns)) out.push(`watchNamespaces[${i}]: ${show(ns)} is listed twice`);
    seen.add(ns);
  });
  if (props.replicas !== undefined && !isInt(props.replicas, 1, 9)) out.push(`replicas: must be an integer from 1 to 9, got ${show(props.replicas)}`);
  if (props.webhooks !== undefined && typeof props.webhooks !== 'boolean') out.push(`webhooks: must be true or false, got ${show(props.webhooks)}`);
  if (props.webhookPort !== undefined && props.webhooks !== true) out.push('webhookPort: is for the admission webhooks: set webhooks to true');
  if (props.webhooks === true) {
    const ports = [props.metricsPort ?? OPERATOR_METRICS_PORT, props.healthPort ?? OPERATOR_HEALTH_PORT];
    if (ports.includes(props.webhookPort ?? OPERATOR_WEBHOOK_PORT)) out.push(`webhookPort: must differ from metricsPort and healthPort (${ports.join(', ')}), got ${props.webhookPort ?? OPERATOR_WEBHOOK_PORT}`);
  }
  for (const field of ['metricsPort', 'healthPort', 'webhookPort'] as const) {
    if (props[field] !== undefined && !isInt(props[field], 1, 65535)) out.push(`${field}: must be a port from 1 to 65535, got ${show(props[field])}`);
  }
  if ((props.metricsPort ?? OPERATOR_METRICS_PORT) === (props.healthPort ?? OPERATOR_HEALTH_PORT)) {
    out.push(`healthPort: must differ from metricsPort (both ${props.healthPort ?? OPERATOR_HEALTH_PORT})`);
  }
  if (props.apiServerPorts !== undefined && (!Array.isArray(props.apiServerPorts) || props.apiServerPorts.length === 0)) out.push(`apiServerPorts: must be a non-empty list of ports, got ${show(props.apiServerPorts)}`);
  (Array.isArray(props.apiServerPorts) ? props.apiServerPorts : []).forEach((p, i) => {
    if (!isInt(p, 1, 65535)) out.push(`apiServerPorts[${i}]: must be a port from 1 to 65535, got ${show(p)}`);
  });
  return out;
}
