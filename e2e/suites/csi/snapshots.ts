// Snapshots, restores and clones of tenant PVCs, called from pvc.e2e.ts on its tenant: the real snapshot-controller
// and csi-snapshotter (external-snapshotter, built from its Go module) with its VolumeSnapshot CRDs in the tenant, a
// VolumeSnapshotClass of csi.kubevirt.io naming the infra snapshot class, and the KubeVirt/CDI simulator's storage
// behind the infra VolumeSnapshots the driver creates. Data written by a pod must come out of the restored and the
// cloned volume, and external-provisioner's volume-mode guard (snapshot-controller records the source mode on the
// content) must refuse a Filesystem snapshot restored as Block until the content carries the annotation.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { DataVolume } from '../../../lib/apis/cdi.js';
import { ALLOW_VOLUME_MODE_CHANGE_ANNOTATION, type VolumeSnapshot, type VolumeSnapshotContent } from '../../../lib/apis/snapshot.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { cacheDir } from '../../../localcloud/binaries.js';
import { kubectl, waitForCRDsEstablished } from '../../../localcloud/kubectl.js';
import type { ManagedProcess } from '../../../localcloud/process.js';
import { waitFor } from '../../../localcloud/wait.js';
import { SIMULATOR_SNAPSHOT_CLASS } from '../../../simulators/kubevirt/volume-snapshot.js';

const DRIVER = 'csi.kubevirt.io';
const SNAPSHOT_CLASS = 'kubevirt';

/** What pvc.e2e.ts lends: its tenant, its helpers, and the list of volume handles it checks at the end. */
export interface SnapshotSuiteContext {
  admin: () => string;
  mgmt: () => string;
  infraNamespace: string;
  infraLabels: string;
  apply: (objects: object[]) => Promise<unknown>;
  getJSON: <T>(kubeconfig: string, args: string[]) => Promise<T>;
  pod: (name: string, node: string, script: string, volume: { claim: string; mountPath?: string; devicePath?: string }) => object;
  completed: (pod: string) => Promise<string>;
  deletePod: (pod: string) => Promise<unknown>;
  boundPV: (claim: string) => Promise<{ spec: { csi?: { volumeHandle: string } } }>;
  logs: () => string;
  timed: <T>(step: string, fn: () => Promise<T>) => Promise<T>;
  handles: string[];
}

interface Claim extends KubeObject {
  status?: { phase?: string };
}
interface Event extends KubeObject {
  reason?: string;
  message?: string;
}

/** The flags that make the volume-mode guard explicit (both sidecars default to it since external-snapshotter v7). */
export const PREVENT_VOLUME_MODE_CONVERSION = '--prevent-volume-mode-conversion=true';

