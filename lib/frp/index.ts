export * from './bandwidth';
export * from './common';
export * from './proxy';
export * from './client-config';
export * from './server-config';
export * from './renderer';
