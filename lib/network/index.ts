export * from './network-peer';
export * from './traffic-policy';
