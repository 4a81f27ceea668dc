export * from './distributed-service-crd';
