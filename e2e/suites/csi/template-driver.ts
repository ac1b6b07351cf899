// The CSI driver a Cluster of kvcloud's default template gets with nothing more to do, proven on a tenant made by
// `clusterctl generate cluster` (clusterctl-kamaji.e2e.ts calls this on its default-flavor tenant): the
// <cluster>-csi-controller Deployment runs beside the hosted control plane with the real sidecars, applies the tenant
// side (CSIDriver, default StorageClass "kubevirt", node DaemonSet) itself, and a PVC of the default class binds to a
// DataVolume in the Cluster's namespace, labelled for the tenant; a snapshot of it restores with the data
// (template-snapshots.ts). The node plugin that stages and publishes them is the tenant's DaemonSet pod on the worker,
// registered with the guest kubelet by the DaemonSet's registrar container.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { stringify } from 'yaml';
import type { DataVolume } from '../../../lib/apis/cdi.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import type { Cluster } from '../../../localcloud/cluster/cluster.js';
import { TEST_SHELL_IMAGE } from '../../../localcloud/cluster/images.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { waitFor } from '../../../localcloud/wait.js';
import { getJSON, tenantKubeconfig, type WorkloadPlace } from '../../harness/clusterctl/kvcloud-workload.js';
import { expectTemplateSnapshots } from './template-snapshots.js';
import { completedPodLog } from '../../harness/pod-completion.js';

const DRIVER = 'csi.kubevirt.io';

interface PodContainer {
  name: string;
  image: string;
  args?: string[];
  volumeMounts?: { name: string; mountPath: string }[];
}
interface PodView extends KubeObject {
  spec: { containers: PodContainer[]; initContainers?: PodContainer[]; nodeName?: string };
  status?: { phase?: string; containerStatuses?: { name: string; ready: boolean; restartCount: number; state?: Record<string, { reason?: string; message?: string }> }[] };
}

