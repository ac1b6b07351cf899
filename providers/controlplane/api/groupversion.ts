// The API group and version kvcloud serves for Kamaji-compatible kinds: users' Kamaji manifests apply unchanged.
export const GROUP = 'kamaji.clastix.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const TENANT_CONTROL_PLANE_KIND = 'TenantControlPlane';
export const TENANT_CONTROL_PLANE_PLURAL = 'tenantcontrolplanes';
export const DATASTORE_KIND = 'DataStore';
export const DATASTORE_PLURAL = 'datastores';

/** The newest Kubernetes minor kvcloud can run for a tenant (the harness and release images carry v1.37). */
export const MAX_KUBERNETES_MINOR = 37;
