export { DistributedServiceBundle } from './distributed-service-bundle';
export type { BundleOptions, DistributedServiceBundleProps } from './distributed-service-bundle';
