export * from './frp-operator';
export * from './operator-monitoring';
