// Brings a TenantControlPlane back when someone inside its tenant changes or deletes the write-permissions
// ValidatingAdmissionPolicy or its binding. Admission policies do not apply to themselves, so a tenant
// cluster-admin can remove them; the reconciler then finds the phase no longer intact and applies it again.
import type { RemoteCluster } from '../../../lib/controller/remote-cluster.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { WRITE_PERMISSIONS_POLICY } from '../tenant/write-permissions.js';

const WATCHED = [
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy' },
  { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicyBinding' },
];

export class WritePermissionsWatch {
  /** Connections already feeding the queue; a rebuilt connection (rotated kubeconfig) is a new object, watched anew. */
  private readonly watched = new WeakSet<RemoteCluster>();

  constructor(private readonly enqueue: (key: string) => void) {}

  /** Feeds changes to the policy and binding in `tenant` into the queue as `key` (namespace/name of the TenantControlPlane). */
  async ensure(tenant: RemoteCluster, key: string): Promise<void> {
    if (this.watched.has(tenant)) return;
    this.watched.add(tenant);
    const push = (obj: KubeObject): void => {
      if (obj.metadata.name === WRITE_PERMISSIONS_POLICY) this.enqueue(key);
    };
    try {
      for (const type of WATCHED) {
        const informer = await tenant.cache.informerFor(type);
        informer.addEventHandler({
          // The initial list is no change: the pass registering this watch looks at the objects itself.
          onAdd: (obj, initial) => {
            if (!initial) push(obj);
          },
          // A periodic resync (old === obj) or our own identical apply changes no resourceVersion.
          onUpdate: (old, obj) => {
            if (old.metadata.resourceVersion !== obj.metadata.resourceVersion) push(obj);
          },
          onDelete: push,
        });
      }
    } catch (err) {
      this.watched.delete(tenant);
      throw new Error(`watch the write-permissions policy in the tenant: ${(err as Error).message}`, { cause: err });
    }
  }
}
