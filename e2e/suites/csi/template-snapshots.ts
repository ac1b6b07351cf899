// Snapshots as a tenant of kvcloud's default template gets them, called by template-driver.ts once a pod wrote to the
// tenant's PVC: the <cluster>-snapshot-controller Deployment runs beside the CSI controller, the controller applied the
// VolumeSnapshot CRDs and the default VolumeSnapshotClass "kubevirt" into the tenant, and a VolumeSnapshot that names no
// class becomes ready (snapshot-controller, the template's csi-snapshotter, CreateSnapshot, an infra VolumeSnapshot in
// the Cluster's namespace); a PVC restored from it holds what the pod wrote.
import { expect } from 'chai';
import { stringify } from 'yaml';
import type { DataVolume } from '../../../lib/apis/cdi.js';
import { DEFAULT_SNAPSHOT_CLASS_ANNOTATION, type VolumeSnapshot, type VolumeSnapshotContent } from '../../../lib/apis/snapshot.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { waitFor } from '../../../localcloud/wait.js';
import { getJSON } from '../../harness/clusterctl/kvcloud-workload.js';

const DRIVER = 'csi.kubevirt.io';
const SNAPSHOT_CLASS = 'kubevirt';

interface PodView extends KubeObject {
  spec: { containers: { name: string; image: string }[]; automountServiceAccountToken?: boolean };
  status?: { containerStatuses?: { name: string; ready: boolean }[] };
}

export interface TemplateSnapshotContext {
  mgmt: string;
  tenant: string;
  /** The Cluster's namespace, where its infra volumes and snapshots live. */
  namespace: string;
  clusterName: string;
  /** A claim of the default class the pod wrote `written` to, as /data/proof; no pod uses it any more. */
  claim: string;
  written: string;
  /** Runs `script` in a pod on a worker with `claim` at /data until it succeeds; returns its output. */
  runPod: (name: string, claim: string, script: string) => Promise<string>;
  timed: <T>(what: string, step: () => Promise<T>) => Promise<T>;
  /** The controllers' last log lines, for a step that fails. */
  logs: () => Promise<string>;
}

