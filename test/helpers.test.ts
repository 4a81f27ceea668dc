// Proves each strict checker in test/helpers can fail: good objects pass, and every rule
// rejects a bad variant with a message naming the object, the path and the problem.
import * as fs from 'fs';
import * as path from 'path';
import { ApiObject, Chart, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  checkBundle, checkCrdDefinition, checkFrpToml, checkNoSecretValues, checkPodSecurity, expectDeterministic,
  expectValidBundle, frpTomlEnvRefs, imagePinError, FIXTURES_DIR, synthYaml, validateCustomResource, validateK8sObject,
} from './helpers';

// ---------------------------------------------------------------------------
// Fixtures: a small, fully compliant bundle
// ---------------------------------------------------------------------------

const FRPS_TOML = `
bindPort = 7000
vhostHTTPPort = 8080
enablePrometheus = true

[auth]
method = "token"
token = "{{ .Envs.FRP_AUTH_TOKEN }}"

[webServer]
addr = "0.0.0.0"
port = 7500

[transport.tls]
force = true
certFile = "/etc/frp/tls/tls.crt"
keyFile = "/etc/frp/tls/tls.key"
trustedCaFile = "/etc/frp/tls/ca.crt"

[[allowPorts]]
start = 6000
end = 6010
`;

const FRPC_TOML = `
serverAddr = "frps.frp.svc"
serverPort = 7000
loginFailExit = false
user = "{{ .Envs.POD_NAME }}"
metadatas.owner = "platform"

[auth]
token = "{{ .Envs.FRP_AUTH_TOKEN }}"

[transport]
poolCount = 2
protocol = "tcp"

[[proxies]]
name = "llm"
type = "http"
localIP = "ollama.llm.svc"
localPort = 11434
customDomains = ["llm.example.com"]
locations = ["/v1"]
transport.bandwidthLimit = "10MB"
transport.proxyProtocolVersion = "v2"
loadBalancer.group = "llm"
loadBalancer.groupKey = "{{ .Envs.FRP_GROUP_KEY }}"
healthCheck.type = "http"
healthCheck.path = "/healthz"
requestHeaders.set.x-from-where = "frp"

[[proxies]]
name = "ssh"
type = "tcp"
localPort = 22
remotePort = 6000
loadBalancer.group = "ssh"

[[proxies]]
name = "socks"
type = "tcp"
remotePort = 6001
[proxies.plugin]
type = "socks5"
username = "user"
`;

/** Fresh label maps: fixtures are mutated by the tests. */
const labels = () => ({ 'app.kubernetes.io/name': 'frps', 'app.kubernetes.io/part-of': 'cdk8s-frp' });

function goodDeployment(): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'frps', namespace: 'frp', labels: labels() },
    spec: {
      replicas: 2,
      selector: { matchLabels: { 'app.kubernetes.io/name': 'frps' } },
      strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 0 } },
      template: {
        metadata: { labels: labels(), annotations: { 'cdk8s-frp.io/config-hash': 'abc123' } },
        spec: {
          automountServiceAccountToken: false,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532, seccompProfile: { type: 'RuntimeDefault' } },
          initContainers: [{
            name: 'wait',
            image: 'busybox:1.36.1@sha256:' + 'a'.repeat(64),
            command: ['true'],
            resources: { requests: { cpu: '10m', memory: '16Mi' }, limits: { cpu: '50m', memory: '32Mi' } },
            securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          }],
          containers: [{
            name: 'frps',
            image: 'fatedier/frps:v0.70.1',
            args: ['-c', '/etc/frp/frps.toml'],
            ports: [{ name: 'control', containerPort: 7000 }, { name: 'vhost', containerPort: 8080, protocol: 'TCP' }],
            env: [
              { name: 'FRP_AUTH_TOKEN', valueFrom: { secretKeyRef: { name: 'frp-auth', key: 'token' } } },
              { name: 'LOG_LEVEL', value: 'info' },
            ],
            resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: 1, memory: '128Mi' } },
            securityContext: {
              allowPrivilegeEscalation: false,
              readOnlyRootFilesystem: true,
              capabilities: { drop: ['ALL'], add: ['NET_BIND_SERVICE'] },
            },
            readinessProbe: { tcpSocket: { port: 7000 }, periodSeconds: 5 },
            livenessProbe: { httpGet: { path: '/healthz', port: 7500 } },
            volumeMounts: [{ name: 'config', mountPath: '/etc/frp', readOnly: true }],
          }],
          volumes: [{ name: 'config', configMap: { name: 'frps-config' } }, { name: 'tmp', emptyDir: { medium: 'Memory' } }],
        },
      },
    },
  };
}

function goodFrpcDeployment(): any {
  const d = goodDeployment();
  d.metadata.name = 'frpc';
  const c = d.spec.template.spec.containers[0];
  c.name = 'frpc';
  c.image = 'fatedier/frpc:v0.70.1';
  c.env = [
    { name: 'FRP_AUTH_TOKEN', valueFrom: { secretKeyRef: { name: 'frp-auth', key: 'token' } } },
    { name: 'FRP_GROUP_KEY', valueFrom: { secretKeyRef: { name: 'frp-auth', key: 'groupKey' } } },
    { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
  ];
  d.spec.template.spec.volumes[0].configMap.name = 'frpc-config';
  return d;
}

function goodBundle(): any[] {
  return [
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'frps-config', namespace: 'frp', labels: labels() }, data: { 'frps.toml': FRPS_TOML } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'frpc-config', namespace: 'frp' }, data: { 'llm.frpc.toml': FRPC_TOML } },
    goodDeployment(),
    goodFrpcDeployment(),
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'frps', namespace: 'frp', labels: labels() },
      spec: { selector: { 'app.kubernetes.io/name': 'frps' }, ports: [{ name: 'control', port: 7000, targetPort: 'control' }, { name: 'vhost', port: 80, targetPort: 8080 }] },
    },
    { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'frp-auth-ref', namespace: 'frp' }, type: 'Opaque' },
    goodCertificate(),
    goodServiceMonitor(),
    distributedServiceCrd(),
    goodDistributedService(),
  ];
}

function goodCertificate(): any {
  return {
    apiVersion: 'cert-manager.io/v1',
    kind: 'Certificate',
    metadata: { name: 'frps-server', namespace: 'frp' },
    spec: {
      secretName: 'frps-server-tls',
      issuerRef: { name: 'frp-ca', kind: 'Issuer', group: 'cert-manager.io' },
      dnsNames: ['frps.frp.svc'],
      duration: '2160h',
      renewBefore: '360h',
      usages: ['server auth', 'digital signature'],
      privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
    },
  };
}

