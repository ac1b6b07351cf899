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
