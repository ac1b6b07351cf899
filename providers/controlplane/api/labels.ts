// Annotation and label keys of the kamaji.clastix.io API, Kamaji's own spellings so existing tooling keeps working.

/** Set to any value on a TenantControlPlane to stop reconciling it (Kamaji's pause annotation). */
export const PAUSED_ANNOTATION = 'kamaji.clastix.io/paused';

/** Which key of the admin kubeconfig Secret a consumer should read (Kamaji: kamaji.clastix.io/kubeconfig-secret-key). */
export const KUBECONFIG_SECRET_KEY_ANNOTATION = 'kamaji.clastix.io/kubeconfig-secret-key';

/** Labels Kamaji puts on every object it creates for a tenant; kvcloud keeps them for selectors and tooling. */
export const TENANT_NAME_LABEL = 'kamaji.clastix.io/name';
export const COMPONENT_LABEL = 'kamaji.clastix.io/component';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'kvcloud';

/** Checksum of a generated Secret's data, so a changed Secret is noticed and rolls the pods that mount it. */
export const CHECKSUM_ANNOTATION = 'kamaji.clastix.io/checksum';

/** Set on a certificate or kubeconfig Secret to ask for its rotation now (Kamaji's spelling). */
export const ROTATE_ANNOTATION = 'certs.kamaji.clastix.io/rotate';

/**
 * Set on a TenantControlPlane to rotate its cluster CA: a new CA is trusted beside the old one, then signs, and
 * the old one is retired once every node renewed its kubelet certificate from the new one. One rotation per value
 * (use a timestamp); the CARotation condition reports the phase.
 */
export const ROTATE_CA_ANNOTATION = 'kvcloud.io/rotate-ca';

/**
 * Admission cannot look up arbitrary objects, so the operator keeps a registry of DataStore names (key = name,
 * value = driver) in this ConfigMap; the TenantControlPlane ValidatingAdmissionPolicy takes it as its param to
 * refuse a reference to a DataStore that does not exist.
 */
export const DATASTORE_REGISTRY_NAMESPACE = 'kamaji-system'; // the operator's own namespace, as Kamaji's
export const DATASTORE_REGISTRY_NAME = 'kvcloud-datastores';

/**
 * The tenant apiserver's rendered AuthenticationConfiguration / AuthorizationConfiguration, on its pod template. A
 * downwardAPI volume turns each into the file the apiserver reads, so a pod always runs the configuration it was
 * created with, and a change rolls the pods like any other template change.
 */
export const AUTHENTICATION_CONFIG_ANNOTATION = 'kvcloud.io/authentication-configuration';
export const AUTHORIZATION_CONFIG_ANNOTATION = 'kvcloud.io/authorization-configuration';