function goodServiceMonitor(): any {
  return {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'ServiceMonitor',
    metadata: { name: 'frps', namespace: 'frp', labels: labels() },
    spec: {
      selector: { matchLabels: { 'app.kubernetes.io/name': 'frps' } },
      endpoints: [{ port: 'dashboard', path: '/metrics', interval: '30s', basicAuth: { username: { name: 'frps-web', key: 'user' }, password: { name: 'frps-web', key: 'password' } } }],
    },
  };
}

/** A stand-in for the library's own CRD, exercising every schema keyword the checker supports. */
function distributedServiceCrd(): any {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: 'distributedservices.frp.io' },
    spec: {
      group: 'frp.io',
      scope: 'Namespaced',
      names: { kind: 'DistributedService', plural: 'distributedservices', singular: 'distributedservice', listKind: 'DistributedServiceList' },
      versions: [{
        name: 'v1beta1',
        served: true,
        storage: true,
        subresources: { status: {} },
        schema: {
          openAPIV3Schema: {
            type: 'object',
            properties: {
              spec: {
                'type': 'object',
                'required': ['serviceType'],
                // CEL rules are ignored by the checker (see crd-schema.ts).
                'x-kubernetes-validations': [{ rule: 'self.serviceType != "http" || has(self.expose)', message: 'http needs expose' }],
                'properties': {
                  serviceType: { type: 'string', enum: ['http', 'tcp', 'udp', 'grpc'] },
                  replicas: { type: 'integer', format: 'int32', minimum: 1, maximum: 100 },
                  port: { 'x-kubernetes-int-or-string': true, 'anyOf': [{ type: 'integer' }, { type: 'string' }] },
                  domain: { type: 'string', maxLength: 253, pattern: '^[a-z0-9.-]+$' },
                  weights: { 'type': 'array', 'maxItems': 3, 'items': { type: 'integer', minimum: 0 }, 'x-kubernetes-list-type': 'atomic' },
                  endpoints: {
                    'type': 'array',
                    'x-kubernetes-list-type': 'map',
                    'x-kubernetes-list-map-keys': ['name'],
                    'items': { type: 'object', required: ['name'], properties: { name: { type: 'string', minLength: 1 }, address: { type: 'string', format: 'ipv4' } } },
                  },
                  expose: {
                    type: 'object',
                    properties: { domain: { type: 'string' }, port: { type: 'integer' } },
                    oneOf: [{ required: ['domain'] }, { required: ['port'] }],
                  },
                  annotations: { type: 'object', additionalProperties: { type: 'string' } },
                  extra: { 'type': 'object', 'x-kubernetes-preserve-unknown-fields': true },
                  template: { 'type': 'object', 'x-kubernetes-embedded-resource': true, 'x-kubernetes-preserve-unknown-fields': true },
                  note: { type: 'string', nullable: true },
                },
              },
              status: { 'type': 'object', 'x-kubernetes-preserve-unknown-fields': true },
            },
          },
        },
      }],
    },
  };
}

function goodDistributedService(): any {
  return {
    apiVersion: 'frp.io/v1beta1',
    kind: 'DistributedService',
    metadata: { name: 'llm', namespace: 'frp' },
    spec: {
      serviceType: 'http',
      replicas: 3,
      port: 'http',
      domain: 'llm.example.com',
      weights: [1, 2],
      endpoints: [{ name: 'gpu-1', address: '10.0.0.1' }, { name: 'gpu-2' }],
      expose: { domain: 'llm.example.com' },
      annotations: { a: 'b' },
      extra: { anything: { goes: [1, 'two'] } },
      template: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: { k: 'v' } },
      note: null,
    },
  };
}

/** Deep copy, apply `mutate`, return the copy. */
function variant<T>(obj: T, mutate: (o: any) => void): T {
  const copy = structuredClone(obj);
  mutate(copy);
  return copy;
}

/** Exactly these problems (substring match each), for precise failure proofs. */
function expectProblems(problems: string[], ...expected: string[]): void {
  for (const e of expected) {
    if (!problems.some((p) => p.includes(e))) throw new Error(`expected a problem containing:\n  ${e}\ngot:\n  ${problems.join('\n  ') || '(none)'}`);
  }
}

// ---------------------------------------------------------------------------
// Kubernetes schema
// ---------------------------------------------------------------------------

describe('validateK8sObject', () => {
  test('good objects pass', () => {
    for (const obj of goodBundle().filter((o) => !o.apiVersion.includes('.') || o.apiVersion.startsWith('apps/'))) {
      expect(validateK8sObject(obj)).toEqual([]);
    }
    expect(validateK8sObject(distributedServiceCrd())).toEqual([]);
  });

  test('unknown field in a Deployment spec', () => {
    const errors = validateK8sObject(variant(goodDeployment(), (d) => { d.spec.replica = 2; }));
    expect(errors).toEqual(['Deployment/frps: spec.replica: unknown field']);
  });

  test('unknown field deep in a container, with a case hint', () => {
    const errors = validateK8sObject(variant(goodDeployment(), (d) => { d.spec.template.spec.containers[0].imagepullpolicy = 'Always'; }));
    expect(errors).toEqual(['Deployment/frps: spec.template.spec.containers[0].imagepullpolicy: unknown field (did you mean "imagePullPolicy"?)']);
  });

  test('wrong type', () => {
    expect(validateK8sObject(variant(goodDeployment(), (d) => { d.spec.replicas = '2'; })))
      .toEqual(['Deployment/frps: spec.replicas: expected integer, got string "2"']);
    expect(validateK8sObject(variant(goodDeployment(), (d) => { d.spec.replicas = 1.5; })))
      .toEqual(['Deployment/frps: spec.replicas: expected integer, got number 1.5']);
  });

  test('missing required field', () => {
    expect(validateK8sObject(variant(goodDeployment(), (d) => { delete d.spec.template.spec.containers[0].name; })))
      .toEqual(['Deployment/frps: spec.template.spec.containers[0]: missing required field "name"']);
    expect(validateK8sObject(variant(goodDeployment(), (d) => { delete d.spec.selector; })))
      .toEqual(['Deployment/frps: spec: missing required field "selector"']);
  });

  test('IntOrString, Quantity, null, list-map keys, format', () => {
    expectProblems(validateK8sObject(variant(goodDeployment(), (d) => { d.spec.strategy.rollingUpdate.maxSurge = true; })),
      'Deployment/frps: spec.strategy.rollingUpdate.maxSurge: expected integer or string (IntOrString), got boolean true');
    expectProblems(validateK8sObject(variant(goodDeployment(), (d) => { d.spec.template.spec.containers[0].resources.limits.memory = '128MB'; })),
      'Deployment/frps: spec.template.spec.containers[0].resources.limits.memory: invalid quantity "128MB"');
    expectProblems(validateK8sObject(variant(goodDeployment(), (d) => { d.spec.paused = null; })),
      'Deployment/frps: spec.paused: null is not allowed');
    expectProblems(validateK8sObject(variant(goodDeployment(), (d) => { d.spec.template.spec.containers[0].ports.push({ containerPort: 7000, protocol: 'TCP' }); })),
      'Deployment/frps: spec.template.spec.containers[0].ports: [2] duplicates [0]');
    expectProblems(validateK8sObject(variant(goodDeployment(), (d) => { d.spec.replicas = 2 ** 31; })),
      'Deployment/frps: spec.replicas: 2147483648 does not fit in int32');
    expectProblems(validateK8sObject({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, data: { k: 'not base64!' } }),
      'Secret/s: data.k: invalid base64');
    expectProblems(validateK8sObject({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: { 'app.kubernetes.io/name': 1 } } }),
      'ConfigMap/c: metadata.labels["app.kubernetes.io/name"]: expected string, got integer 1');
  });

  test('kind enum and unknown apiVersion/kind', () => {
    expect(validateK8sObject({ apiVersion: 'apps/v1beta1', kind: 'Deployment', metadata: { name: 'x' } }))
      .toEqual(['Deployment/x: (root): no schema for apps/v1beta1/Deployment in Kubernetes 1.28']);
  });

  test('the CRD schema itself is checked (JSONSchemaProps unions included)', () => {
    const bad = variant(distributedServiceCrd(), (c) => {
      c.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.weights.items.minimun = 0;
    });
    expect(validateK8sObject(bad)).toEqual([
      'CustomResourceDefinition/distributedservices.frp.io: spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.weights.items.minimun: unknown field',
    ]);
  });
});

