/** An admission.k8s.io/v1 AdmissionReview of `object` as the API server sends it (a CREATE unless `extra` says otherwise), uid u-1. */
export const admissionReview = (object: any, extra: any = {}) => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: {
    uid: 'u-1',
    kind: { group: 'frp.io', version: 'v1beta1', kind: 'DistributedService' },
    operation: 'CREATE',
    namespace: object.metadata.namespace,
    name: object.metadata.name,
    object,
    ...extra,
  },
});
