export * from './distributed-service-spec';
