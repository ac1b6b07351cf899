// The tenant PKI: Secret layouts, certificate profiles, pure builders and the checks that decide a reissue.
export * from './check.js';
export * from './issue.js';
export * from './options.js';
export * from './plan.js';
export * from './profiles.js';
export * from './sans.js';
export * from './secrets.js';
export * from './rotation.js';
export * from './ca-rotation.js';
