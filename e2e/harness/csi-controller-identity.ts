// The CSI controller's infra identity for the suites and the bench that run the controller as a process: a
// ServiceAccount in the infra namespace whose Role grants what the RPCs use there (as the controller Deployment's),
// and the one cluster-scoped read --topology adds, as a kubeconfig with its token.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { kubectl } from '../../localcloud/kubectl.js';

/** The infra namespace of the tenant's VMs and DataVolumes. */
export const INFRA_NS = 'default';

/**
 * The controller's infra identity: a ServiceAccount whose Role grants what the RPCs use in the infra namespace
 * (as the controller Deployment runs), as a kubeconfig with its token.
 */
export async function controllerInfraKubeconfig(mgmt: string, dir: string): Promise<string> {
  const name = 'csi-controller';
  await kubectl(mgmt, ['apply', '-f', '-'], [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: INFRA_NS } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace: INFRA_NS },
      rules: [
        { apiGroups: ['cdi.kubevirt.io'], resources: ['datavolumes'], verbs: ['get', 'list', 'create', 'delete'] },
        { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'patch'] },
        { apiGroups: [''], resources: ['resourcequotas'], verbs: ['list'] },
        { apiGroups: ['kubevirt.io'], resources: ['virtualmachines', 'virtualmachineinstances'], verbs: ['get', 'list'] },
        { apiGroups: ['subresources.kubevirt.io'], resources: ['virtualmachines/addvolume', 'virtualmachines/removevolume', 'virtualmachineinstances/addvolume', 'virtualmachineinstances/removevolume'], verbs: ['update'] },
        { apiGroups: ['snapshot.storage.k8s.io'], resources: ['volumesnapshots'], verbs: ['get', 'list', 'create', 'delete'] },
      ],
    },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace: INFRA_NS }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'ServiceAccount', name, namespace: INFRA_NS }] },
    // --topology reads the infra StorageClasses' allowedTopologies: the one cluster-scoped read (csi/README.md).
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name }, rules: [{ apiGroups: ['storage.k8s.io'], resources: ['storageclasses'], verbs: ['get', 'list'] }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name }, subjects: [{ kind: 'ServiceAccount', name, namespace: INFRA_NS }] },
  ].map((o) => stringify(o)).join('---\n'));
  const token = (await kubectl(mgmt, ['create', 'token', name, '-n', INFRA_NS, '--duration=3600s'])).trim();
  const admin = parse(readFileSync(mgmt, 'utf8')) as { clusters: unknown[]; contexts: { context: { cluster: string } }[] };
  const path = join(dir, 'csi-controller.kubeconfig');
  const cluster = admin.contexts[0]?.context.cluster ?? '';
  writeFileSync(path, stringify({ apiVersion: 'v1', kind: 'Config', clusters: admin.clusters, users: [{ name, user: { token } }], contexts: [{ name, context: { cluster, user: name, namespace: INFRA_NS } }], 'current-context': name }), { mode: 0o600 });
  return path;
}
