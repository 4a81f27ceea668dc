export * from './distributed-service';