// ---------------------------------------------------------------------------
// CRD schema
// ---------------------------------------------------------------------------

describe('validateCustomResource', () => {
  test('shared CRDs: good Certificate and ServiceMonitor pass', () => {
    expect(validateCustomResource(goodCertificate())).toEqual([]);
    expect(validateCustomResource(goodServiceMonitor())).toEqual([]);
  });

  test('unknown field in a cert-manager Certificate', () => {
    expect(validateCustomResource(variant(goodCertificate(), (c) => { c.spec.dnsName = ['x']; })))
      .toEqual(['Certificate/frps-server: spec.dnsName: unknown field']);
  });

  test('Certificate: enum, required, metadata as ObjectMeta', () => {
    expectProblems(validateCustomResource(variant(goodCertificate(), (c) => { c.spec.privateKey.algorithm = 'DSA'; })),
      'Certificate/frps-server: spec.privateKey.algorithm: must be one of "RSA", "ECDSA", "Ed25519", got string "DSA"');
    expectProblems(validateCustomResource(variant(goodCertificate(), (c) => { delete c.spec.secretName; })),
      'Certificate/frps-server: spec: missing required field "secretName"');
    expectProblems(validateCustomResource(variant(goodCertificate(), (c) => { c.metadata.lables = {}; })),
      'Certificate/frps-server: metadata.lables: unknown field');
    expectProblems(validateCustomResource(variant(goodCertificate(), (c) => { c.metadata = 'frps'; })),
      'Certificate/<no name>: metadata: expected object, got string "frps"');
  });

  test('ServiceMonitor with a bad field and a bad pattern', () => {
    expect(validateCustomResource(variant(goodServiceMonitor(), (s) => { s.spec.endpoints[0].scrapeInterval = '30s'; })))
      .toEqual(['ServiceMonitor/frps: spec.endpoints[0].scrapeInterval: unknown field']);
    expectProblems(validateCustomResource(variant(goodServiceMonitor(), (s) => { s.spec.endpoints[0].interval = '30 seconds'; })),
      'ServiceMonitor/frps: spec.endpoints[0].interval: string "30 seconds" does not match pattern');
  });

  test('versions: undefined and not served', () => {
    expectProblems(validateCustomResource({ apiVersion: 'cert-manager.io/v1alpha2', kind: 'Certificate', metadata: { name: 'c' }, spec: {} }),
      'Certificate/c: apiVersion: version v1alpha2 is not defined by CRD certificates.cert-manager.io');
    expectProblems(validateCustomResource({ apiVersion: 'gateway.networking.k8s.io/v1alpha2', kind: 'TCPRoute', metadata: { name: 't' }, spec: {} }),
      'TCPRoute/t: apiVersion: version v1alpha2 is not served by CRD tcproutes.gateway.networking.k8s.io');
    expectProblems(validateCustomResource({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } }),
      'Widget/w: (root): no schema for example.com/v1/Widget');
  });

  test('cluster-scoped CRs carry no namespace', () => {
    const issuer = { apiVersion: 'cert-manager.io/v1', kind: 'ClusterIssuer', metadata: { name: 'ca' }, spec: { selfSigned: {} } };
    expect(validateCustomResource(issuer)).toEqual([]);
    expect(validateCustomResource(variant(issuer, (i) => { i.metadata.namespace = 'frp'; })))
      .toEqual(['ClusterIssuer/ca: metadata.namespace: ClusterIssuer is cluster-scoped and must not have a namespace']);
  });

  test('Istio oneOf/not value validations', () => {
    const vs = (match: any) => ({
      apiVersion: 'networking.istio.io/v1',
      kind: 'VirtualService',
      metadata: { name: 'vs' },
      spec: { hosts: ['a'], http: [{ match: [{ uri: match }], route: [{ destination: { host: 'b' } }] }] },
    });
    expect(validateCustomResource(vs({ prefix: '/v1' }))).toEqual([]);
    expectProblems(validateCustomResource(vs({ prefix: '/v1', exact: '/v1' })),
      'VirtualService/vs: spec.http[0].match[0].uri: must match exactly one of 4 oneOf schemas, matched 2 (not(...) | {required: exact} | {required: prefix} | {required: regex})');
  });

  test('a CRD from the bundle: every supported keyword', () => {
    const crds = [distributedServiceCrd()];
    const ds = goodDistributedService();
    expect(validateCustomResource(ds, crds)).toEqual([]);
    expectProblems(validateCustomResource(ds), 'DistributedService/llm: (root): no schema for frp.io/v1beta1/DistributedService');
    const cases: Array<[(s: any) => void, string]> = [
      [(s) => { s.serviceTyp = 'http'; }, 'spec.serviceTyp: unknown field'],
      [(s) => { delete s.serviceType; }, 'spec: missing required field "serviceType"'],
      [(s) => { s.serviceType = 'sctp'; }, 'spec.serviceType: must be one of "http", "tcp", "udp", "grpc", got string "sctp"'],
      [(s) => { s.replicas = 0; }, 'spec.replicas: 0 is below the minimum 1'],
      [(s) => { s.replicas = 101; }, 'spec.replicas: 101 is above the maximum 100'],
      [(s) => { s.replicas = '3'; }, 'spec.replicas: expected integer, got string "3"'],
      [(s) => { s.port = 1.5; }, 'spec.port: expected integer or string, got number 1.5'],
      [(s) => { s.domain = 'LLM.example.com'; }, 'spec.domain: string "LLM.example.com" does not match pattern ^[a-z0-9.-]+$'],
      [(s) => { s.domain = 'a'.repeat(254); }, 'spec.domain: length 254 > maxLength 253'],
      [(s) => { s.weights = [1, 2, 3, 4]; }, 'spec.weights: 4 items > maxItems 3'],
      [(s) => { s.endpoints.push({ name: 'gpu-1' }); }, 'spec.endpoints: [2] duplicates [0] (list-type map keyed by name: ["gpu-1"])'],
      [(s) => { s.endpoints[0].address = '10.0.0.300'; }, 'spec.endpoints[0].address: invalid IPv4 address "10.0.0.300"'],
      [(s) => { s.endpoints[1].name = ''; }, 'spec.endpoints[1].name: length 0 < minLength 1'],
      [(s) => { s.expose = { domain: 'a', port: 1 }; }, 'spec.expose: must match exactly one of 2 oneOf schemas, matched 2 ({required: domain} | {required: port})'],
      [(s) => { s.annotations.n = 1; }, 'spec.annotations.n: expected string, got integer 1'],
      [(s) => { s.template = { kind: 'ConfigMap', data: {} }; }, 'spec.template.apiVersion: embedded resource needs a non-empty string'],
      [(s) => { s.template.metadata.nam = 'x'; }, 'spec.template.metadata.nam: unknown field'],
      [(s) => { s.replicas = null; }, 'spec.replicas: null is not allowed (schema is not nullable)'],
    ];
    for (const [mutate, message] of cases) {
      expect(validateCustomResource(variant(ds, (d) => mutate(d.spec)), crds)).toEqual([`DistributedService/llm: ${message}`]);
    }
  });

  test('checkCrdDefinition: structural schema and naming', () => {
    expect(checkCrdDefinition(distributedServiceCrd())).toEqual([]);
    const bad = variant(distributedServiceCrd(), (c) => {
      c.metadata.name = 'distributedservice.frp.io';
      delete c.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.domain.type;
      c.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.annotations.properties = { a: { type: 'string' } };
    });
    expect(checkCrdDefinition(bad)).toEqual([
      'CustomResourceDefinition/distributedservice.frp.io: metadata.name: must be <plural>.<group> = "distributedservices.frp.io"',
      'CustomResourceDefinition/distributedservice.frp.io: spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.domain: structural schema: "type" is required',
      'CustomResourceDefinition/distributedservice.frp.io: spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.annotations: structural schema: "properties" and "additionalProperties" are mutually exclusive',
    ]);
  });
});

