// Kubeconfigs of a tenant control plane: Secret layouts, identities, builders and the check that decides a reissue.
export * from './builders.js';
export * from './plan.js';
export * from './secrets.js';
