// What the tenant phases produce: plain objects applied into the tenant cluster with server-side apply, so the
// operator owns exactly the fields it sends and users' own additions survive.
import type { KubeObject } from '../../../lib/kube/object.js';

export interface Manifest extends KubeObject {
  apiVersion: string;
  kind: string;
  [field: string]: unknown;
}

export const KUBE_SYSTEM = 'kube-system';
export const KUBE_PUBLIC = 'kube-public';

/** The group kubeadm's default bootstrap tokens authenticate into (token Secrets name it in auth-extra-groups). */
export const BOOTSTRAP_TOKEN_GROUP = 'system:bootstrappers:kubeadm:default-node-token';
export const NODES_GROUP = 'system:nodes';

export function clusterRoleBinding(name: string, role: string, subjects: { kind: 'Group' | 'User' | 'ServiceAccount'; name: string; namespace?: string }[]): Manifest {
  return {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: subjects.map((s) => (s.kind === 'ServiceAccount' ? s : { apiGroup: 'rbac.authorization.k8s.io', ...s })),
  };
}

/** A Role allowing `get` on named ConfigMaps of one namespace, bound to the given groups/users. */
export function configMapReader(namespace: string, name: string, configMaps: string[], subjects: { kind: 'Group' | 'User'; name: string }[]): Manifest[] {
  return [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace },
      rules: [{ apiGroups: [''], resources: ['configmaps'], resourceNames: configMaps, verbs: ['get'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: subjects.map((s) => ({ apiGroup: 'rbac.authorization.k8s.io', ...s })),
    },
  ];
}