// ---------------------------------------------------------------------------
// frp config keys
// ---------------------------------------------------------------------------

describe('checkFrpToml', () => {
  test('good configs and the upstream full examples pass', () => {
    expect(checkFrpToml(FRPS_TOML, 'server')).toEqual([]);
    expect(checkFrpToml(FRPC_TOML, 'client')).toEqual([]);
    const ref = path.join(FIXTURES_DIR, 'frp');
    expect(checkFrpToml(fs.readFileSync(path.join(ref, 'frps_full_example.toml'), 'utf8'), 'server')).toEqual([]);
    expect(checkFrpToml(fs.readFileSync(path.join(ref, 'frpc_full_example.toml'), 'utf8'), 'client')).toEqual([]);
  });

  test('unknown keys, per side', () => {
    expect(checkFrpToml('bindPorts = 7000', 'server')).toEqual(['bindPorts: unknown key "bindPorts" for a frps config']);
    expect(checkFrpToml('serverAddr = "x"', 'server')).toEqual(['serverAddr: unknown key "serverAddr" for a frps config']);
    expect(checkFrpToml('bindPort = 7000', 'client')).toEqual(['bindPort: unknown key "bindPort" for a frpc config']);
    expect(checkFrpToml('[webServer]\nAddr = "0.0.0.0"', 'server'))
      .toEqual(['webServer.Addr: unknown key "webServer.Addr" for a frps config (did you mean "webServer.addr"? frp matches case-insensitively, but emit the canonical spelling)']);
  });

  const proxy = (body: string) => `[[proxies]]\nname = "p"\n${body}\n`;

  test('proxies are checked per type', () => {
    expect(checkFrpToml(proxy('type = "tcp"\nlocalPort = 22\nremotePort = 6000'), 'client')).toEqual([]);
    expect(checkFrpToml(proxy('type = "https"\nlocalPort = 443\ncustomDomains = ["a.example.com"]\nlocations = ["/"]'), 'client'))
      .toEqual(['proxies[0].locations: unknown key "locations" for a https proxy (only valid for http proxies)']);
    expect(checkFrpToml(proxy('type = "tcp"\nlocalPort = 22\nremotPort = 6000'), 'client'))
      .toEqual(['proxies[0].remotPort: unknown key "remotPort" for a tcp proxy']);
    expect(checkFrpToml(proxy('type = "quic"'), 'client'))
      .toEqual(['proxies[0].type: unknown proxy type string "quic" (valid: tcp, udp, http, https, tcpmux, stcp, xtcp, sudp)']);
    expect(checkFrpToml(proxy('localPort = 22'), 'client'))
      .toEqual(['proxies[0].type: proxy has no type (valid: tcp, udp, http, https, tcpmux, stcp, xtcp, sudp)']);
  });

  test('visitors are checked per type', () => {
    const ok = '[[visitors]]\nname = "v"\ntype = "xtcp"\nserverName = "p"\nbindPort = 9000\nprotocol = "quic"\nkeepTunnelOpen = true\n';
    expect(checkFrpToml(ok, 'client')).toEqual([]);
    expect(checkFrpToml(ok.replace('xtcp', 'stcp'), 'client')).toEqual([
      'visitors[0].protocol: unknown key "protocol" for a stcp visitor',
      'visitors[0].keepTunnelOpen: unknown key "keepTunnelOpen" for a stcp visitor',
    ]);
    expect(checkFrpToml(ok.replace('"quic"', '"tcp"'), 'client')).toEqual(['visitors[0].protocol: invalid value "tcp" (valid: "kcp", "quic")']);
    expect(checkFrpToml(ok.replace('bindPort = 9000\n', '').replace('serverName = "p"\n', ''), 'client'))
      .toEqual(['visitors[0].serverName: required for visitors (FACTS §9)', 'visitors[0].bindPort: a non-zero bindPort is required for visitors (FACTS §9)']);
  });

  test('plugins are dispatched by plugin.type', () => {
    expect(checkFrpToml(proxy('type = "tcp"\nremotePort = 6000\n[proxies.plugin]\ntype = "socks5"\nlocalAddr = "x"'), 'client'))
      .toEqual(['proxies[0].plugin.localAddr: unknown key "localAddr" for a socks5 plugin']);
    expect(checkFrpToml(proxy('type = "tcp"\nremotePort = 6000\n[proxies.plugin]\ntype = "sock5"'), 'client'))
      .toEqual([expect.stringContaining('proxies[0].plugin.type: unknown plugin type string "sock5" (valid: http2https, http_proxy,')]);
    expect(checkFrpToml(proxy('type = "tcp"\nremotePort = 6000\n[proxies.plugin]\ntype = "https2http"\ncrtPath = "/c"'), 'client'))
      .toEqual(['proxies[0].plugin.localAddr: required by the https2http plugin (FACTS §9)']);
  });

  test('maps take free-form keys, with typed values', () => {
    expect(checkFrpToml('metadatas.anything-goes = "x"\nfeatureGates.VirtualNet = true\n[virtualNet]\naddress = "100.86.0.1/24"', 'client')).toEqual([]);
    expect(checkFrpToml('metadatas.n = 1', 'client')).toEqual(['metadatas.n: expected string, got int 1']);
    expect(checkFrpToml('featureGates.Virtualnet = true', 'client')).toEqual(['featureGates.Virtualnet: unknown key "Virtualnet" (valid: VirtualNet)']);
    expect(checkFrpToml('[virtualNet]\naddress = "100.86.0.1/24"', 'client'))
      .toEqual(['virtualNet.address: requires featureGates = { VirtualNet = true } (FACTS §9)']);
  });

  test('value types', () => {
    expect(checkFrpToml('bindPort = "7000"', 'server')).toEqual(['bindPort: expected int, got string "7000"']);
    expect(checkFrpToml('bindPort = 7000.0', 'server')).toEqual(['bindPort: expected int, got float 7000']);
    expect(checkFrpToml('bindPort = 70000', 'server')).toEqual(['bindPort: port 70000 out of range 0..65535']);
    expect(checkFrpToml('tcpmuxPassthrough = "true"', 'server')).toEqual(['tcpmuxPassthrough: expected bool, got string "true"']);
    expect(checkFrpToml('[auth]\nadditionalScopes = "HeartBeats"', 'server')).toEqual(['auth.additionalScopes: expected array of strings, got string "HeartBeats"']);
    expect(checkFrpToml('log = "console"', 'server')).toEqual(['log: expected table, got string "console"']);
    expect(checkFrpToml('allowPorts = { start = 1 }', 'server')).toEqual(['allowPorts: expected array of tables, got table']);
    expect(checkFrpToml('[[allowPorts]]\nbegin = 1', 'server')).toEqual(['allowPorts[0].begin: unknown key "allowPorts[].begin" for a frps config']);
  });

  test('bandwidth units', () => {
    for (const ok of ['10MB', '512KB', '1.5MB']) expect(checkFrpToml(proxy(`type = "tcp"\nremotePort = 1\ntransport.bandwidthLimit = "${ok}"`), 'client')).toEqual([]);
    for (const bad of ['10GB', '10mb', '10 MB', 'MB']) {
      expect(checkFrpToml(proxy(`type = "tcp"\nremotePort = 1\ntransport.bandwidthLimit = "${bad}"`), 'client'))
        .toEqual([`proxies[0].transport.bandwidthLimit: invalid bandwidth "${bad}": must be <number>MB or <number>KB (upper case; convert GB to MB)`]);
    }
  });

  test('enums', () => {
    expect(checkFrpToml('[log]\nlevel = "verbose"', 'server')).toEqual(['log.level: invalid value "verbose" (valid: "trace", "debug", "info", "warn", "error")']);
    expect(checkFrpToml('transport.protocol = "udp"', 'client')).toEqual(['transport.protocol: invalid value "udp" (valid: "tcp", "kcp", "quic", "websocket", "wss")']);
    expect(checkFrpToml('auth.additionalScopes = ["HeartBeats", "Pings"]', 'server'))
      .toEqual(['auth.additionalScopes[1]: invalid value "Pings" (valid: "HeartBeats", "NewWorkConns")']);
    expect(checkFrpToml('[[httpPlugins]]\nname = "a"\nops = ["Login", "Logout"]', 'server'))
      .toEqual([expect.stringContaining('httpPlugins[0].ops[1]: invalid value "Logout"')]);
    expect(checkFrpToml(proxy('type = "tcp"\nremotePort = 1\ntransport.bandwidthLimitMode = "both"'), 'client'))
      .toEqual(['proxies[0].transport.bandwidthLimitMode: invalid value "both" (valid: "client", "server")']);
    expect(checkFrpToml(proxy('type = "tcpmux"\ncustomDomains = ["a.example.com"]\nmultiplexer = "sni"'), 'client'))
      .toEqual(['proxies[0].multiplexer: invalid value "sni" (valid: "httpconnect")']);
    expect(checkFrpToml('auth.oidc.tokenSource.type = "env"\nauth.oidc.tokenSource.file.path = "/t"', 'client'))
      .toEqual(['auth.oidc.tokenSource.type: invalid value "env" (valid: "file", "exec")']);
  });

  test('[common] is the legacy INI trap', () => {
    expect(checkFrpToml('[common]\nbindPort = 7000', 'server'))
      .toEqual(['common: a [common] table makes frp load the file as legacy INI; v1 TOML has no [common] (FACTS §1)']);
  });

  test('load-balancing groups', () => {
    expect(checkFrpToml(proxy('type = "udp"\nremotePort = 53\nloadBalancer.group = "dns"'), 'client'))
      .toEqual(['proxies[0].loadBalancer.group: udp proxy "p": frp ignores load-balancing groups on udp proxies (supported: tcp, http, https, tcpmux) (FACTS §3)']);
    expect(checkFrpToml(proxy('type = "http"\ncustomDomains = ["a.example.com", "b.example.com"]\nloadBalancer.group = "web"'), 'client'))
      .toEqual([expect.stringMatching(/^proxies\[0\]: http proxy "p" in group "web" must resolve to exactly one domain \(customDomains \+ subdomain = 2\)/)]);
    expect(checkFrpToml(proxy('type = "https"\ncustomDomains = ["a.example.com"]\nsubdomain = "b"\nloadBalancer.group = "web"'), 'client'))
      .toEqual([expect.stringContaining('https proxy "p" in group "web" must resolve to exactly one domain (customDomains + subdomain = 2)')]);
    expect(checkFrpToml(proxy('type = "http"\nsubdomain = "a"\nlocations = ["/a", "/b"]\nloadBalancer.group = "web"'), 'client'))
      .toEqual(['proxies[0].locations: http proxy "p" in group "web" may have at most one location (has 2) (FACTS §3)']);
    // Without a group, several domains and locations are fine.
    expect(checkFrpToml(proxy('type = "http"\ncustomDomains = ["a.example.com", "b.example.com"]\nlocations = ["/a", "/b"]'), 'client')).toEqual([]);
  });

  test('duplicate proxy names and start list', () => {
    const two = `${proxy('type = "tcp"\nremotePort = 1')}${proxy('type = "tcp"\nremotePort = 2')}`;
    expect(checkFrpToml(two, 'client')).toEqual(['proxies[1].name: duplicate proxy name "p" (also proxies[0]); frps rejects the second (FACTS §3)']);
    expect(checkFrpToml(`start = ["q"]\n${proxy('type = "tcp"\nremotePort = 1')}`, 'client'))
      .toEqual(['start[0]: "q" is not a proxy or visitor in this file, and only listed ones start (FACTS §6)']);
  });

  test('auth rules', () => {
    expect(checkFrpToml('[auth]\ntoken = "{{ .Envs.T }}"\ntokenSource.type = "file"\ntokenSource.file.path = "/t"', 'server'))
      .toEqual(['auth: auth.token and auth.tokenSource are mutually exclusive (FACTS §5)']);
    expect(checkFrpToml('[auth.tokenSource]\ntype = "file"', 'client')).toEqual(['auth.tokenSource: type "file" needs a non-empty file.path']);
    expect(checkFrpToml('[webServer.tls]\ncertFile = "/c"', 'server'))
      .toEqual(['webServer.tls: a webServer.tls table needs both certFile and keyFile (FACTS §1.8, §9)']);
    expect(checkFrpToml('enablePrometheus = true', 'server'))
      .toEqual(['enablePrometheus: needs webServer.port > 0: metrics are served by the web server (FACTS §5)']);
    expect(checkFrpToml('auth.method = "oidc"\nauth.oidc.clientID = "c"\nauth.oidc.tokenEndpointURL = "/token"', 'client'))
      .toEqual(['auth.oidc.tokenEndpointURL: must be an absolute http(s) URL']);
  });

  test('Go templates: env references pass, stray {{ and <no value> fail', () => {
    expect(checkFrpToml('[auth]\ntoken = "{{ .Envs.FRP_AUTH_TOKEN }}"\n[webServer]\npassword = "{{.Envs.WEB_PASSWORD}}"', 'server')).toEqual([]);
    expect(checkFrpToml('[webServer]\npassword = \'a{{ "{{" }}b\'', 'server')).toEqual([]);
    expect(checkFrpToml('[webServer]\npassword = "a{{b"', 'server'))
      .toEqual(['(template): line 2, at `{{b"`: frp renders the file as a Go template, so "{{" must start {{ .Envs.NAME }}, a secret form of the library or be escaped as {{ "{{" }} or {{`{{`}}']);
    expect(checkFrpToml('[webServer]\npassword = "a{{`{{`}}b"', 'server')).toEqual([]);
    expect(checkFrpToml('# {{ index .Envs "A-B" }}\nbindPort = 7000', 'server')).toEqual([expect.stringContaining('(template): line 1, at `{{ index .Envs "A-B" }}`')]);
    expect(checkFrpToml('[webServer]\nuser = "<no value>"', 'server'))
      .toEqual(['webServer.user: contains "<no value>": a template referenced a missing variable (FACTS §2)']);
    // A templated int is a string after rendering: frp would fail to decode it.
    expect(checkFrpToml('bindPort = "{{ .Envs.PORT }}"', 'server')).toEqual(['bindPort: expected int, got string "{{ .Envs.PORT }}"']);
  });

  test('TOML syntax errors are reported, not thrown', () => {
    expect(checkFrpToml('bindPort = ', 'server')).toEqual([expect.stringMatching(/^\(toml\): TOML parse error: /)]);
  });

  test('frpTomlEnvRefs', () => {
    expect(frpTomlEnvRefs(FRPC_TOML)).toEqual(['FRP_AUTH_TOKEN', 'FRP_GROUP_KEY', 'POD_NAME']);
    expect(frpTomlEnvRefs('a = "{{.Envs.B}}"\nc = "{{ .Envs.A }}{{ .Envs.B }}"\nd = \'{{ "{{" }} .Envs.C }}\'')).toEqual(['A', 'B']);
  });
});

