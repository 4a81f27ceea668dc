/**
 * Strict checkers for synthesized cdk8s-frp output. Most tests need only
 * `expectValidBundle(Testing.synth(chart))` and `expectDeterministic(() => build())`.
 */
export * from './k8s-schema';
export * from './crd-schema';
export * from './frp-keys';
export * from './pod-security';
export * from './secrets';
export * from './bundle';
export * from './wiring';
export * from './frp-verify';
export * from './stderr';
