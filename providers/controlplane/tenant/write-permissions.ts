// Kamaji's spec.writePermissions inside the tenant cluster: a ValidatingAdmissionPolicy and its binding that make
// the tenant apiserver itself refuse the blocked writes, so no webhook server has to be reachable from the tenant.
// Kamaji freezes a tenant by namespace (everything outside kube-system and kube-node-lease); kvcloud exempts by
// identity instead, so the tenant stays healthy while its users are frozen. Exempt, and why:
// - kubernetes-super-admin (super-admin.conf): the identity the operator reconciles the tenant phases with. The
//   admin.conf identity (kubeadm:cluster-admins), the one handed to users and Cluster API, stays blocked.
// - system:apiserver, system:kube-controller-manager, system:kube-scheduler: the tenant's own control plane (its
//   identity leases, the kubernetes Service endpoints, leader election, pod bindings, service account tokens).
// - system:serviceaccounts:kube-system: kube-controller-manager runs its controllers under kube-system service
//   accounts (--use-service-account-credentials), and the addons the operator installs (CoreDNS, kube-proxy, the
//   konnectivity agent) run there too: replicas, garbage collection, node lifecycle and addons keep working.
// - system:nodes: kubelets keep heartbeating (Node status, Leases in kube-node-lease), report pod status and
//   request pod tokens; the Node authorizer and NodeRestriction already confine them to their own objects.
// - Leases (coordination.k8s.io) for everybody: a lease is a lock being renewed, not workload state; refusing
//   renewals would only make every leader-elected controller of the tenant lose leadership (Kamaji's #407).
// - Token and access reviews (authentication.k8s.io, authorization.k8s.io): "creating" one writes nothing, and
//   refusing them would break `kubectl auth can-i` and the delegated authentication of aggregated APIs.
// Subresources are matched as well (scale, eviction, approval, status), so `kubectl scale` or `drain` are writes
// like any other. Admission policies never apply to admission policies and bindings themselves, so a cluster-admin
// of the tenant can still remove these two objects: this freezes normal work, it is no defence against an admin.
import type { Manifest } from './manifest.js';

export const WRITE_PERMISSIONS_POLICY = 'kvcloud-write-permissions';

export const WRITE_PERMISSIONS_EXEMPT_USERS = ['kubernetes-super-admin', 'system:apiserver', 'system:kube-controller-manager', 'system:kube-scheduler'];
export const WRITE_PERMISSIONS_EXEMPT_GROUPS = ['system:nodes', 'system:serviceaccounts:kube-system'];

export interface WritePermissions {
  blockCreation?: boolean | undefined;
  blockUpdate?: boolean | undefined;
  blockDeletion?: boolean | undefined;
}

type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

const FLAGS: { field: keyof WritePermissions; operation: Operation; verb: string }[] = [
  { field: 'blockCreation', operation: 'CREATE', verb: 'creating' },
  { field: 'blockUpdate', operation: 'UPDATE', verb: 'updating' },
  { field: 'blockDeletion', operation: 'DELETE', verb: 'deleting' },
];

/** The admission operations the TenantControlPlane blocks, in a fixed order; empty when writes are allowed. */
export function blockedOperations(perms: WritePermissions | undefined): Operation[] {
  return FLAGS.filter((f) => perms?.[f.field] === true).map((f) => f.operation);
}

const celList = (items: string[]): string => `[${items.map((i) => `'${i}'`).join(', ')}]`;

/**
 * The policy and binding for `tcp` (namespace/name, quoted in the refusal). With nothing blocked they are still
 * returned, named, so the phase that owns them can delete them.
 */
export function writePermissionsObjects(tcp: { namespace: string; name: string }, perms: WritePermissions | undefined, migrating = false): Manifest[] {
  // A DataStore migration blocks every write whatever spec.writePermissions says: a write accepted by the source
  // after its keys were copied would be lost when the apiserver switches to the target.
  const blocked = FLAGS.filter((f) => migrating || perms?.[f.field] === true);
  const reason = (f: (typeof FLAGS)[number]): string =>
    migrating
      ? `this tenant cluster is read-only while TenantControlPlane ${tcp.namespace}/${tcp.name} migrates to another DataStore: ` +
        `${f.verb} objects is refused until the migration completes`
      : `this tenant cluster is write-limited: ${f.verb} objects is blocked by spec.writePermissions.${f.field} ` +
        `of TenantControlPlane ${tcp.namespace}/${tcp.name}`;
  // '*/*' is every resource with every subresource, and admission refuses it beside any other entry.
  const everything = { apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'] };
  const policy: Manifest = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name: WRITE_PERMISSIONS_POLICY },
    spec: {
      failurePolicy: 'Fail',
      matchConstraints: {
        resourceRules: [{ ...everything, operations: blocked.map((f) => f.operation), scope: '*' }],
        excludeResourceRules: [
          { apiGroups: ['coordination.k8s.io'], apiVersions: ['*'], resources: ['leases'], operations: ['*'], scope: '*' },
          { apiGroups: ['authentication.k8s.io', 'authorization.k8s.io'], apiVersions: ['*'], resources: ['*/*'], operations: ['*'], scope: '*' },
        ],
      },
      matchConditions: [
        { name: 'not-an-exempt-user', expression: `!(request.userInfo.username in ${celList(WRITE_PERMISSIONS_EXEMPT_USERS)})` },
        {
          name: 'not-in-an-exempt-group',
          expression: `!(has(request.userInfo.groups) && request.userInfo.groups.exists(g, g in ${celList(WRITE_PERMISSIONS_EXEMPT_GROUPS)}))`,
        },
      ],
      validations: blocked.map((f) => ({
        expression: `request.operation != '${f.operation}'`,
        message: reason(f),
        reason: 'Forbidden',
      })),
    },
  };
  const binding: Manifest = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: WRITE_PERMISSIONS_POLICY },
    spec: { policyName: WRITE_PERMISSIONS_POLICY, validationActions: ['Deny'] },
  };
  return [policy, binding];
}
