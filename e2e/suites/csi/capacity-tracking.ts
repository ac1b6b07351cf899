// Storage capacity tracking for a tenant, turned on as csi/README.md tells a platform team to (called from
// pvc.e2e.ts, whose external-provisioner runs with --enable-capacity): a storage quota in the tenant's infra namespace,
// storageCapacity on the tenant's CSIDriver, and the provisioner's CSIStorageCapacity objects in the tenant, one per
// zone of a WaitForFirstConsumer class, from GetCapacity; the tenant's scheduler then keeps a pod whose claim does not
// fit the budget Pending, and places one whose claim does.
import { expect } from 'chai';
import { stringify } from 'yaml';
import { quantityBytes } from '../../../csi/controller/datavolume.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { waitFor } from '../../../localcloud/wait.js';
import { EXPANDABLE_STORAGE_CLASS } from '../../../simulators/kubevirt/storage-class.js';

const MiB = 1024 * 1024;
const CLASS = 'kubevirt-budget';
const QUOTA = 'tenant-storage';
const QUOTA_KEY = `${EXPANDABLE_STORAGE_CLASS}.storageclass.storage.k8s.io/requests.storage`;
/** Where the tenant's provisioner writes its CSIStorageCapacity objects (its NAMESPACE). */
export const CAPACITY_NAMESPACE = 'kubevirt-csi-driver';

/** What the provisioner needs in the tenant for it: upstream's storage capacity rules, in its namespace only. */
export function capacityRbac(serviceAccount: string): object[] {
  const name = 'kubevirt-csi-capacity';
  return [
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: CAPACITY_NAMESPACE }, rules: [{ apiGroups: ['storage.k8s.io'], resources: ['csistoragecapacities'], verbs: ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'] }] },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', metadata: { name, namespace: CAPACITY_NAMESPACE }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects: [{ kind: 'ServiceAccount', name: serviceAccount, namespace: CAPACITY_NAMESPACE }] },
  ];
}

interface StorageCapacity extends KubeObject {
  storageClassName: string;
  capacity?: string;
  nodeTopology?: { matchLabels?: Record<string, string> };
}
interface Quota extends KubeObject {
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}
interface PodStatus extends KubeObject {
  status?: { phase?: string; conditions?: { type: string; status: string; message?: string }[] };
}

export interface CapacityContext {
  admin: string;
  mgmt: string;
  infraNamespace: string;
  driver: string;
  node: string;
  zoneKey: string;
  apply: (objects: object[]) => Promise<string>;
  getJSON: <T>(kubeconfig: string, args: string[]) => Promise<T>;
  pod: (name: string, node: string, script: string, volume: { claim: string; mountPath: string }) => object;
  completed: (name: string) => Promise<string>;
  timed: <T>(what: string, work: () => Promise<T>) => Promise<T>;
  logs: () => string;
  handles: string[];
}

