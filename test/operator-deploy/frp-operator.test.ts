import { readFileSync } from 'fs';
import { join } from 'path';
import { App, Chart, Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { AlertSeverity, DistributedServiceCrd, FrpOperator, FrpOperatorProps, NetworkPeer } from '../../lib';
import { MANAGED_KINDS } from '../../lib/operator-deploy/_rbac';
import { checkBundle, checkNoSecretValues, checkPodSecurity, expectDeterministic } from '../helpers';
import { byKind, renderOperator, TEST_IMAGE } from './fixtures';

const ALL: Required<FrpOperatorProps> = {
  serverNamespace: 'frp',
  subDomainHost: 'apps.example.com',
  tokenSecret: 'frp-auth',
  frpsReplicas: 3,
  frpsServiceType: kplus.ServiceType.LOAD_BALANCER,
  frpsAddresses: ['frps.example.com', '203.0.113.7'],
  frpsNodePort: 31000,
  clientCidrs: ['198.51.100.0/24'],
  insecureSkipVerify: false,
  certManagerNamespace: 'cm',
  watchNamespaces: ['team-b', 'team-a'],
  image: 'registry.example.com/cdk8s-frp:1.2.3',
  replicas: 3,
  resources: {
    cpu: { request: kplus.Cpu.millis(200), limit: kplus.Cpu.millis(2000) },
    memory: { request: Size.mebibytes(256), limit: Size.gibibytes(1) },
  },
  metricsPort: 9090,
  healthPort: 9091,
  networkPolicy: true,
  monitoringPeers: [NetworkPeer.namespace('observability')],
  apiServerPeers: [NetworkPeer.cidr('10.0.0.1/32')],
  apiServerPorts: [6443],
  crd: true,
  webhooks: true,
  webhookPort: 9444,
  monitoring: {
    labels: { release: 'kube-prometheus-stack' },
    serviceMonitor: { interval: Duration.seconds(15) },
    alerts: { alertLabels: { team: 'platform' }, serviceNotReady: { pendingFor: Duration.minutes(30), severity: AlertSeverity.CRITICAL } },
    dashboard: { folder: 'frp' },
  },
  name: 'frp-operator',
  labels: { team: 'platform' },
};

const withoutCrd = (manifests: any[]) => manifests.filter(m => m.kind !== 'CustomResourceDefinition');
const rulesOf = (role: any) => role.rules.flatMap((r: any) => r.resources.map((res: string) => (
  { group: r.apiGroups[0], resource: res, verbs: r.verbs, names: r.resourceNames })));

describe('FrpOperator', () => {
  test('minimal props: the CRD, RBAC, two replicas, PDB, NetworkPolicy, metrics Service and monitoring', () => {
    // GIVEN / WHEN
    const { manifests } = renderOperator();
    // THEN (the CRD is DistributedServiceCrd's, snapshotted with it)
    expect(withoutCrd(manifests)).toMatchSnapshot();
    const crdChart = Testing.chart();
    new DistributedServiceCrd(crdChart, 'crd');
    expect(byKind(manifests, 'CustomResourceDefinition')).toEqual(Testing.synth(crdChart));
    expect(manifests.map(m => `${m.kind} ${m.metadata.namespace ?? ''}/${m.metadata.name}`)).toEqual([
      'CustomResourceDefinition /distributedservices.frp.io',
      'ServiceAccount frp-system/cdk8s-frp-operator',
      'ClusterRole /cdk8s-frp-operator-frp-system',
      'ClusterRoleBinding /cdk8s-frp-operator-frp-system',
      'Role frp-system/cdk8s-frp-operator',
      'RoleBinding frp-system/cdk8s-frp-operator',
      'Deployment frp-system/cdk8s-frp-operator',
      'PodDisruptionBudget frp-system/cdk8s-frp-operator',
      'Service frp-system/cdk8s-frp-operator-metrics',
      'NetworkPolicy frp-system/cdk8s-frp-operator',
      'ServiceMonitor frp-system/cdk8s-frp-operator-metrics',
      'PrometheusRule frp-system/cdk8s-frp-operator-metrics',
      'ConfigMap frp-system/cdk8s-frp-operator-metrics-dashboard',
    ]);
    expect(checkBundle(manifests)).toEqual([]);
    expect(checkNoSecretValues(manifests)).toEqual([]);
  });

  test('all props: snapshot, and every prop shows in the output', () => {
    const { manifests, operator } = renderOperator(ALL);
    expect(withoutCrd(manifests)).toMatchSnapshot();
    expect(checkBundle(manifests)).toEqual([]);
    const [deployment] = byKind(manifests, 'Deployment');
    const container = deployment.spec.template.spec.containers[0];
    expect(deployment.metadata.name).toBe('frp-operator');
    expect(deployment.metadata.labels.team).toBe('platform');
    expect(deployment.spec.replicas).toBe(3);
    expect(container.image).toBe('registry.example.com/cdk8s-frp:1.2.3');
    expect(container.resources).toEqual({ limits: { cpu: '2', memory: '1024Mi' }, requests: { cpu: '200m', memory: '256Mi' } });
    expect(container.ports).toEqual([{ containerPort: 9090, name: 'metrics' }, { containerPort: 9091, name: 'health' }, { containerPort: 9444, name: 'webhook' }]);
    expect(operator.args).toEqual([
      'operator', '--leader-election-namespace', 'frp-system', '--metrics-address', '0.0.0.0:9090', '--health-address', '0.0.0.0:9091',
      '--webhook-address', '0.0.0.0:9444', '--webhook-cert-dir', '/var/run/cdk8s-frp/webhook',
      '--namespace', 'team-a', '--namespace', 'team-b',
      '--frps-namespace', 'frp', '--subdomain-host', 'apps.example.com', '--token-secret', 'frp-auth', '--frps-replicas', '3',
      '--frps-service-type', 'LoadBalancer', '--frps-address', 'frps.example.com', '--frps-address', '203.0.113.7', '--frps-node-port', '31000',
      '--client-cidr', '198.51.100.0/24', '--cert-manager-namespace', 'cm',
    ]);
    expect(container.args).toEqual(operator.args);
    // Roles where it watches, where frps and the CA go, and its own namespace (Lease)
    expect(byKind(manifests, 'Role').map(r => r.metadata.namespace)).toEqual(['cm', 'frp', 'frp-system', 'team-a', 'team-b']);
    const [policy] = byKind(manifests, 'NetworkPolicy');
    expect(policy.spec.ingress[0]).toEqual({ ports: [{ port: 9090, protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'observability' } } }] });
    expect(policy.spec.egress[0]).toEqual({ ports: [{ port: 6443, protocol: 'TCP' }], to: [{ ipBlock: { cidr: '10.0.0.1/32' } }] });
    expect(policy.spec.ingress[2]).toEqual({ ports: [{ port: 9444, protocol: 'TCP' }], from: [{ ipBlock: { cidr: '10.0.0.1/32' } }] });
    expect(byKind(manifests, 'ValidatingWebhookConfiguration')[0].webhooks[0].namespaceSelector)
      .toEqual({ matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: ['team-a', 'team-b'] }] });
    const [monitor] = byKind(manifests, 'ServiceMonitor');
    expect(monitor.metadata.labels.release).toBe('kube-prometheus-stack');
    expect(monitor.spec.endpoints[0]).toMatchObject({ port: 'metrics', interval: '15s', honorLabels: true });
    const [rule] = byKind(manifests, 'PrometheusRule');
    expect(rule.metadata.labels.release).toBe('kube-prometheus-stack');
    const notReady = rule.spec.groups[0].rules.find((r: any) => r.alert === 'FrpDistributedServiceNotReady');
    expect(notReady).toMatchObject({ for: '30m', labels: { team: 'platform', severity: 'critical' } });
    const [dashboard] = byKind(manifests, 'ConfigMap');
    expect(dashboard.metadata.annotations).toEqual({ grafana_folder: 'frp' });
    expect(byKind(manifests, 'CustomResourceDefinition')).toHaveLength(1);
  });

  test('the Deployment runs `cdk8s-frp operator` as contract 2 says: leader election in its namespace, metrics and health addresses', () => {
    const { manifests, operator } = renderOperator();
    const [deployment] = byKind(manifests, 'Deployment');
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(container.args).toEqual(['operator', '--leader-election-namespace', 'frp-system', '--metrics-address', '0.0.0.0:8080', '--health-address', '0.0.0.0:8081']);
    expect(container.command).toBeUndefined(); // the image's entrypoint is cdk8s-frp (Dockerfile)
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.serviceAccountName).toBe(operator.serviceAccount.name);
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(container.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 8081, scheme: 'HTTP' });
    expect(container.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 8081, scheme: 'HTTP' });
    expect(container.env).toEqual([
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    ]);
    expect(checkPodSecurity(deployment)).toEqual([]);
    expect(container.resources).toEqual({ limits: { cpu: '1', memory: '512Mi' }, requests: { cpu: '100m', memory: '128Mi' } });
    expect(pod.topologySpreadConstraints[0].labelSelector.matchLabels).toEqual(deployment.spec.selector.matchLabels);
    const [pdb] = byKind(manifests, 'PodDisruptionBudget');
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: deployment.spec.selector.matchLabels } });
    const [service] = byKind(manifests, 'Service');
    expect(service.spec.selector).toEqual(deployment.spec.selector.matchLabels);
    expect(service.spec.ports).toEqual([{ name: 'metrics', port: 8080, targetPort: 8080 }]);
  });

  test('the default image is this package\'s version, pinned', () => {
    const chart = new Chart(new App(), 'operator', { namespace: 'frp-system' });
    const operator = new FrpOperator(chart, 'operator');
    const version = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')).version;
    expect(operator.image).toBe(`ghcr.io/cdk8s-frp/cdk8s-frp:${version}`);
  });

  test('NetworkPolicy: ingress only to the metrics port (monitoring namespace) and the health port; egress only to the API server ports and DNS', () => {
    const [policy] = byKind(renderOperator().manifests, 'NetworkPolicy');
    expect(policy.spec.policyTypes).toEqual(['Ingress', 'Egress']);
    expect(policy.spec.ingress).toEqual([
      { ports: [{ port: 8080, protocol: 'TCP' }], from: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }] },
      { ports: [{ port: 8081, protocol: 'TCP' }] },
    ]);
    expect(policy.spec.egress).toEqual([
      { ports: [{ port: 443, protocol: 'TCP' }, { port: 6443, protocol: 'TCP' }] },
      { ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }] },
    ]);
  });

  test('webhooks: the configurations point at the webhook Service, cert-manager issues its certificate and injects the CA, the API server may reach the port', () => {
    const { manifests, operator } = renderOperator({ webhooks: true });
    expect(checkBundle(manifests)).toEqual([]);
    const [deployment] = byKind(manifests, 'Deployment');
    const pod = deployment.spec.template.spec;
    const [container] = pod.containers;
    expect(container.args).toEqual(['operator', '--leader-election-namespace', 'frp-system', '--metrics-address', '0.0.0.0:8080', '--health-address', '0.0.0.0:8081',
      '--webhook-address', '0.0.0.0:9443', '--webhook-cert-dir', '/var/run/cdk8s-frp/webhook']);
    expect(container.ports).toContainEqual({ containerPort: 9443, name: 'webhook' });
    const service = byKind(manifests, 'Service').find(s => s.metadata.name === 'cdk8s-frp-operator-webhook');
    expect(service.spec).toEqual({ type: 'ClusterIP', ports: [{ name: 'webhook', port: 443, targetPort: 9443 }], selector: deployment.spec.selector.matchLabels });
    const [issuer] = byKind(manifests, 'Issuer');
    expect(issuer.spec).toEqual({ selfSigned: {} });
    const [certificate] = byKind(manifests, 'Certificate');
    expect(certificate.metadata).toMatchObject({ name: 'cdk8s-frp-operator-webhook', namespace: 'frp-system' });
    expect(certificate.spec).toMatchObject({
      secretName: 'cdk8s-frp-operator-webhook-tls',
      dnsNames: ['cdk8s-frp-operator-webhook.frp-system.svc', 'cdk8s-frp-operator-webhook.frp-system.svc.cluster.local'],
      issuerRef: { name: issuer.metadata.name, kind: 'Issuer', group: 'cert-manager.io' },
    });
    // the Secret is mounted read-only where --webhook-cert-dir reads it (the key only in the pod, never in the bundle)
    const volume = pod.volumes.find((v: any) => v.secret?.secretName === 'cdk8s-frp-operator-webhook-tls');
    expect(volume.secret.items).toEqual([{ key: 'tls.crt', path: 'tls.crt' }, { key: 'tls.key', path: 'tls.key' }]);
    expect(container.volumeMounts).toContainEqual({ mountPath: '/var/run/cdk8s-frp/webhook', name: volume.name, readOnly: true });
    expect(checkPodSecurity(deployment)).toEqual([]);
    const configurations = [...byKind(manifests, 'MutatingWebhookConfiguration'), ...byKind(manifests, 'ValidatingWebhookConfiguration')];
    expect(configurations).toHaveLength(2);
    expect(operator.webhookConfigurations).toHaveLength(2);
    for (const c of configurations) {
      expect(c.metadata.namespace).toBeUndefined();
      expect(c.metadata.name).toBe('cdk8s-frp-operator-frp-system');
      expect(c.metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': 'frp-system/cdk8s-frp-operator-webhook' });
      const [webhook] = c.webhooks;
      expect(webhook.clientConfig).toEqual({ service: { namespace: 'frp-system', name: 'cdk8s-frp-operator-webhook', port: 443, path: expect.stringMatching(/^\/(validate|mutate)-frp-io-v1beta1-distributedservice$/) } });
      expect(webhook).toMatchObject({ failurePolicy: 'Fail', sideEffects: 'None', admissionReviewVersions: ['v1'], timeoutSeconds: 10, namespaceSelector: {} });
    }
    const [policy] = byKind(manifests, 'NetworkPolicy');
    expect(policy.spec.ingress).toContainEqual({ ports: [{ port: 9443, protocol: 'TCP' }] });
    // nothing of it without the prop
    const plain = renderOperator().manifests;
    expect(plain.filter(m => /WebhookConfiguration$|^Certificate$|^Issuer$/.test(m.kind))).toEqual([]);
  });

  test('webhooks: webhookPort without webhooks, or on the metrics or health port, is refused', () => {
    expect(() => renderOperator({ webhookPort: 9443 })).toThrow('operator/operator: webhookPort: is for the admission webhooks: set webhooks to true');
    expect(() => renderOperator({ webhooks: true, webhookPort: 8080 })).toThrow('operator/operator: webhookPort: must differ from metricsPort and healthPort (8080, 8081), got 8080');
  });

  describe('RBAC by content', () => {
    test('every namespace: a ClusterRole with the managed kinds (apply and prune, no update) and the controller\'s needs, nothing on Secrets; the Lease by name in its namespace', () => {
      const { manifests, operator } = renderOperator();
      const [clusterRole] = byKind(manifests, 'ClusterRole');
      const rules = rulesOf(clusterRole);
      for (const k of MANAGED_KINDS) {
        expect(rules.find((r: any) => r.group === k.group && r.resource === k.resource)?.verbs).toEqual(['create', 'delete', 'get', 'list', 'patch', 'watch']);
      }
      expect(rules.filter((r: any) => r.group === 'frp.io')).toEqual([
        { group: 'frp.io', resource: 'distributedservices', verbs: ['get', 'list', 'patch', 'update', 'watch'] },
        { group: 'frp.io', resource: 'distributedservices/finalizers', verbs: ['update'] },
        { group: 'frp.io', resource: 'distributedservices/status', verbs: ['get', 'patch', 'update'] },
      ]);
      expect(rules.find((r: any) => r.resource === 'events')).toEqual({ group: 'events.k8s.io', resource: 'events', verbs: ['create', 'patch'] });
      expect(rules.filter((r: any) => ['pods', 'endpointslices'].includes(r.resource)).map((r: any) => r.verbs)).toEqual([['list', 'watch'], ['list', 'watch']]);
      expect(rules).toHaveLength(MANAGED_KINDS.length + 6);
      expect(JSON.stringify(manifests.filter(m => /Role$/.test(m.kind)))).not.toMatch(/secrets|"\*"/);
      const [binding] = byKind(manifests, 'ClusterRoleBinding');
      expect(binding.roleRef).toEqual({ apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole.metadata.name });
      expect(binding.subjects).toEqual([{ kind: 'ServiceAccount', name: operator.serviceAccount.name, namespace: 'frp-system' }]);
      const [role] = byKind(manifests, 'Role');
      expect(role.metadata.namespace).toBe('frp-system');
      expect(rulesOf(role)).toEqual([
        { group: 'coordination.k8s.io', resource: 'leases', verbs: ['create'], names: undefined },
        { group: 'coordination.k8s.io', resource: 'leases', verbs: ['get', 'patch', 'update', 'watch'], names: ['cdk8s-frp-operator'] },
      ]);
    });

    test('watchNamespaces: writes in Roles there; cluster-wide only ClusterIssuers and list/watch; the frps namespace defaults as render\'s does', () => {
      const { manifests } = renderOperator({ watchNamespaces: ['apps'] });
      const [clusterRules] = byKind(manifests, 'ClusterRole').map(rulesOf);
      expect(clusterRules.filter((r: any) => r.verbs.join() !== 'list,watch')).toEqual([
        { group: 'cert-manager.io', resource: 'clusterissuers', verbs: ['create', 'delete', 'get', 'list', 'patch', 'watch'], names: undefined },
      ]);
      expect(clusterRules.filter((r: any) => r.verbs.join() === 'list,watch').map((r: any) => r.resource).sort())
        .toEqual([...MANAGED_KINDS.filter(k => k.namespaced).map(k => k.resource), 'endpointslices'].sort());
      expect(byKind(manifests, 'Role').map(r => r.metadata.namespace)).toEqual(['apps', 'cert-manager', 'frp-system']);
      expect(byKind(manifests, 'RoleBinding').map(r => [r.metadata.namespace, r.roleRef.name])).toEqual([['apps', 'cdk8s-frp-operator'], ['cert-manager', 'cdk8s-frp-operator'], ['frp-system', 'cdk8s-frp-operator']]);
      const two = renderOperator({ watchNamespaces: ['a', 'b'] }).manifests;
      expect(byKind(two, 'Role').map(r => r.metadata.namespace)).toEqual(['a', 'b', 'cert-manager', 'default', 'frp-system']);
    });

    test('insecureSkipVerify with watchNamespaces: no cert-manager permission; the ClusterRole only lists and watches', () => {
      const { manifests } = renderOperator({ watchNamespaces: ['apps'], insecureSkipVerify: true });
      expect(byKind(manifests, 'ClusterRole').flatMap(rulesOf).every((r: any) => r.verbs.join() === 'list,watch')).toBe(true);
      expect(JSON.stringify(manifests.filter(m => /Role$/.test(m.kind)))).not.toContain('cert-manager.io');
      expect(byKind(manifests, 'Role').map(r => r.metadata.namespace)).toEqual(['apps', 'frp-system']);
    });
  });

  test('one replica: no PodDisruptionBudget; no CRD, NetworkPolicy or monitoring when turned off', () => {
    const monitoring = { enableAlerts: false, enableDashboard: false, enableServiceMonitor: false };
    const { manifests } = renderOperator({ replicas: 1, crd: false, networkPolicy: false, monitoring });
    expect(manifests.map(m => m.kind)).toEqual(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding', 'Deployment', 'Service']);
  });

  test('renders byte-identical YAML twice', () => {
    expectDeterministic(() => renderOperator(ALL).chart);
  });

  test('fails with every problem at once, naming the construct path and the field; nothing is rendered', () => {
    const chart = new Chart(new App(), 'operator', { namespace: 'frp-system' });
    let message = '';
    try {
      new FrpOperator(chart, 'operator', {
        serverNamespace: 'Frp',
        subDomainHost: 'no_dots',
        tokenSecret: 'Bad Name',
        frpsReplicas: 10,
        frpsServiceType: 'ClusterIP' as kplus.ServiceType,
        frpsAddresses: ['bad address'],
        clientCidrs: ['10.0.0.0/33', 'nope'],
        watchNamespaces: ['a', 'a', 'B'],
        replicas: 0,
        metricsPort: 8081,
        apiServerPorts: [],
      });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message.split('\n')).toEqual([
      'operator/operator: serverNamespace: must be a DNS label (at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit), got "Frp"',
      'operator/operator: subDomainHost: must be a lower-case DNS name such as app.example.com (an optional leading "*."), got "no_dots"',
      'operator/operator: tokenSecret: must be a Kubernetes object name (lower-case DNS subdomain of at most 253 characters), got "Bad Name"',
      'operator/operator: frpsReplicas: must be an integer from 1 to 9, got 10',
      'operator/operator: frpsServiceType: must be LoadBalancer or NodePort, got "ClusterIP"',
      'operator/operator: frpsAddresses[0]: must be a DNS name or an IP address, got "bad address"',
      'operator/operator: clientCidrs[0]: must be a CIDR such as 198.51.100.0/24, got "10.0.0.0/33"',
      'operator/operator: clientCidrs[1]: must be a CIDR such as 198.51.100.0/24, got "nope"',
      'operator/operator: watchNamespaces[1]: "a" is listed twice',
      'operator/operator: watchNamespaces[2]: must be a DNS label (at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit), got "B"',
      'operator/operator: replicas: must be an integer from 1 to 9, got 0',
      'operator/operator: healthPort: must differ from metricsPort (both 8081)',
      'operator/operator: apiServerPorts: must be a non-empty list of ports, got []',
    ]);
    expect(chart.toJson()).toEqual([]);
  });

  test('fails in a chart without a namespace, and with insecureSkipVerify and certManagerNamespace together', () => {
    expect(() => new FrpOperator(new Chart(new App(), 'operator'), 'operator', { image: TEST_IMAGE })).toThrow(/^operator\/operator: namespace: the chart has no namespace: give it the operator's namespace/);
    expect(() => renderOperator({ insecureSkipVerify: true, certManagerNamespace: 'cm' })).toThrow('operator/operator: certManagerNamespace: is for the CA, which insecureSkipVerify turns off: give one of them');
    expect(() => renderOperator({ frpsNodePort: 30000 })).toThrow('operator/operator: frpsNodePort: needs frpsServiceType (LoadBalancer or NodePort)');
    expect(() => renderOperator({ image: 'ghcr.io/cdk8s-frp/cdk8s-frp:latest' })).toThrow('operator/operator: image: must be a pinned image');
  });

  test('the metrics Service is what the ServiceMonitor selects, and its port', () => {
    const { manifests } = renderOperator();
    const [service] = byKind(manifests, 'Service');
    const [monitor] = byKind(manifests, 'ServiceMonitor');
    expect(monitor.spec.selector.matchLabels).toEqual(service.metadata.labels);
    expect(monitor.spec.namespaceSelector).toEqual({ matchNames: ['frp-system'] });
    expect(monitor.spec.endpoints).toEqual([{ port: 'metrics', path: '/metrics', scheme: 'http', interval: '30s', honorLabels: true }]);
  });

  test('image is the one given', () => {
    expect(renderOperator().operator.image).toBe(TEST_IMAGE);
  });
});
