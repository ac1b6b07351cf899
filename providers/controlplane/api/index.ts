// The kamaji.clastix.io/v1alpha1 API of the control plane provider: schemas, static types, keys and derived values.
export * from './groupversion.js';
export * from './kubernetes-versions.js';
export * from './labels.js';
export * from './core-types.js';
export * from './datastore.js';
export * from './tenantcontrolplane-spec.js';
export * from './tenantcontrolplane-status.js';
export * from './tenantcontrolplane.js';
export { controlPlaneCRDs, dataStoreCRD, tenantControlPlaneCRD } from './crds.js';
