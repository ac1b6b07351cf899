// The infrastructure provider's API: schemas, static types, constants and CRDs of infrastructure.cluster.x-k8s.io/v1alpha1.
export * from './group.js';
export * from './labels.js';
export * from './failure-domains.js';
export * from './virtualmachine-spec.js';
export * from './kubevirtcluster.js';
export * from './kubevirtmachine.js';
export * from './kubevirtmachinetemplate.js';
export * from './kubevirtclustertemplate.js';
export { infrastructureCRDs } from './crds.js';
