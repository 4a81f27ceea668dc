export * from './certificate-authority';
export * from './certificate-options';
export * from './duration';
export * from './issued-certificate';
export * from './rotation';
export * from './sync-wave';