/** The tenant's VolumeSnapshot CRDs, snapshot-controller and csi-snapshotter, and the driver's VolumeSnapshotClass. */
export async function startSnapshotSidecars(opts: { admin: string; sidecars: string; snapshotController: string; socket: string; version: string; start: (name: string, command: string, args: string[]) => Promise<ManagedProcess> }): Promise<void> {
  const dir = join(cacheDir(), 'bin', `csi-snapshotter-${opts.version}`);
  await kubectl(opts.admin, ['apply', '--server-side', '-f', '-'], readFileSync(join(dir, 'crds.yaml'), 'utf8'));
  await waitForCRDsEstablished(opts.admin, ['volumesnapshots.snapshot.storage.k8s.io', 'volumesnapshotcontents.snapshot.storage.k8s.io', 'volumesnapshotclasses.snapshot.storage.k8s.io']);
  // No volume group snapshots (no group controller service, no group CRDs): with them on it waits for their CRDs first.
  await opts.start('snapshot-controller', join(dir, 'snapshot-controller'), [`--kubeconfig=${opts.snapshotController}`, PREVENT_VOLUME_MODE_CONVERSION, '--feature-gates=CSIVolumeGroupSnapshot=false', '--v=3']);
  // As the controller's other sidecars, with their own kubeconfig; no group snapshots, as snapshot-controller.
  await opts.start('csi-snapshotter', join(dir, 'csi-snapshotter'), [`--csi-address=${opts.socket}`, `--kubeconfig=${opts.sidecars}`, '--feature-gates=CSIVolumeGroupSnapshot=false', '--timeout=120s', '--v=3']);
  const snapshotClass = { apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshotClass', metadata: { name: SNAPSHOT_CLASS }, driver: DRIVER, deletionPolicy: 'Delete', parameters: { infraSnapshotClassName: SIMULATOR_SNAPSHOT_CLASS } };
  await kubectl(opts.admin, ['apply', '-f', '-'], JSON.stringify(snapshotClass));
}

export function snapshotTests(ctx: SnapshotSuiteContext) {
  const stamp = `kvcloud-snapshot-${String(Date.now())}`;
  const claim = (name: string, volumeMode: 'Filesystem' | 'Block', dataSource?: { apiGroup?: string; kind: string; name: string }) => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: { accessModes: ['ReadWriteOnce'], volumeMode, storageClassName: 'kubevirt', resources: { requests: { storage: '64Mi' } }, ...(dataSource ? { dataSource } : {}) },
  });
  const fromSnapshot = { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'origin-snap' };
  const bound = async (name: string) => {
    const handle = (await ctx.boundPV(name)).spec.csi?.volumeHandle ?? '';
    ctx.handles.push(handle);
    return handle;
  };
  const readyVolumeSnapshot = (name: string) =>
    waitFor(
      async () => {
        const vs = await ctx.getJSON<VolumeSnapshot>(ctx.admin(), ['volumesnapshot', name]);
        if (vs.status?.readyToUse === true && vs.status.boundVolumeSnapshotContentName) return vs;
        throw new Error(`VolumeSnapshot ${name}: ${JSON.stringify(vs.status ?? {})}\n${ctx.logs()}`);
      },
      { timeoutMs: 90_000, what: `VolumeSnapshot ${name} ready to use` },
    );

  return {
    /** A PVC with data, a VolumeSnapshot of it, a new PVC restored from it with the data, read on the other node. */
    async restoresWithData(): Promise<void> {
      await ctx.apply([claim('origin', 'Filesystem')]);
      await ctx.timed('origin PVC bound', () => bound('origin'));
      await ctx.apply([ctx.pod('origin-writer', 'csi-a', `echo ${stamp} > /data/proof && sync && cat /data/proof`, { claim: 'origin', mountPath: '/data' })]);
      expect((await ctx.timed('origin written on csi-a', () => ctx.completed('origin-writer'))).trim()).to.equal(stamp);
      // Unmounted before the snapshot, so what the pod wrote is on the disk (a storage snapshot is crash-consistent).
      await ctx.deletePod('origin-writer');

      await ctx.apply([{ apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', metadata: { name: 'origin-snap', namespace: 'default' }, spec: { volumeSnapshotClassName: SNAPSHOT_CLASS, source: { persistentVolumeClaimName: 'origin' } } }]);
      const vs = await ctx.timed('VolumeSnapshot ready (snapshot-controller, csi-snapshotter, CreateSnapshot, infra snapshot)', () => readyVolumeSnapshot('origin-snap'));
      const content = await ctx.getJSON<VolumeSnapshotContent>(ctx.admin(), ['volumesnapshotcontent', vs.status?.boundVolumeSnapshotContentName ?? '']);
      expect(content.spec.sourceVolumeMode).to.equal('Filesystem');
      // The snapshot handle is the infra VolumeSnapshot: the tenant's labels, the class the VolumeSnapshotClass names.
      const infra = await ctx.getJSON<VolumeSnapshot>(ctx.mgmt(), ['volumesnapshot', '-n', ctx.infraNamespace, content.status?.snapshotHandle ?? '']);
      expect(infra.metadata.labels).to.deep.equal({ 'csi-driver/tenant': 'acme' });
      expect(infra.spec).to.deep.include({ volumeSnapshotClassName: SIMULATOR_SNAPSHOT_CLASS });
      expect(infra.status?.readyToUse).to.equal(true);
      expect(vs.status?.restoreSize).to.equal('64Mi');

      await ctx.apply([claim('restored', 'Filesystem', fromSnapshot)]);
      const handle = await ctx.timed('restored PVC bound (CreateVolume from the snapshot)', () => bound('restored'));
      const dv = await ctx.getJSON<DataVolume>(ctx.mgmt(), ['datavolumes.cdi.kubevirt.io', '-n', ctx.infraNamespace, handle]);
      expect(dv.spec?.source).to.deep.equal({ snapshot: { namespace: ctx.infraNamespace, name: infra.metadata.name } });
      await ctx.apply([ctx.pod('restored-reader', 'csi-b', 'cat /data/proof', { claim: 'restored', mountPath: '/data' })]);
      expect((await ctx.timed('restored PVC read on csi-b', () => ctx.completed('restored-reader'))).trim()).to.equal(stamp);
      await ctx.deletePod('restored-reader');
    },

    /** external-provisioner refuses Filesystem -> Block at restore until the content is annotated; then the bytes arrive. */
    async guardsVolumeModeChange(): Promise<void> {
      await ctx.apply([claim('raw-restore', 'Block', fromSnapshot)]);
      const refusal = await ctx.timed('Block restore of a Filesystem snapshot refused', () =>
        waitFor(
          async () => {
            const events = await ctx.getJSON<{ items: Event[] }>(ctx.admin(), ['events', '--field-selector', 'involvedObject.name=raw-restore,reason=ProvisioningFailed']);
            const refused = events.items.find((e) => e.message?.includes('modifies the mode of the source volume but does not have permission'));
            if (refused) return refused;
            throw new Error(`events: ${JSON.stringify(events.items.map((e) => e.message))}\n${ctx.logs()}`);
          },
          { timeoutMs: 60_000, what: 'ProvisioningFailed for the volume mode change' },
        ),
      );
      expect(refusal.message).to.include(ALLOW_VOLUME_MODE_CHANGE_ANNOTATION);
      expect((await ctx.getJSON<Claim>(ctx.admin(), ['pvc', 'raw-restore'])).status?.phase).to.equal('Pending');

      const vs = await ctx.getJSON<VolumeSnapshot>(ctx.admin(), ['volumesnapshot', 'origin-snap']);
      await kubectl(ctx.admin(), ['annotate', 'volumesnapshotcontent', vs.status?.boundVolumeSnapshotContentName ?? '', `${ALLOW_VOLUME_MODE_CHANGE_ANNOTATION}=true`]);
      await ctx.timed('Block restore bound once the content allows the change', () => bound('raw-restore'));
      // The Filesystem's bytes, file data included, are on the raw device.
      await ctx.apply([ctx.pod('raw-reader', 'csi-a', `head -c 67108864 /dev/xvdc | grep -a -o ${stamp} | head -n 1`, { claim: 'raw-restore', devicePath: '/dev/xvdc' })]);
      expect((await ctx.timed('raw restore read on csi-a', () => ctx.completed('raw-reader'))).trim()).to.equal(stamp);
      await ctx.deletePod('raw-reader');
    },

    /** A PVC cloned from another (CSI clone through dataSourceRef in the infra) holds its data. */
    async clonesWithData(): Promise<void> {
      await ctx.apply([claim('copy', 'Filesystem', { kind: 'PersistentVolumeClaim', name: 'origin' })]);
      const handle = await ctx.timed('clone PVC bound (CreateVolume from a volume)', () => bound('copy'));
      const origin = (await ctx.boundPV('origin')).spec.csi?.volumeHandle ?? '';
      const dv = await ctx.getJSON<DataVolume>(ctx.mgmt(), ['datavolumes.cdi.kubevirt.io', '-n', ctx.infraNamespace, handle]);
      expect(dv.spec?.storage?.dataSourceRef).to.deep.equal({ kind: 'PersistentVolumeClaim', name: origin });
      await ctx.apply([ctx.pod('copy-reader', 'csi-b', 'cat /data/proof', { claim: 'copy', mountPath: '/data' })]);
      expect((await ctx.timed('clone read on csi-b', () => ctx.completed('copy-reader'))).trim()).to.equal(stamp);
      await ctx.deletePod('copy-reader');
    },

    /** Deleting the VolumeSnapshot deletes its content and the infra snapshot (DeleteSnapshot). */
    async deletesSnapshots(): Promise<void> {
      await kubectl(ctx.admin(), ['delete', 'volumesnapshot', '--all', '--wait=true', '--timeout=90s']);
      await ctx.timed('contents and infra snapshots gone', () =>
        waitFor(
          async () => {
            const contents = (await ctx.getJSON<{ items: VolumeSnapshotContent[] }>(ctx.admin(), ['volumesnapshotcontents'])).items;
            const infra = (await ctx.getJSON<{ items: VolumeSnapshot[] }>(ctx.mgmt(), ['volumesnapshots', '-n', ctx.infraNamespace, '-l', ctx.infraLabels])).items;
            if (contents.length + infra.length === 0) return true;
            throw new Error(`contents=${String(contents.length)} infra snapshots=${String(infra.length)}\n${ctx.logs()}`);
          },
          { timeoutMs: 90_000, what: 'snapshot contents and infra snapshots deleted' },
        ),
      );
    },
  };
}
