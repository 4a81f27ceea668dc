export * from './frp';
export * from './frp-auth';
export * from './server/frp-server';
export * from './client/frp-client-pool';
export * from './tls';
export * from './network';
export * from './service';
export * from './crd';
