// The API group and version kvcloud serves for Kamaji-compatible kinds: users' Kamaji manifests apply unchanged.
export const GROUP = 'kamaji.clastix.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const TENANT_CONTROL_PLANE_KIND = 'TenantControlPlane';
export const TENANT_CONTROL_PLANE_PLURAL = 'tenantcontrolplanes';
export const DATASTORE_KIND = 'DataStore';
export const DATASTORE_PLURAL = 'datastores';