// ---------------------------------------------------------------------------
// Pod security
// ---------------------------------------------------------------------------

describe('checkPodSecurity', () => {
  const c0 = 'spec.template.spec.containers[0]';
  const check = (mutate: (d: any) => void) => checkPodSecurity(variant(goodDeployment(), mutate));

  test('good workloads pass; other kinds are ignored', () => {
    expect(checkPodSecurity(goodDeployment())).toEqual([]);
    expect(checkPodSecurity(goodBundle()[0])).toEqual([]);
  });

  test('a root pod', () => {
    expect(check((d) => { delete d.spec.template.spec.securityContext.runAsNonRoot; }))
      .toEqual([
        'Deployment/frps: spec.template.spec.initContainers[0].securityContext.runAsNonRoot: must be true here or in the pod securityContext (restricted)',
        `Deployment/frps: ${c0}.securityContext.runAsNonRoot: must be true here or in the pod securityContext (restricted)`,
      ].sort((a, b) => (a.includes('initContainers') ? 1 : 0) - (b.includes('initContainers') ? 1 : 0)));
    expectProblems(check((d) => { d.spec.template.spec.securityContext.runAsUser = 0; }),
      'Deployment/frps: spec.template.spec.securityContext.runAsUser: must not be 0 (restricted)');
    expectProblems(check((d) => { d.spec.template.spec.containers[0].securityContext.runAsNonRoot = false; }),
      `Deployment/frps: ${c0}.securityContext.runAsNonRoot: must not be false (restricted)`);
  });

  test('missing limits and requests', () => {
    expect(check((d) => { delete d.spec.template.spec.containers[0].resources.limits; })).toEqual([
      `Deployment/frps: ${c0}.resources.limits: missing cpu limits (project rule)`,
      `Deployment/frps: ${c0}.resources.limits: missing memory limits (project rule)`,
    ]);
    expect(check((d) => { delete d.spec.template.spec.initContainers[0].resources.requests.memory; }))
      .toEqual(['Deployment/frps: spec.template.spec.initContainers[0].resources.requests: missing memory requests (project rule)']);
  });

  test(':latest and unpinned images', () => {
    expect(check((d) => { d.spec.template.spec.containers[0].image = 'fatedier/frps:latest'; }))
      .toEqual([`Deployment/frps: ${c0}.image: image "fatedier/frps:latest" uses the mutable "latest" tag: pin a version or a digest (project rule)`]);
    expect(imagePinError('registry.local:5000/frps')).toBe('image "registry.local:5000/frps" is not pinned: add a version tag or a digest');
    expect(imagePinError('registry.local:5000/frps:v1')).toBeUndefined();
    expect(imagePinError('frps@sha256:abc')).toContain('malformed digest');
  });

  test('privilege, capabilities, seccomp, read-only root', () => {
    expect(check((d) => { d.spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation = true; }))
      .toEqual([`Deployment/frps: ${c0}.securityContext.allowPrivilegeEscalation: must be false (restricted)`]);
    expect(check((d) => { d.spec.template.spec.containers[0].securityContext.privileged = true; }))
      .toEqual([`Deployment/frps: ${c0}.securityContext.privileged: privileged containers are forbidden (baseline)`]);
    expect(check((d) => { d.spec.template.spec.containers[0].securityContext.capabilities = { add: ['SYS_ADMIN'] }; })).toEqual([
      `Deployment/frps: ${c0}.securityContext.capabilities.drop: must contain ALL (restricted)`,
      `Deployment/frps: ${c0}.securityContext.capabilities.add: may only add NET_BIND_SERVICE, found "SYS_ADMIN" (restricted)`,
    ]);
    expect(check((d) => { delete d.spec.template.spec.securityContext.seccompProfile; d.spec.template.spec.initContainers = []; }))
      .toEqual([`Deployment/frps: ${c0}.securityContext.seccompProfile.type: set RuntimeDefault here or in the pod securityContext (restricted)`]);
    expect(check((d) => { d.spec.template.spec.containers[0].securityContext.seccompProfile = { type: 'Unconfined' }; }))
      .toEqual([`Deployment/frps: ${c0}.securityContext.seccompProfile.type: must be RuntimeDefault or Localhost, got "Unconfined" (restricted)`]);
    expect(check((d) => { d.spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false; }))
      .toEqual([`Deployment/frps: ${c0}.securityContext.readOnlyRootFilesystem: must be true (project rule)`]);
  });

  test('host namespaces, hostPath, hostPort, volume types', () => {
    expect(check((d) => {
      d.spec.template.spec.hostNetwork = true;
      d.spec.template.spec.volumes.push({ name: 'h', hostPath: { path: '/' } });
      d.spec.template.spec.containers[0].ports[0].hostPort = 7000;
    })).toEqual([
      'Deployment/frps: spec.template.spec.hostNetwork: host namespaces are forbidden (baseline)',
      'Deployment/frps: spec.template.spec.volumes[2].hostPath: volume type hostPath is not allowed (restricted allows configMap, csi, downwardAPI, emptyDir, ephemeral, persistentVolumeClaim, projected, secret)',
      `Deployment/frps: ${c0}.ports[0].hostPort: host ports are forbidden (baseline)`,
    ]);
  });

  test('probes on regular containers only', () => {
    const noProbes = check((d) => {
      delete d.spec.template.spec.containers[0].readinessProbe;
      delete d.spec.template.spec.containers[0].livenessProbe;
    });
    expect(noProbes).toEqual([
      `Deployment/frps: ${c0}.readinessProbe: missing readinessProbe (project rule)`,
      `Deployment/frps: ${c0}.livenessProbe: missing livenessProbe (project rule)`,
    ]);
  });

  test('CronJob and Pod templates are found', () => {
    const podSpec = goodDeployment().spec.template.spec;
    const cron = { apiVersion: 'batch/v1', kind: 'CronJob', metadata: { name: 'c' }, spec: { schedule: '* * * * *', jobTemplate: { spec: { template: { spec: podSpec } } } } };
    expect(checkPodSecurity(cron)).toEqual([]);
    expect(checkPodSecurity(variant(cron, (c) => { c.spec.jobTemplate.spec.template.spec.containers[0].image = 'frps'; })))
      .toEqual(['CronJob/c: spec.jobTemplate.spec.template.spec.containers[0].image: image "frps" is not pinned: add a version tag or a digest (project rule)']);
    expect(checkPodSecurity({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: variant(podSpec, (s) => { s.hostPID = true; }) }))
      .toEqual(['Pod/p: spec.hostPID: host namespaces are forbidden (baseline)']);
  });
});