export async function tracksCapacityOfTheTenantBudget(c: CapacityContext): Promise<void> {
  await kubectl(c.admin, ['patch', 'csidriver', c.driver, '--type=merge', '-p', JSON.stringify({ spec: { storageCapacity: true } })]);
  await kubectl(c.mgmt, ['apply', '-f', '-'], stringify({ apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: QUOTA, namespace: c.infraNamespace }, spec: { hard: { [QUOTA_KEY]: '4Gi' } } }));
  await c.apply([{ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: CLASS }, provisioner: c.driver, volumeBindingMode: 'WaitForFirstConsumer', parameters: { infraStorageClassName: EXPANDABLE_STORAGE_CLASS } }]);
  try {
    /** The budget left, as the quota controller last computed it. */
    const left = async () => {
      const q = await c.getJSON<Quota>(c.mgmt, ['resourcequota', QUOTA, '-n', c.infraNamespace]);
      const [hard, used] = [quantityBytes(q.status?.hard?.[QUOTA_KEY]), quantityBytes(q.status?.used?.[QUOTA_KEY])];
      if (hard === undefined || used === undefined) throw new Error(`quota ${QUOTA} not computed yet: ${JSON.stringify(q.status)}`);
      return hard - used;
    };
    const zoneOfNode = (await c.getJSON<KubeObject>(c.admin, ['node', c.node])).metadata.labels?.[c.zoneKey] ?? '';
    /** Waits until the class's CSIStorageCapacity in the node's zone reports what the quota leaves. */
    const published = (what: string) =>
      c.timed(what, () =>
        waitFor(
          async () => {
            const want = await left();
            const all = (await c.getJSON<{ items: StorageCapacity[] }>(c.admin, ['csistoragecapacities', '-n', CAPACITY_NAMESPACE])).items.filter((o) => o.storageClassName === CLASS);
            const zoned = all.find((o) => o.nodeTopology?.matchLabels?.[c.zoneKey] === zoneOfNode);
            if (zoned && quantityBytes(zoned.capacity) === want) return { want, objects: all.length };
            throw new Error(`CSIStorageCapacity of ${CLASS}: ${JSON.stringify(all.map((o) => [o.nodeTopology?.matchLabels, o.capacity]))}, want ${String(want)} in ${zoneOfNode}\n${c.logs()}`);
          },
          { timeoutMs: 90_000, intervalMs: 1000, what },
        ),
      );
    const before = await published('CSIStorageCapacity from GetCapacity and the quota');
    // One object per zone of the tenant's Nodes (the CSINodes' topology key), each with the budget: it is not zonal.
    expect(before.objects).to.equal(2);

    // A claim bigger than the budget: the scheduler finds no node with enough storage and leaves the pod Pending.
    const claim = (name: string, bytes: number) => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name, namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: CLASS, resources: { requests: { storage: String(bytes) } } } });
    await c.apply([claim('budget-too-big', before.want + 64 * MiB), c.pod('budget-too-big', c.node, 'true', { claim: 'budget-too-big', mountPath: '/data' })]);
    const refusal = await c.timed('pod of a claim over the budget unschedulable', () =>
      waitFor(
        async () => {
          const p = await c.getJSON<PodStatus>(c.admin, ['pod', 'budget-too-big']);
          const scheduled = p.status?.conditions?.find((cond) => cond.type === 'PodScheduled');
          if (scheduled?.status === 'False' && (scheduled.message ?? '').includes('enough free storage')) return scheduled.message ?? '';
          throw new Error(`pod budget-too-big: ${JSON.stringify(p.status)}`);
        },
        { timeoutMs: 60_000, what: 'pod budget-too-big unschedulable for storage' },
      ),
    );
    expect(refusal).to.match(/did not have enough free storage/);
    const pending = await c.getJSON<KubeObject & { status?: { phase?: string } }>(c.admin, ['pvc', 'budget-too-big']);
    expect(pending.status?.phase).to.equal('Pending');

    // A claim within it: placed, provisioned and mounted; the published capacity follows the quota down.
    await c.apply([claim('budget-fits', 64 * MiB), c.pod('budget-fits', c.node, 'echo fits > /data/x && cat /data/x', { claim: 'budget-fits', mountPath: '/data' })]);
    expect((await c.completed('budget-fits')).trim()).to.equal('fits');
    const pv = await c.getJSON<KubeObject & { spec: { volumeName?: string } }>(c.admin, ['pvc', 'budget-fits']);
    const handle = (await c.getJSON<KubeObject & { spec: { csi?: { volumeHandle: string } } }>(c.admin, ['pv', pv.spec.volumeName ?? ''])).spec.csi?.volumeHandle ?? '';
    c.handles.push(handle);
    const after = await published('CSIStorageCapacity less the provisioned volume');
    expect(before.want - after.want).to.equal(64 * MiB);
  } finally {
    await kubectl(c.admin, ['delete', 'pod', 'budget-too-big', 'budget-fits', '--ignore-not-found', '--wait=true', '--timeout=90s']);
    await kubectl(c.admin, ['delete', 'pvc', 'budget-too-big', '--ignore-not-found', '--wait=true', '--timeout=90s']);
    await kubectl(c.admin, ['delete', 'storageclass', CLASS, '--ignore-not-found']);
    await kubectl(c.mgmt, ['delete', 'resourcequota', QUOTA, '-n', c.infraNamespace, '--ignore-not-found']);
    await kubectl(c.admin, ['patch', 'csidriver', c.driver, '--type=merge', '-p', JSON.stringify({ spec: { storageCapacity: false } })]);
  }
}
