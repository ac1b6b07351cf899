// What lets a node join with a bootstrap token, as `kubeadm init` sets it up: the token's group may create
// CSRs, its node-client CSRs and nodes' renewals are auto-approved, it may get Nodes (kubeadm join checks for a
// name clash); and kube-public/cluster-info, which anonymous users may read and kube-controller-manager's
// bootstrapsigner signs with each token (jws-kubeconfig-<id>), so a node can trust the CA it is handed.
import { stringify } from 'yaml';
import { BOOTSTRAP_TOKEN_GROUP, clusterRoleBinding, configMapReader, KUBE_PUBLIC, NODES_GROUP, type Manifest } from './manifest.js';

export const CLUSTER_INFO = 'cluster-info';

export function bootstrapRBACObjects(): Manifest[] {
  const tokens = [{ kind: 'Group' as const, name: BOOTSTRAP_TOKEN_GROUP }];
  return [
    clusterRoleBinding('kubeadm:kubelet-bootstrap', 'system:node-bootstrapper', tokens),
    clusterRoleBinding('kubeadm:node-autoapprove-bootstrap', 'system:certificates.k8s.io:certificatesigningrequests:nodeclient', tokens),
    clusterRoleBinding('kubeadm:node-autoapprove-certificate-rotation', 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', [
      { kind: 'Group', name: NODES_GROUP },
    ]),
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'kubeadm:get-nodes' },
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get'] }],
    },
    clusterRoleBinding('kubeadm:get-nodes', 'kubeadm:get-nodes', tokens),
    // kubeadm >= 1.29 gives admin.conf this group instead of system:masters; the binding makes it cluster-admin.
    clusterRoleBinding('kubeadm:cluster-admins', 'cluster-admin', [{ kind: 'Group', name: 'kubeadm:cluster-admins' }]),
    ...nodePodRoutesRBAC(),
  ];
}

/**
 * kvcloud's worker VMs route their pods to each other host-gw style, each VM one route per other Node's podCIDR
 * via its address, so each must watch every Node, which the Node authorizer lets a node do only for its own. The
 * grant a host-gw CNI's DaemonSet gets for its ServiceAccount, given here to the nodes themselves: the route sync
 * runs in the VM as the node.
 */
export function nodePodRoutesRBAC(): Manifest[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'kvcloud:node-pod-routes' },
      rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch'] }],
    },
    clusterRoleBinding('kvcloud:node-pod-routes', 'kvcloud:node-pod-routes', [{ kind: 'Group', name: NODES_GROUP }]),
  ];
}

/** A kubeconfig with only the cluster (server and CA), what cluster-info publishes. */
export function clusterInfoKubeconfig(server: string, caCertPem: string): string {
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: '', cluster: { server, 'certificate-authority-data': Buffer.from(caCertPem).toString('base64') } }],
    contexts: [],
    users: [],
    preferences: {},
    'current-context': '',
  });
}

export function clusterInfoObjects(server: string, caCertPem: string): Manifest[] {
  return [
    {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: CLUSTER_INFO, namespace: KUBE_PUBLIC },
      data: { kubeconfig: clusterInfoKubeconfig(server, caCertPem) },
    },
    ...configMapReader(KUBE_PUBLIC, 'kubeadm:bootstrap-signer-clusterinfo', [CLUSTER_INFO], [{ kind: 'User', name: 'system:anonymous' }]),
  ];
}
