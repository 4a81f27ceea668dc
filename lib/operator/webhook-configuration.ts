import { WEBHOOK_PATHS } from './admission';

/**
 * The operator's webhook configurations, as data: FrpOperator renders them
 * (pointing at the operator's Service, the CA injected by cert-manager's
 * cainjector) and the operator outside the cluster registers them (a URL to
 * itself, its own CA). No client library here: the construct library loads it.
 */

/** Where the operator in a pod reads its serving certificate (tls.crt, tls.key of cert-manager's Secret). @internal */
export const WEBHOOK_CERT_DIR = '/var/run/cdk8s-frp/webhook';

/** Field manager of the registration (contract 2's). @internal */
export const WEBHOOK_FIELD_MANAGER = 'cdk8s-frp-operator';
/** Name of both webhook configurations. @internal */
export const WEBHOOK_CONFIGURATION_NAME = 'cdk8s-frp-operator';
/** The webhooks' names (fully qualified, as the API requires). @internal */
export const WEBHOOK_NAMES = { validate: 'validate.distributedservices.frp.io', mutate: 'default.distributedservices.frp.io' } as const;
/**
 * How long the API server waits for an answer: a render of every served
 * DistributedService (twice at most) takes well under a second for a
 * hundred services; 10 s leaves room on a loaded node, below the API
 * server's own 30 s limit. @internal
 */
export const WEBHOOK_TIMEOUT_SECONDS = 10;

/** Where the API server reaches the webhooks: a URL (outside the cluster) or a Service. @internal */
export type WebhookClientConfig =
  | { readonly url: string; readonly caBundle: string }
  | { readonly service: { readonly namespace: string; readonly name: string; readonly port: number }; readonly caBundle?: string };

/** Options of the webhook configurations. @internal */
export interface WebhookConfigurationOptions {
  /** Namespaces whose DistributedServices go through the webhooks; empty: every namespace. */
  readonly namespaces: readonly string[];
  /** Annotations of both configurations (cert-manager's cainjector's). */
  readonly annotations?: Record<string, string>;
  /** Labels of both configurations. */
  readonly labels?: Record<string, string>;
  /** Name of both configurations. @default WEBHOOK_CONFIGURATION_NAME */
  readonly name?: string;
}

/**
 * The ValidatingWebhookConfiguration and MutatingWebhookConfiguration of the
 * operator (see README "Admission webhooks" for the choices): CREATE and
 * UPDATE of frp.io/v1beta1 distributedservices (not their status or scale),
 * failurePolicy Fail, sideEffects None, admissionReviewVersions v1, the
 * namespaces the operator serves. @internal
 */
export function webhookConfigurations(client: WebhookClientConfig, options: WebhookConfigurationOptions): any[] {
  const clientConfig = (path: string) => {
    const caBundle = client.caBundle ? { caBundle: Buffer.from(client.caBundle).toString('base64') } : {};
    return 'url' in client
      ? { url: `${client.url.replace(/\/$/, '')}${path}`, ...caBundle }
      : { service: { ...client.service, path }, ...caBundle };
  };
  const common = {
    rules: [{ apiGroups: ['frp.io'], apiVersions: ['v1beta1'], operations: ['CREATE', 'UPDATE'], resources: ['distributedservices'], scope: 'Namespaced' }],
    failurePolicy: 'Fail',
    matchPolicy: 'Equivalent',
    sideEffects: 'None',
    timeoutSeconds: WEBHOOK_TIMEOUT_SECONDS,
    admissionReviewVersions: ['v1'],
    namespaceSelector: options.namespaces.length === 0 ? {}
      : { matchExpressions: [{ key: 'kubernetes.io/metadata.name', operator: 'In', values: [...options.namespaces].sort() }] },
    objectSelector: {},
  };
  const metadata = {
    name: options.name ?? WEBHOOK_CONFIGURATION_NAME,
    ...(options.labels ? { labels: options.labels } : {}),
    ...(options.annotations ? { annotations: options.annotations } : {}),
  };
  return [
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata,
      webhooks: [{ name: WEBHOOK_NAMES.mutate, clientConfig: clientConfig(WEBHOOK_PATHS.mutate), ...common, reinvocationPolicy: 'IfNeeded' }],
    },
    {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'ValidatingWebhookConfiguration',
      metadata,
      webhooks: [{ name: WEBHOOK_NAMES.validate, clientConfig: clientConfig(WEBHOOK_PATHS.validate), ...common }],
    },
  ];
}

