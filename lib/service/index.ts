export * from './spec';
export * from './distributed-service';
