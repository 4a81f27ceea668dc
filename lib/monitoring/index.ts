export * from './metrics-target';
export * from './service-monitor';
export * from './alerts';
export * from './dashboard';
export * from './frp-monitoring';
