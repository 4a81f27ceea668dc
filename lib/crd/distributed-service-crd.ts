import { ApiObject, Chart, JsonPatch } from 'cdk8s';
import { Construct } from 'constructs';
import { crdSchema, JsonSchema, SPEC_SCHEMA } from '../service/schema';

/** Sync wave of the CRD: before everything that could use it. */
export const CRD_SYNC_WAVE = -10;

/** An optional field of `spec` in CEL: present on every level of `path`. */
const present = (path: string) => path.split('.').map((_, i, all) => `has(self.${all.slice(0, i + 1).join('.')})`).join(' && ');
const absent = (path: string) => `!(${present(path)})`;

/** A duration field matches its pattern (else the pattern reports it, and CEL's duration() would fail too). */
const isDuration = (path: string) => `self.${path}.matches('^[0-9]+[smh]$')`;

/**
 * expose.type as the library reads it: the CRD has no default for it (the
 * library's depends on serviceType: domain for http, port otherwise; the
 * operator's defaulting webhook writes it), so the rules read it like this.
 */
const EXPOSE_TYPE = "(has(self.expose.type) ? self.expose.type : (self.serviceType == 'http' ? 'domain' : 'port'))";

/** Duration fields of the spec with the most the library takes (lib/service/durations.ts). */
const DURATION_MAXIMA: [path: string, max: string, why: string][] = [
  ['loadBalancing.healthCheck.interval', '60m', 'frp takes at most an hour'],
  ['loadBalancing.healthCheck.timeout', '60m', 'frp takes at most an hour'],
  ['advanced.timeout.dial', '60m', 'frp takes at most an hour'],
  ['advanced.timeout.keepAlive', '24h', 'longer idle or affinity times keep state for a day or more'],
  ['advanced.connectionPool.idleTimeout', '24h', 'longer idle or affinity times keep state for a day or more'],
  ['loadBalancing.sessionAffinity.timeout', '24h', 'longer idle or affinity times keep state for a day or more'],
];

/**
 * One CEL rule of `spec`: `fieldPath` names the field where `cdk8s-frp render`
 * reports the same problem; `reason` makes the API server say "Required value"
 * or "Forbidden" instead of "Invalid value: \"object\"" (the type of `spec`);
 * `messageExpression` says what was given, as the library's message does
 * (`message` stays for a server that cannot evaluate it). Kubernetes 1.28 has
 * all four (messageExpression since 1.27, fieldPath and reason since 1.28).
 */
interface SpecRule {
  readonly rule: string;
  readonly message: string;
  readonly messageExpression?: string;
  readonly fieldPath: string;
  readonly reason?: 'FieldValueRequired' | 'FieldValueForbidden';
}

/**
 * The seed's validation webhook rules as CEL, on `spec` (they run after
 * defaulting, so defaulted fields are present), and the library's own rules
 * that CEL can judge. @internal
 */