export async function expectTemplateSnapshots(ctx: TemplateSnapshotContext): Promise<void> {
  const { mgmt, tenant } = ctx;
  const pod = await ctx.timed('snapshot-controller pod ready', () =>
    waitFor(
      async () => {
        const p = (await getJSON<{ items: PodView[] }>(mgmt, ['pods', '-n', ctx.namespace, '-l', `cluster.x-k8s.io/cluster-name=${ctx.clusterName},app.kubernetes.io/name=snapshot-controller`])).items[0];
        if (p?.status?.containerStatuses?.every((s) => s.ready)) return p;
        throw new Error(`snapshot-controller pod: ${JSON.stringify(p?.status ?? 'none')}`);
      },
      { timeoutMs: 2 * 60_000, intervalMs: 1000, what: `the ${ctx.clusterName}-snapshot-controller pod ready` },
    ),
  );
  // snapshot-controller reaches the tenant as its own ServiceAccount; the driver image beside it keeps that kubeconfig.
  expect(pod.spec.containers.map((c) => [c.name, c.image])).to.deep.equal([
    ['snapshot-controller', 'registry.k8s.io/sig-storage/snapshot-controller:v8.7.0'],
    ['tenant-credentials', 'ghcr.io/kvcloud/csi-driver:dev'],
  ]);
  expect(pod.spec.automountServiceAccountToken, 'no infra credentials in the snapshot-controller pod').to.equal(false);

  // The CRDs and the default class, applied by the CSI controller (its field manager), the class once the CRDs served it.
  const snapshotClass = await ctx.timed('VolumeSnapshot CRDs and default VolumeSnapshotClass in the tenant', () =>
    waitFor(
      async () => {
        try {
          return await getJSON<KubeObject & { driver: string; deletionPolicy: string }>(tenant, ['volumesnapshotclass', SNAPSHOT_CLASS]);
        } catch (err) {
          throw new Error(`VolumeSnapshotClass ${SNAPSHOT_CLASS}: ${(err as Error).message}\n${await ctx.logs()}`, { cause: err });
        }
      },
      { timeoutMs: 2 * 60_000, intervalMs: 1000, what: `VolumeSnapshotClass ${SNAPSHOT_CLASS} in the tenant` },
    ),
  );
  expect([snapshotClass.driver, snapshotClass.deletionPolicy]).to.deep.equal([DRIVER, 'Delete']);
  expect(snapshotClass.metadata.annotations).to.include({ [DEFAULT_SNAPSHOT_CLASS_ANNOTATION]: 'true' });
  const crd = await getJSON<{ metadata: { managedFields?: { manager: string }[] } }>(tenant, ['crd', 'volumesnapshots.snapshot.storage.k8s.io', '--show-managed-fields']);
  expect(crd.metadata.managedFields?.map((f) => f.manager), 'the CRDs applied by the controller').to.include('kvcloud-csi');

  // A snapshot that names no class gets the default one.
  const snapshot = { apiVersion: 'snapshot.storage.k8s.io/v1', kind: 'VolumeSnapshot', metadata: { name: `${ctx.claim}-snap`, namespace: 'default' }, spec: { source: { persistentVolumeClaimName: ctx.claim } } };
  await kubectl(tenant, ['apply', '-f', '-'], stringify(snapshot));
  const vs = await ctx.timed('VolumeSnapshot of the default class ready (snapshot-controller, csi-snapshotter, infra snapshot)', () =>
    waitFor(
      async () => {
        const v = await getJSON<VolumeSnapshot>(tenant, ['volumesnapshot', snapshot.metadata.name]);
        if (v.status?.readyToUse === true && v.status.boundVolumeSnapshotContentName) return v;
        throw new Error(`VolumeSnapshot ${snapshot.metadata.name}: ${JSON.stringify(v.spec)} ${JSON.stringify(v.status ?? {})}\n${await ctx.logs()}`);
      },
      { timeoutMs: 2 * 60_000, intervalMs: 500, what: `VolumeSnapshot ${snapshot.metadata.name} ready to use` },
    ),
  );
  expect(vs.spec.volumeSnapshotClassName).to.equal(SNAPSHOT_CLASS);
  const content = await getJSON<VolumeSnapshotContent>(tenant, ['volumesnapshotcontent', vs.status?.boundVolumeSnapshotContentName ?? '']);
  const infraName = content.status?.snapshotHandle ?? '';
  const infra = await getJSON<VolumeSnapshot>(mgmt, ['volumesnapshot', '-n', ctx.namespace, infraName]);
  expect(infra.metadata.labels, 'the infra snapshot is the tenant\'s').to.deep.equal({ 'csi-driver/cluster': ctx.clusterName });
  expect(infra.status?.readyToUse).to.equal(true);

  // Restored into a new claim of the default class, which holds what the pod wrote.
  const restored = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: `${ctx.claim}-restored`, namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } }, dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: snapshot.metadata.name } } };
  await kubectl(tenant, ['apply', '-f', '-'], stringify(restored));
  const handle = await ctx.timed('PVC restored from the snapshot bound', () =>
    waitFor(
      async () => {
        const c = await getJSON<KubeObject & { spec: { volumeName?: string }; status?: { phase?: string } }>(tenant, ['pvc', restored.metadata.name]);
        if (c.status?.phase !== 'Bound' || !c.spec.volumeName) throw new Error(`pvc ${restored.metadata.name} ${c.status?.phase ?? '?'}\n${await ctx.logs()}`);
        return (await getJSON<{ spec: { csi?: { volumeHandle: string } } }>(tenant, ['pv', c.spec.volumeName])).spec.csi?.volumeHandle ?? '';
      },
      { timeoutMs: 2 * 60_000, intervalMs: 500, what: `pvc ${restored.metadata.name} bound` },
    ),
  );
  const dv = await getJSON<DataVolume>(mgmt, ['datavolumes.cdi.kubevirt.io', '-n', ctx.namespace, handle]);
  expect(dv.spec?.source).to.deep.equal({ snapshot: { namespace: ctx.namespace, name: infraName } });
  const read = await ctx.timed('restored PVC read by a pod (attach, stage, publish)', () => ctx.runPod('reader', restored.metadata.name, 'cat /data/proof'));
  expect(read.trim()).to.equal(ctx.written);

  // The restored claim and the snapshot go, and with them their DataVolume and the infra snapshot.
  await kubectl(tenant, ['delete', 'pod', 'reader', '--wait=true', '--timeout=90s']);
  await kubectl(tenant, ['delete', 'pvc', restored.metadata.name, '--wait=true', '--timeout=90s']);
  await kubectl(tenant, ['delete', 'volumesnapshot', snapshot.metadata.name, '--wait=true', '--timeout=90s']);
  await ctx.timed('restored DataVolume and infra snapshot gone', () =>
    waitFor(
      async () => {
        const left = (await kubectl(mgmt, ['get', `datavolumes.cdi.kubevirt.io/${handle}`, `volumesnapshots.snapshot.storage.k8s.io/${infraName}`, '-n', ctx.namespace, '--ignore-not-found', '-o', 'name'])).trim();
        if (left === '') return true;
        throw new Error(`left in ${ctx.namespace}: ${left}\n${await ctx.logs()}`);
      },
      { timeoutMs: 2 * 60_000, intervalMs: 1000, what: 'the restored volume and the infra snapshot gone' },
    ),
  );
}
