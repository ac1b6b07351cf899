// The API group and version kvcloud serves for Kamaji-compatible kinds: users' Kamaji manifests apply unchanged.
import type { TypeMeta } from '../../../lib/kube/object.js';

export const GROUP = 'kamaji.clastix.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const TENANT_CONTROL_PLANE_KIND = 'TenantControlPlane';
export const TENANT_CONTROL_PLANE_PLURAL = 'tenantcontrolplanes';
export const DATASTORE_KIND = 'DataStore';
export const DATASTORE_PLURAL = 'datastores';

/** apiVersion + kind of each kind, as the toolkit's Client and ControllerBuilder take them. */
export const TENANT_CONTROL_PLANE_TYPE: TypeMeta = { apiVersion: API_VERSION, kind: TENANT_CONTROL_PLANE_KIND };
export const DATASTORE_TYPE: TypeMeta = { apiVersion: API_VERSION, kind: DATASTORE_KIND };