export const SPEC_RULES: SpecRule[] = [
  {
    rule: `self.serviceType != 'http' || (has(self.expose) && (has(self.expose.domain) || has(self.expose.path) || has(self.expose.subdomain) || ${EXPOSE_TYPE} == 'port'))`,
    message: 'HTTP service must have domain or path',
    fieldPath: '.expose.domain',
    reason: 'FieldValueRequired',
  },
  {
    rule: '!(has(self.backends.discovery) && has(self.backends.endpoints))',
    message: 'Cannot use both discovery and manual endpoints (set exactly one)',
    fieldPath: '.backends.endpoints',
    reason: 'FieldValueForbidden',
  },
  {
    rule: 'has(self.backends.discovery) || has(self.backends.endpoints)',
    message: 'Set discovery or endpoints',
    fieldPath: '.backends.discovery',
    reason: 'FieldValueRequired',
  },
  {
    rule: `${absent('security.mtls')} || !(self.security.mtls.enabled && self.security.mtls.mode == 'manual') || has(self.security.mtls.caSecret)`,
    message: 'Manual mTLS requires caSecret',
    fieldPath: '.security.mtls.caSecret',
    reason: 'FieldValueRequired',
  },
  {
    rule: `!has(self.expose) || ${EXPOSE_TYPE} != 'port' || has(self.expose.port)`,
    message: 'expose.type port requires expose.port',
    fieldPath: '.expose.port',
    reason: 'FieldValueRequired',
  },
  {
    rule: `${absent('expose.externalTrafficPolicy')} || (${EXPOSE_TYPE} == 'port' && !has(self.expose.gateway) && has(self.expose.serviceType) && self.expose.serviceType != 'ClusterIP')`,
    message: 'externalTrafficPolicy applies to a port exposure whose serviceType is NodePort or LoadBalancer',
    fieldPath: '.expose.externalTrafficPolicy',
    reason: 'FieldValueForbidden',
  },
  {
    rule: `!has(self.expose) || self.serviceType == 'http' || ${EXPOSE_TYPE} == 'port'`,
    message: 'a tcp, udp or grpc service is exposed on a port: set expose.type to port and expose.port (domain, subdomain and path routing is for http)',
    messageExpression: '"a " + self.serviceType + " service is exposed on a port: set expose.type to port and expose.port (domain, subdomain and path routing is for http)"',
    fieldPath: '.expose.type',
  },
  {
    rule: `${absent('expose.type')} || self.expose.type != 'path' || has(self.expose.domain) || has(self.expose.subdomain)`,
    message: 'frp routes http by host: a path exposure also needs expose.domain or expose.subdomain',
    fieldPath: '.expose.domain',
    reason: 'FieldValueRequired',
  },
  {
    rule: `${absent('backends.discovery.mode')} || self.backends.discovery.mode != 'selector' || has(self.backends.discovery.selector)`,
    message: 'mode selector needs matchLabels or matchExpressions',
    fieldPath: '.backends.discovery.selector',
    reason: 'FieldValueRequired',
  },
  {
    rule: '!has(self.backends.discovery) || has(self.backends.discovery.port)',
    message: 'discovery needs the backend port',
    fieldPath: '.backends.discovery.port',
    reason: 'FieldValueRequired',
  },
  {
    rule: `${absent('security.authentication.type')} || self.security.authentication.type == 'none' || has(self.security.authentication.tokenSecret)`,
    message: 'authentication needs tokenSecret',
    messageExpression: '"authentication type " + self.security.authentication.type + " needs tokenSecret (the Secret with the " + '
      + '(self.security.authentication.type == "oauth2" ? "JWT public key" : "accepted keys") + ")"',
    fieldPath: '.security.authentication.tokenSecret',
    reason: 'FieldValueRequired',
  },
  {
    rule: `${absent('security.authentication.type')} || self.security.authentication.type == 'none' || self.serviceType == 'http'`,
    message: 'end-user authentication needs an http service',
    messageExpression: '"end-user " + self.security.authentication.type + " authentication needs an http service, not " + self.serviceType',
    fieldPath: '.security.authentication.type',
    reason: 'FieldValueForbidden',
  },
  {
    rule: `${absent('security.authorization.enabled')} || !self.security.authorization.enabled || (has(self.security.authorization.rules) && size(self.security.authorization.rules) > 0)`,
    message: 'authorization is enabled but has no rules (every request would be refused)',
    fieldPath: '.security.authorization.rules',
    reason: 'FieldValueRequired',
  },
  {
    rule: `${absent('security.authorization.rules')} || !self.security.authorization.rules.exists(r, has(r.roles) && size(r.roles) > 0) || (${present('security.authentication.type')} && self.security.authentication.type == 'oauth2')`,
    message: 'rules with roles need authentication type oauth2 (roles come from the JWT)',
    fieldPath: '.security.authorization.rules',
  },
  {
    rule: `${absent('loadBalancing.healthCheck.timeout')} || !has(self.loadBalancing.healthCheck.interval) || !(${isDuration('loadBalancing.healthCheck.timeout')} && ${isDuration('loadBalancing.healthCheck.interval')}) || duration(self.loadBalancing.healthCheck.timeout) <= duration(self.loadBalancing.healthCheck.interval)`,
    message: 'the health check timeout must not be longer than the interval',
    messageExpression: '"must not be longer than the interval (" + self.loadBalancing.healthCheck.interval + "), got " + self.loadBalancing.healthCheck.timeout',
    fieldPath: '.loadBalancing.healthCheck.timeout',
  },
  ...DURATION_MAXIMA.map(([path, max, why]) => ({
    rule: `${absent(path)} || !${isDuration(path)} || duration(self.${path}) <= duration('${max}')`,
    message: `must be at most ${max} (${why})`,
    messageExpression: `"must be at most ${max} (${why}), got " + self.${path}`,
    fieldPath: `.${path}`,
  })),
];