/** Proves the template's CSI driver on `place` (a default-flavor tenant with Ready workers); returns step timings. */
export async function expectTemplateCsiDriver(place: WorkloadPlace, cluster: Cluster): Promise<string[]> {
  const timings: string[] = [];
  const timed = async <T>(what: string, step: () => Promise<T>): Promise<T> => {
    const begun = Date.now();
    const value = await step();
    timings.push(`${what}: ${((Date.now() - begun) / 1000).toFixed(1)} s`);
    return value;
  };
  const mgmt = place.kubeconfig;
  const deployment = `${place.clusterName}-csi-controller`;
  const snapshotController = `${place.clusterName}-snapshot-controller`;
  const controllerPods = () => getJSON<{ items: PodView[] }>(mgmt, ['pods', '-n', place.namespace, '-l', `cluster.x-k8s.io/cluster-name=${place.clusterName},app=kubevirt-csi-driver`]);
  // From the pod runner's log files: the host cannot reach the simulated nodes' kubelets by name for `kubectl logs`.
  const controllerLog = async () => {
    const logs = join(cluster.dir, 'logs');
    const out: string[] = [];
    for (const pod of (await readdir(logs).catch(() => [])).filter((d) => [deployment, snapshotController].some((name) => d.startsWith(`${place.namespace}_${name}-`)))) {
      for (const container of ['sidecar-credentials', 'csi-driver', 'csi-provisioner', 'csi-attacher', 'csi-snapshotter', 'snapshot-controller', 'tenant-credentials-setup', 'tenant-credentials']) {
        const runs = (await readdir(join(logs, pod, container)).catch(() => [])).sort();
        const last = runs.at(-1);
        if (last) out.push(`--- ${pod}/${container}/${last} (${String(runs.length)} runs)`, ...(await readFile(join(logs, pod, container, last), 'utf8').catch(() => '')).trim().split('\n').slice(-12));
      }
    }
    return out.join('\n');
  };

  // The controller and the sidecars that provision and attach run, from the template's images.
  const pod = await timed('CSI controller pod running (driver, provisioner, attacher ready)', () =>
    waitFor(
      async () => {
        const p = (await controllerPods()).items[0];
        const ready = new Set((p?.status?.containerStatuses ?? []).filter((s) => s.ready).map((s) => s.name));
        if (p && ['csi-driver', 'csi-provisioner', 'csi-attacher'].every((c) => ready.has(c))) return p;
        throw new Error(`controller pod: ${JSON.stringify(p?.status?.containerStatuses ?? p?.status ?? 'none')}`);
      },
      { timeoutMs: 3 * 60_000, intervalMs: 1000, what: `the ${deployment} pod's driver and sidecars ready` },
    ),
  );
  expect(pod.spec.containers.map((c) => [c.name, c.image])).to.deep.equal([
    ['csi-driver', 'ghcr.io/kvcloud/csi-driver:dev'],
    ['csi-provisioner', 'registry.k8s.io/sig-storage/csi-provisioner:v6.4.0'],
    ['csi-attacher', 'registry.k8s.io/sig-storage/csi-attacher:v4.13.0'],
    ['csi-resizer', 'registry.k8s.io/sig-storage/csi-resizer:v2.3.0'],
    ['csi-snapshotter', 'registry.k8s.io/sig-storage/csi-snapshotter:v8.7.0'],
  ]);
  // Only the driver (and its init container, which wrote the sidecars' kubeconfig before they started) holds the
  // tenant's admin kubeconfig; the sidecars reach the tenant as their ServiceAccount, so the PVC below binds,
  // attaches and snapshots with that RBAC alone.
  expect(pod.spec.initContainers?.map((c) => [c.name, c.image])).to.deep.equal([['sidecar-credentials', 'ghcr.io/kvcloud/csi-driver:dev']]);
  expect(pod.spec.containers.map((c) => [c.name, (c.volumeMounts ?? []).map((m) => m.name).includes('tenantcluster'), c.args?.find((a) => a.startsWith('--kubeconfig=')) ?? null])).to.deep.equal([
    ['csi-driver', true, null],
    ...['csi-provisioner', 'csi-attacher', 'csi-resizer', 'csi-snapshotter'].map((name) => [name, false, '--kubeconfig=/var/run/secrets/csi-sidecars/kubeconfig']),
  ]);

  const kc = await tenantKubeconfig(place);
  const tenant = kc.path;
  /** The node plugin pods' state, for failure messages. */
  const pluginPods = async () => (await kubectl(tenant, ['get', 'pods', '-n', 'kubevirt-csi-driver', '-l', 'app=kubevirt-csi-driver', '-o', 'wide'])).trim();
  try {
    // The controller applied the tenant side itself.
    await timed('tenant objects applied by the controller', () =>
      waitFor(
        async () => {
          const got = await kubectl(tenant, ['get', `csidriver/${DRIVER}`, 'storageclass/kubevirt', 'daemonset/kubevirt-csi-node', '-n', 'kubevirt-csi-driver', '-o', 'name', '--ignore-not-found']);
          if (got.trim().split('\n').length === 3) return true;
          throw new Error(`in the tenant: ${JSON.stringify(got)}\n${await controllerLog()}`);
        },
        { timeoutMs: 2 * 60_000, intervalMs: 1000, what: 'CSIDriver, StorageClass and node DaemonSet in the tenant' },
      ),
    );
    const storageClass = await getJSON<KubeObject & { provisioner: string }>(tenant, ['storageclass', 'kubevirt']);
    expect(storageClass.provisioner).to.equal(DRIVER);
    expect(storageClass.metadata.annotations).to.include({ 'storageclass.kubernetes.io/is-default-class': 'true' });
    const csiDriver = await getJSON<{ metadata: { managedFields?: { manager: string }[] } }>(tenant, ['csidriver', DRIVER, '--show-managed-fields']);
    expect(csiDriver.metadata.managedFields?.map((f) => f.manager), 'applied by the controller').to.include('kvcloud-csi');

    // A claim that names no class gets the default one, and the controller makes its DataVolume in the Cluster's namespace.
    const claim = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'data', namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } } };
    await kubectl(tenant, ['apply', '-f', '-'], stringify(claim));
    const handle = await timed('PVC of the default class bound (CreateVolume through the template\'s provisioner)', () =>
      waitFor(
        async () => {
          const c = await getJSON<KubeObject & { spec: { volumeName?: string; storageClassName?: string }; status?: { phase?: string } }>(tenant, ['pvc', 'data']);
          if (c.status?.phase !== 'Bound' || !c.spec.volumeName) throw new Error(`pvc ${c.status?.phase ?? '?'}\n${await controllerLog()}`);
          expect(c.spec.storageClassName).to.equal('kubevirt');
          return (await getJSON<{ spec: { csi?: { volumeHandle: string } } }>(tenant, ['pv', c.spec.volumeName])).spec.csi?.volumeHandle ?? '';
        },
        { timeoutMs: 2 * 60_000, intervalMs: 1000, what: 'pvc data bound' },
      ),
    );
    const dv = await getJSON<DataVolume>(mgmt, ['datavolumes.cdi.kubevirt.io', '-n', place.namespace, handle]);
    expect(dv.metadata.labels).to.deep.equal({ 'csi-driver/cluster': place.clusterName });

    // A pod on a worker writes to it: attached by the template's attacher (hot-plug), staged and published in the guest.
    const nodes = await getJSON<{ items: KubeObject[] }>(tenant, ['nodes']);
    const node = nodes.items[0]?.metadata.name ?? '';
    await timed("node plugin (the DaemonSet's pod) registered on the worker", () =>
      waitFor(
        async () => {
          const drivers = (await getJSON<{ spec: { drivers: { name: string }[] | null } }>(tenant, ['csinode', node])).spec.drivers ?? [];
          if (drivers.some((d) => d.name === DRIVER)) return true;
          throw new Error(`CSINode ${node}: ${JSON.stringify(drivers)}\n${await pluginPods()}`);
        },
        { timeoutMs: 3 * 60_000, intervalMs: 1000, what: `${DRIVER} in CSINode ${node}` },
      ),
    );
    /** A pod on the worker running `script` with `claim` at /data, waited until it succeeded; its output. */
    const runPod = async (name: string, claimName: string, script: string): Promise<string> => {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default' }, spec: { restartPolicy: 'Never', nodeName: node, containers: [{ name: 'main', image: TEST_SHELL_IMAGE, command: ['/bin/sh', '-c', script], volumeMounts: [{ name: 'data', mountPath: '/data' }] }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName } }] } };
      await kubectl(tenant, ['apply', '-f', '-'], stringify(pod));
      return completedPodLog(tenant, name, { timeoutMs: 3 * 60_000, intervalMs: 1000, diagnostics: async () => `${await controllerLog()}\n${await pluginPods()}` });
    };
    const written = await timed('pod using the PVC completed (attach, stage, publish)', () => runPod('writer', 'data', 'echo kvcloud-template > /data/proof && sync && cat /data/proof'));
    expect(written.trim()).to.equal('kvcloud-template');
    // Unmounted before the snapshot, so what the pod wrote is on the disk (a storage snapshot is crash-consistent).
    await kubectl(tenant, ['delete', 'pod', 'writer', '--wait=true', '--timeout=90s']);

    await expectTemplateSnapshots({ mgmt, tenant, namespace: place.namespace, clusterName: place.clusterName, claim: 'data', written: 'kvcloud-template', runPod, timed, logs: controllerLog });

    // Deleting the claim detaches the disk and deletes the DataVolume.
    await kubectl(tenant, ['delete', 'pvc', 'data', '--wait=true', '--timeout=90s']);
    await timed('VolumeAttachment and DataVolume gone after the claim', () =>
      waitFor(
        async () => {
          const vas = (await getJSON<{ items: unknown[] }>(tenant, ['volumeattachments'])).items.length;
          const dvs = (await kubectl(mgmt, ['get', 'datavolumes.cdi.kubevirt.io', '-n', place.namespace, handle, '--ignore-not-found', '-o', 'name'])).trim();
          if (vas === 0 && dvs === '') return true;
          throw new Error(`volumeattachments=${String(vas)} datavolume=${dvs}\n${await controllerLog()}`);
        },
        { timeoutMs: 2 * 60_000, intervalMs: 1000, what: 'the volume gone' },
      ),
    );
  } finally {
    await kc.remove();
  }
  return timings;
}
