// The certificates of a tenant control plane, each as kubeadm issues it (subject, usage, signer) and stored where
// Kamaji stores it. One table drives both issuing and checking, so the two never disagree.
import type { CertificateSecretLayout } from './secrets.js';
import {
  API_SERVER_KUBELET_CLIENT_SECRET,
  API_SERVER_SECRET,
  DATASTORE_SECRET,
  FRONT_PROXY_CLIENT_SECRET,
  KONNECTIVITY_SECRET,
} from './secrets.js';

/** Which CA signs a leaf: the cluster CA, the front-proxy CA, or the DataStore's CA (etcd client auth). */
export type Signer = 'cluster-ca' | 'front-proxy-ca' | 'datastore-ca';

export interface LeafProfile {
  readonly layout: CertificateSecretLayout;
  readonly commonName: string;
  readonly organizations: readonly string[];
  readonly usage: 'server' | 'client';
  readonly signer: Signer;
}

export const API_SERVER: LeafProfile = { layout: API_SERVER_SECRET, commonName: 'kube-apiserver', organizations: [], usage: 'server', signer: 'cluster-ca' };

/** kubeadm (v1.29+) puts the kubelet client in kubeadm:cluster-admins, which a ClusterRoleBinding makes cluster-admin. */
export const API_SERVER_KUBELET_CLIENT: LeafProfile = {
  layout: API_SERVER_KUBELET_CLIENT_SECRET,
  commonName: 'kube-apiserver-kubelet-client',
  organizations: ['kubeadm:cluster-admins'],
  usage: 'client',
  signer: 'cluster-ca',
};

/** The name kube-apiserver's --requestheader-allowed-names must list. */
export const FRONT_PROXY_CLIENT: LeafProfile = {
  layout: FRONT_PROXY_CLIENT_SECRET,
  commonName: 'front-proxy-client',
  organizations: [],
  usage: 'client',
  signer: 'front-proxy-ca',
};

/** konnectivity-server's identity towards kube-apiserver (Kamaji's CN; RBAC binds it to system:auth-delegator). */
export const KONNECTIVITY: LeafProfile = {
  layout: KONNECTIVITY_SECRET,
  commonName: 'system:konnectivity-server',
  organizations: [],
  usage: 'client',
  signer: 'cluster-ca',
};

/** The apiserver's etcd client certificate: its CN is the tenant's etcd user, whose role confines it to its prefix. */
export function dataStoreClient(etcdUser: string): LeafProfile {
  return { layout: DATASTORE_SECRET, commonName: etcdUser, organizations: [], usage: 'client', signer: 'datastore-ca' };
}

export const CLUSTER_CA_COMMON_NAME = 'kubernetes';
export const FRONT_PROXY_CA_COMMON_NAME = 'front-proxy-ca';