const STATUS_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    state: { type: 'string', enum: ['Pending', 'Provisioning', 'Running', 'Updating', 'Degraded', 'Failed', 'Terminating'] },
    conditions: {
      'type': 'array',
      // one condition per type (as metav1.Condition lists are kept)
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      'items': {
        type: 'object',
        required: ['type', 'status'],
        properties: {
          // the seed's types, and ConfigurationApplied: the operator applied the bundle of this generation
          type: { type: 'string', enum: ['Ready', 'BackendsAvailable', 'ConfigurationValid', 'ConfigurationApplied', 'CertificatesReady', 'NetworkReady'] },
          status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
          lastTransitionTime: { type: 'string', format: 'date-time' },
          reason: { type: 'string' },
          message: { type: 'string' },
          observedGeneration: { type: 'integer', description: 'The metadata.generation the condition was observed at.' },
        },
      },
    },
    activeBackends: { type: 'integer', description: 'Active backends.' },
    totalBackends: { type: 'integer', description: 'All backends.' },
    endpoints: {
      type: 'array',
      items: {
        type: 'object',
        properties: {
          address: { type: 'string' },
          port: { type: 'integer' },
          healthy: { type: 'boolean' },
          lastCheck: { type: 'string', format: 'date-time' },
        },
      },
    },
    externalEndpoint: { type: 'string' },
    observedGeneration: { type: 'integer' },
    lastUpdateTime: { type: 'string', format: 'date-time' },
    selector: { type: 'string', description: 'Label selector of the backends (for the scale subresource).' },
  },
};

/** Properties of the DistributedService CRD. */
export interface DistributedServiceCrdProps {
  /**
   * Argo CD sync wave of the CRD.
   * @default -10
   */
  readonly syncWave?: number;
}

/**
 * The `frp.io/v1beta1` DistributedService CustomResourceDefinition, with the
 * seed's schema, printer columns and subresources, and its webhook rules as
 * CEL validations. Useful to keep DistributedService manifests in the cluster
 * (`kubectl get dsvc`; `ds` is kubectl's DaemonSet) next to the bundles
 * `cdk8s-frp render` makes from them. The CRD is cluster-scoped: it carries no
 * namespace, whatever the chart's.
 */
export class DistributedServiceCrd extends Construct {
  /** The CRD object. */
  public readonly resource: ApiObject;

  constructor(scope: Construct, id: string, props: DistributedServiceCrdProps = {}) {
    super(scope, id);
    this.resource = new ApiObject(this, 'Resource', {
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: {
        name: 'distributedservices.frp.io',
        annotations: { 'argocd.argoproj.io/sync-wave': String(props.syncWave ?? CRD_SYNC_WAVE) },
        labels: { 'app.kubernetes.io/part-of': 'cdk8s-frp', 'app.kubernetes.io/managed-by': 'cdk8s' },
      },
      spec: {
        group: 'frp.io',
        names: {
          plural: 'distributedservices',
          singular: 'distributedservice',
          kind: 'DistributedService',
          listKind: 'DistributedServiceList',
          shortNames: ['dsvc'],
        },
        scope: 'Namespaced',
        versions: [{
          name: 'v1beta1',
          served: true,
          storage: true,
          additionalPrinterColumns: [
            { name: 'Type', type: 'string', jsonPath: '.spec.serviceType' },
            { name: 'Backends', type: 'integer', jsonPath: '.status.activeBackends' },
            { name: 'State', type: 'string', jsonPath: '.status.state' },
            { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
          ],
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { ...crdSchema(SPEC_SCHEMA), 'x-kubernetes-validations': SPEC_RULES },
                status: STATUS_SCHEMA,
              },
            },
          },
          subresources: {
            status: {},
            scale: {
              specReplicasPath: '.spec.backends.replicas',
              statusReplicasPath: '.status.activeBackends',
              labelSelectorPath: '.status.selector',
            },
          },
        }],
      },
    });
    // cluster-scoped: cdk8s gives every object the chart's namespace
    if (Chart.of(this).namespace !== undefined) this.resource.addJsonPatch(JsonPatch.remove('/metadata/namespace'));
  }
}