// ---------------------------------------------------------------------------
// Secrets
// ---------------------------------------------------------------------------

describe('checkNoSecretValues', () => {
  test('the good bundle has no secret values', () => {
    expect(checkNoSecretValues(goodBundle())).toEqual([]);
  });

  test('a Secret with data', () => {
    expect(checkNoSecretValues([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'frp-auth' }, data: { token: 'c2VjcmV0' } }]))
      .toEqual(['Secret/frp-auth: data: Secret carries literal values (token); create Secrets outside the bundle and reference them by name']);
    expect(checkNoSecretValues([{ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { password: 'x' } }]))
      .toEqual([expect.stringContaining('Secret/s: stringData: Secret carries literal values (password)')]);
  });

  test('a literal TOKEN env var', () => {
    const bad = variant(goodDeployment(), (d) => { d.spec.template.spec.containers[0].env[0] = { name: 'FRP_AUTH_TOKEN', value: 'hunter2' }; });
    expect(checkNoSecretValues([bad])).toEqual([
      'Deployment/frps: spec.template.spec.containers[0].env[0].value: env FRP_AUTH_TOKEN looks secret but has a literal value; use valueFrom.secretKeyRef',
    ]);
    const cm = variant(goodDeployment(), (d) => { d.spec.template.spec.containers[0].env[0] = { name: 'db_password', valueFrom: { configMapKeyRef: { name: 'c', key: 'k' } } }; });
    expect(checkNoSecretValues([cm])).toEqual([expect.stringContaining('env db_password looks secret but comes from a ConfigMap')]);
  });

  test('literal credentials in frp TOML', () => {
    const cm = (toml: string) => [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'frpc' }, data: { 'frpc.toml': toml } }];
    expect(checkNoSecretValues(cm('[auth]\ntoken = "supersecret"'))).toEqual([
      'ConfigMap/frpc: data["frpc.toml"] auth.token: literal credential "su****"; use "{{ .Envs.NAME }}" with NAME from a secretKeyRef env var',
    ]);
    expect(checkNoSecretValues(cm('webServer.password = "pw12345"\n[[proxies]]\nname = "a"\nloadBalancer.groupKey = "k3y!"\nauth.oidc.clientSecret = "x"')))
      .toHaveLength(3);
    expect(checkNoSecretValues(cm('auth.token = "{{ .Envs.T }}"\nwebServer.password = ""'))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------
// The whole bundle
// ---------------------------------------------------------------------------

describe('checkBundle', () => {
  test('the good bundle passes', () => {
    expect(checkBundle(goodBundle())).toEqual([]);
    expect(() => expectValidBundle(goodBundle())).not.toThrow();
  });

  test('every checker is wired in', () => {
    const bundle = goodBundle();
    bundle[0].data['frps.toml'] = `bindAddress = "0.0.0.0"\n${bundle[0].data['frps.toml']}`;
    bundle[2].spec.template.spec.containers[0].image = 'fatedier/frps:latest';
    bundle[4].spec.ports[0].port = '7000';
    bundle[6].spec.isCa = true;
    bundle.push({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 'leak', namespace: 'frp' }, data: { k: 'dg==' } });
    bundle.push({ apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' } });
    expect(checkBundle(bundle)).toEqual([
      'ConfigMap/frps-config: data["frps.toml"]: bindAddress: unknown key "bindAddress" for a frps config',
      'Deployment/frps: spec.template.spec.containers[0].image: image "fatedier/frps:latest" uses the mutable "latest" tag: pin a version or a digest (project rule)',
      'Service/frps: spec.ports[0].port: expected integer, got string "7000"',
      'Certificate/frps-server: spec.isCa: unknown field (did you mean "isCA"?)',
      'Widget/w: (root): no schema for example.com/v1/Widget (no built-in type, no CRD in crds/ or in the bundle)',
      'Secret/leak: data: Secret carries literal values (k); create Secrets outside the bundle and reference them by name',
      'ConfigMap/frp/frps-config frps.toml: frps verify: json: unknown field "bindAddress"',
    ]);
  });

  test('env vars used by frp templates must be defined on a container that mounts the config', () => {
    const bundle = goodBundle();
    bundle[3].spec.template.spec.containers[0].env.splice(1, 1); // drop FRP_GROUP_KEY
    expect(checkBundle(bundle)).toEqual([
      'ConfigMap/frpc-config: data["llm.frpc.toml"]: uses {{ .Envs.FRP_GROUP_KEY }} but no container of Deployment/frpc that mounts this ConfigMap (frpc) defines env FRP_GROUP_KEY; frp would render "<no value>"',
    ]);
  });

  test('names, labels, selectors, duplicates', () => {
    const bundle = goodBundle();
    bundle[4].metadata.name = '1frps';
    bundle[2].metadata.labels['app.kubernetes.io/version'] = 'v'.repeat(64);
    bundle[3].spec.selector.matchLabels['app.kubernetes.io/name'] = 'frpc';
    bundle[0].metadata.name = `frps-config-${'x'.repeat(60)}`;
    bundle.push(goodCertificate());
    expect(checkBundle(bundle)).toEqual([
      `ConfigMap/${bundle[0].metadata.name}: metadata.name: "${bundle[0].metadata.name}" is 72 characters; labelled objects are kept to 63 (DESIGN §5)`,
      `Deployment/frps: metadata.labels["app.kubernetes.io/version"]: label value "${'v'.repeat(64)}" must be at most 63 characters of [A-Za-z0-9-_.], alphanumeric at both ends`,
      'Deployment/frpc: spec.selector.matchLabels["app.kubernetes.io/name"]: selector app.kubernetes.io/name=frpc does not match the pod template labels',
      'Service/1frps: metadata.name: "1frps" must be a DNS-1035 label (a-z first, a-z0-9- , at most 63 characters)',
      'Certificate/frps-server: metadata.name: duplicate object (same as manifest [6])',
    ]);
  });

  test('expectValidBundle throws one readable error', () => {
    const bundle = goodBundle();
    bundle[2].spec.replicas = 'two';
    bundle[2].spec.template.spec.containers[0].resources = {};
    expect(() => expectValidBundle(bundle)).toThrow(
      'bundle of 10 objects has 5 problem(s):\n'
      + '  - Deployment/frps: spec.replicas: expected integer, got string "two"\n'
      + '  - Deployment/frps: spec.template.spec.containers[0].resources.requests: missing cpu requests (project rule)\n',
    );
  });

  test('a bundle of 200 objects checks clean (no problem from scale)', () => {
    checkBundle(goodBundle()); // warm the schema caches
    const bundle: any[] = [];
    for (let i = 0; i < 20; i++) {
      for (const obj of goodBundle()) {
        if (obj.kind === 'CustomResourceDefinition' && i > 0) continue;
        obj.metadata.name = `${obj.metadata.name}-${i}`.replace(/^distributedservices\.frp\.io-\d+$/, 'distributedservices.frp.io');
        bundle.push(obj);
      }
    }
    const problems = checkBundle(bundle);
    // Renaming breaks the ConfigMap references, so only those problems are expected.
    expect(problems.filter((p) => !p.includes('<no value>'))).toEqual([]);
    expect(bundle.length).toBeGreaterThanOrEqual(180);
  });
});

// ---------------------------------------------------------------------------
// Real cdk8s-plus output, synth helpers
// ---------------------------------------------------------------------------

function compliantPlusChart(): Chart {
  const chart = Testing.chart();
  new kplus.Deployment(chart, 'web', {
    replicas: 2,
    securityContext: { ensureNonRoot: true, user: 65532, group: 65532 },
    containers: [{
      name: 'web',
      image: 'nginxinc/nginx-unprivileged:1.25.3',
      portNumber: 8080,
      securityContext: {
        ensureNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
        privileged: false,
        capabilities: { drop: [kplus.Capability.ALL] },
        seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
      },
      resources: {
        cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(500) },
        memory: { request: Size.mebibytes(64), limit: Size.mebibytes(128) },
      },
      readiness: kplus.Probe.fromTcpSocket({ port: 8080 }),
      liveness: kplus.Probe.fromHttpGet('/healthz', { port: 8080 }),
    }],
  });
  return chart;
}

describe('real cdk8s-plus output', () => {
  test('a compliant kplus.Deployment passes every check', () => {
    const manifests = Testing.synth(compliantPlusChart());
    expect(manifests.map((m) => m.kind)).toEqual(['Deployment']);
    expectValidBundle(manifests);
  });

  test('kplus defaults are not compliant, and the checker says why', () => {
    const chart = Testing.chart();
    new kplus.Deployment(chart, 'web', { containers: [{ image: 'nginx', portNumber: 8080 }] });
    const problems = checkBundle(Testing.synth(chart));
    expect(problems).toEqual(expect.arrayContaining([
      expect.stringMatching(/^Deployment\/test-web-[0-9a-f]+: spec\.template\.spec\.containers\[0\]\.securityContext\.capabilities\.drop: must contain ALL/),
      expect.stringMatching(/containers\[0\]\.securityContext\.seccompProfile\.type: set RuntimeDefault/),
      expect.stringMatching(/containers\[0\]\.image: image "nginx" is not pinned/),
      expect.stringMatching(/containers\[0\]\.readinessProbe: missing readinessProbe/),
    ]));
  });

  test('synthYaml and expectDeterministic', () => {
    const yaml = expectDeterministic(compliantPlusChart);
    expect(yaml).toContain('kind: Deployment');
    expect(synthYaml(compliantPlusChart())).toBe(yaml);

    let counter = 0;
    const flaky = () => {
      const chart = Testing.chart();
      new ApiObject(chart, 'cm', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { n: String(counter++) } });
      return chart;
    };
    expect(() => expectDeterministic(flaky)).toThrow(/synthesis is not deterministic: the two builds first differ at YAML line \d+/);
    const shared = Testing.chart();
    expect(() => expectDeterministic(() => shared)).toThrow('create a fresh one per call');
  });
});
