import { ApiObject } from 'cdk8s';
import { Construct } from 'constructs';
import { crdSchema, JsonSchema, SPEC_SCHEMA } from '../service/schema';

/** Sync wave of the CRD: before everything that could use it. */
export const CRD_SYNC_WAVE = -10;

/**
 * The seed's validation webhook rules as CEL, on `spec` (they run after
 * defaulting, so defaulted fields are present). @internal
 */
export const SPEC_RULES: { rule: string; message: string }[] = [
  {
    rule: "self.serviceType != 'http' || (has(self.expose) && (has(self.expose.domain) || has(self.expose.path) || has(self.expose.subdomain) || self.expose.type == 'port'))",
    message: 'HTTP service must have domain or path',
  },
  {
    rule: 'has(self.backends.discovery) != has(self.backends.endpoints)',
    message: 'Cannot use both discovery and manual endpoints (set exactly one)',
  },
  {
    rule: "!has(self.security) || !has(self.security.mtls) || !(self.security.mtls.enabled && self.security.mtls.mode == 'manual') || has(self.security.mtls.caSecret)",
    message: 'Manual mTLS requires caSecret',
  },
  {
    rule: "!has(self.expose) || self.expose.type != 'port' || has(self.expose.port)",
    message: 'expose.type port requires expose.port',
  },
];

const STATUS_SCHEMA: JsonSchema = {
  type: 'object',
  properties: {
    state: { type: 'string', enum: ['Pending', 'Provisioning', 'Running', 'Updating', 'Degraded', 'Failed', 'Terminating'] },
    conditions: {
      type: 'array',
      items: {
        type: 'object',
        required: ['type', 'status'],
        properties: {
          type: { type: 'string', enum: ['Ready', 'BackendsAvailable', 'ConfigurationValid', 'CertificatesReady', 'NetworkReady'] },
          status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
          lastTransitionTime: { type: 'string', format: 'date-time' },
          reason: { type: 'string' },
          message: { type: 'string' },
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
 * (kubectl get ds) next to the bundles `cdk8s-frp render` makes from them.
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
          shortNames: ['ds', 'dsvc'],
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
  }
}
