// Where each piece of a tenant's PKI lives: Kamaji's Secret names (`<tenant>-<suffix>`) and kubeadm's file names
// as keys, so tooling written for Kamaji finds the same objects in kvcloud.

export interface CertificateSecretLayout {
  /** Appended to the tenant name: `<tenant>-<suffix>`. */
  readonly suffix: string;
  readonly certKey: string;
  readonly keyKey: string;
}

export const CA_SECRET: CertificateSecretLayout = { suffix: 'ca', certKey: 'ca.crt', keyKey: 'ca.key' };
export const API_SERVER_SECRET: CertificateSecretLayout = { suffix: 'api-server-certificate', certKey: 'apiserver.crt', keyKey: 'apiserver.key' };
export const API_SERVER_KUBELET_CLIENT_SECRET: CertificateSecretLayout = {
  suffix: 'api-server-kubelet-client-certificate',
  certKey: 'apiserver-kubelet-client.crt',
  keyKey: 'apiserver-kubelet-client.key',
};
export const FRONT_PROXY_CA_SECRET: CertificateSecretLayout = {
  suffix: 'front-proxy-ca-certificate',
  certKey: 'front-proxy-ca.crt',
  keyKey: 'front-proxy-ca.key',
};
export const FRONT_PROXY_CLIENT_SECRET: CertificateSecretLayout = {
  suffix: 'front-proxy-client-certificate',
  certKey: 'front-proxy-client.crt',
  keyKey: 'front-proxy-client.key',
};
/** The datastore client certificate; `ca.crt` in it is the DataStore's CA, which the apiserver trusts for etcd. */
export const DATASTORE_SECRET: CertificateSecretLayout = { suffix: 'datastore-certificate', certKey: 'server.crt', keyKey: 'server.key' };
export const DATASTORE_CA_KEY = 'ca.crt';
export const KONNECTIVITY_SECRET: CertificateSecretLayout = { suffix: 'konnectivity-certificate', certKey: 'tls.crt', keyKey: 'tls.key' };

/** The service-account signing key pair: sa.key (private, PKCS#8) and sa.pub (public, PKIX). */
export const SERVICE_ACCOUNT_SECRET = { suffix: 'sa-certificate', publicKey: 'sa.pub', privateKey: 'sa.key' } as const;

export function secretName(tenant: string, layout: { readonly suffix: string }): string {
  return `${tenant}-${layout.suffix}`;
}

/**
 * On a leaf certificate or kubeconfig Secret: the value of the TenantControlPlane's rotate annotation the Secret
 * was last issued under, so one annotation value rotates each Secret exactly once (crash or no crash).
 */
export const ROTATED_FOR_ANNOTATION = 'kvcloud.io/rotated-for';

/**
 * Keys of `<tenant>-ca` beyond kubeadm's two while a CA rotation runs (see ca-rotation.ts). `ca.crt` is then the
 * trust bundle, signing CA first, so whoever pairs it with `ca.key` still gets a matching pair.
 */
export const CA_ROTATION_KEYS = {
  /** The new CA's key while it is only trusted, not yet signing. */
  nextKey: 'ca-next.key',
  /** The signing CA alone: kube-controller-manager's --cluster-signing-cert-file accepts exactly one certificate. */
  signerCert: 'ca-signer.crt',
  /** Each CA cross-signed by its predecessor, newest first: a client that still trusts an older CA verifies through them. */
  bridges: 'ca-bridges.crt',
} as const;

/** On `<tenant>-ca`: the rotate-ca request value a rotation was started for (one rotation per value). */
export const CA_ROTATION_REQUEST_ANNOTATION = 'kvcloud.io/ca-rotation-request';
/** On `<tenant>-ca`: when the new CA started signing, for the minimum soak before the old one is retired. */
export const CA_ROTATION_SWITCHED_ANNOTATION = 'kvcloud.io/ca-rotation-switched-at';
/** On `<tenant>-ca`: the Nodes seen with a kubelet client certificate from the new CA, comma separated. */
export const CA_ROTATION_NODES_ANNOTATION = 'kvcloud.io/ca-rotation-nodes';
