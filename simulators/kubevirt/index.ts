// KubeVirt and CDI for the local management cluster: the upstream CRDs, and controllers with upstream semantics
// standing in for virt-controller, virt-handler, virt-api's admission and CDI, so a VirtualMachine runs as a
// virt-launcher pod that the real scheduler places and the pod runner runs. One call starts it all:
//
//   const kubevirt = await startKubevirtSimulator({ kubeconfig: cluster.plane.kubeConfig });
//   ...
//   await kubevirt.stop();
import type { KubeConfig } from '@kubernetes/client-node';
import { DATA_VOLUME_TYPE, type DataVolume } from '../../lib/apis/cdi.js';
import { VOLUME_SNAPSHOT_TYPE, type VolumeSnapshot } from '../../lib/apis/snapshot.js';
import { NODE_TYPE, type Node } from '../../lib/apis/core.js';
import {
  VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE,
  VIRTUAL_MACHINE_INSTANCE_TYPE,
  VIRTUAL_MACHINE_TYPE,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VirtualMachineInstanceMigration,
} from '../../lib/apis/kubevirt.js';
import { join } from 'node:path';
import type { KeyMapper } from '../../lib/controller/controller.js';
import { NAMESPACE_INDEX } from '../../lib/controller/indexers.js';
import { Manager } from '../../lib/controller/manager.js';
import type { ManagerFlags } from '../../lib/controller/manager-flags.js';
import { loadKubeConfig } from '../../lib/kube/kubeconfig.js';
import type { KubeObject } from '../../lib/kube/object.js';
import { createLogger, type Logger } from '../../lib/observability/logger.js';
import { POD } from '../../localcloud/cluster/pod-api.js';
import { runDir } from '../../localcloud/run-dir.js';
import { startAdmissionWebhook, type AdmissionWebhook } from './admission-webhook.js';
import { ClaimResizeReconciler } from './claim-resize.js';
import { installUpstreamCRDs } from './crds.js';
import { DataVolumeReconciler } from './datavolume.js';
import { drainTainted, EvacuationReconciler } from './evacuation.js';
import { Ipv6Pool } from './ipam.js';
import { DEFAULT_LAUNCHER_IMAGE, type LauncherPod } from './launcher-pod.js';
import type { LauncherRuntime } from './launcher-runtime.js';
import { MIGRATION_JOB_NAME_ANNOTATION } from './labels.js';
import { MigrationReconciler } from './migration.js';
import { provisionedByUs, ReleasedVolumeReconciler } from './persistent-volume.js';
import { PERSISTENT_VOLUME, PERSISTENT_VOLUME_CLAIM, type PersistentVolume, type PersistentVolumeClaim } from './storage-api.js';
import { ensureStorageClass } from './storage-class.js';
import { startSubresourceServer, type SubresourceServer } from './subresource-server.js';
import { VirtHandlerReconciler } from './virt-handler.js';
import { VmReconciler } from './vm-controller.js';
import { VmiReconciler } from './vmi-controller.js';
import { populationSourceOf } from './volume-population.js';
import { ensureSnapshotClass, VolumeSnapshotReconciler } from './volume-snapshot.js';

export { DEFAULT_LAUNCHER_IMAGE } from './launcher-pod.js';
export type { LauncherRuntime } from './launcher-runtime.js';

export interface KubevirtSimulatorOptions {
  /** The management cluster: a loaded KubeConfig or a kubeconfig file path. */
  kubeconfig: KubeConfig | string;
  /** Default: warnings and errors on stderr. */
  log?: Logger;
  /** The launcher pods' image; default kvcloud.local/test/virt-launcher:dev (the guest). */
  launcherImage?: string;
  /** Args for the launcher container (its image's entrypoint runs them); none by default. */
  launcherArgs?: string[];
  /** Dual-stack: each VMI's pod-network interface also gets an IPv6 address from this range (/64 to /126). */
  ipv6CIDR?: string;
  /** How long a DataVolume import takes; default 500 ms. */
  importDurationMs?: number;
  /**
   * Reaches into running launcher pods (the local cluster's pod runner): needed for the console, the guest agent
   * and hot-plug. Without it those subresources answer as virt-api does when virt-handler cannot reach the VM.
   */
  runtime?: LauncherRuntime;
  /** Where volumes' backing files live; default kubevirt-volumes in the run directory. */
  volumesDir?: string;
  /**
   * Where the apiserver reaches the subresource API (virt-api); default the apiserver's own host. A loopback
   * apiserver cannot route to an aggregated API (Endpoints refuse loopback): then the subresource API is not served.
   */
  subresourceHost?: string;
}

export interface KubevirtSimulator {
  /** Stops the controllers and removes the admission webhook; the CRDs and objects stay. */
  stop(): Promise<void>;
}

const FLAGS: ManagerFlags = {
  kubeconfig: undefined,
  namespace: undefined,
  leaderElect: false,
  leaderElectionNamespace: undefined,
  leaderElectionId: undefined,
  leaseDurationMs: 15_000,
  renewDeadlineMs: 10_000,
  retryPeriodMs: 2_000,
  metricsBindAddress: '0',
  healthProbeBindAddress: '0',
  concurrency: 4,
  logLevel: 'warn',
};

const keyOf = (namespace: string | undefined, name: string): string => `${namespace ?? ''}/${name}`;

export async function startKubevirtSimulator(opts: KubevirtSimulatorOptions): Promise<KubevirtSimulator> {
  const kubeConfig = typeof opts.kubeconfig === 'string' ? loadKubeConfig(opts.kubeconfig) : opts.kubeconfig;
  const log = opts.log ?? createLogger({ level: 'warn', component: 'kubevirt-simulator' });
  const manager = await Manager.create({ component: 'kubevirt-simulator', flags: FLAGS, kubeConfig, log, gracefulShutdownMs: 5_000 });
  await installUpstreamCRDs(manager.client);
  await ensureStorageClass(manager.client);
  await ensureSnapshotClass(manager.client);

  const launcher = { image: opts.launcherImage ?? DEFAULT_LAUNCHER_IMAGE, args: opts.launcherArgs };
  const vmis = (await manager.cache.informerFor<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE)).store;
  const migrations = (await manager.cache.informerFor<VirtualMachineInstanceMigration>(VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE)).store;
  // A DataVolume or PVC wakes the VMIs of its namespace that mount it by name.
  const vmisMounting: KeyMapper<KubeObject> = (obj) =>
    vmis
      .byIndex(NAMESPACE_INDEX, obj.metadata.namespace ?? '')
      .filter((vmi) => vmi.spec?.volumes?.some((v) => (v.dataVolume?.name ?? v.persistentVolumeClaim?.claimName) === obj.metadata.name))
      .map((vmi) => keyOf(vmi.metadata.namespace, vmi.metadata.name ?? ''));

  manager.controller<VirtualMachine>('virtualmachine').for(VIRTUAL_MACHINE_TYPE).owns(VIRTUAL_MACHINE_INSTANCE_TYPE).owns(DATA_VOLUME_TYPE).complete(new VmReconciler());

  manager
    .controller<VirtualMachineInstance>('virtualmachineinstance')
    .for(VIRTUAL_MACHINE_INSTANCE_TYPE)
    .withoutStatusSubresource()
    .owns(POD)
    .watches<DataVolume>(DATA_VOLUME_TYPE, vmisMounting)
    .watches<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM, vmisMounting)
    .complete(new VmiReconciler({ launcher, ipv6: opts.ipv6CIDR ? new Ipv6Pool(opts.ipv6CIDR) : undefined }));

  manager
    .controller<VirtualMachineInstance>('evacuation')
    .for(VIRTUAL_MACHINE_INSTANCE_TYPE)
    .withoutAutomaticPatch()
    // A node's drain taint wakes the VMIs running there.
    .watches<Node>(
      NODE_TYPE,
      (node) =>
        drainTainted(node)
          ? vmis
              .list()
              .filter((vmi) => vmi.status?.nodeName === node.metadata.name)
              .map((vmi) => keyOf(vmi.metadata.namespace, vmi.metadata.name ?? ''))
          : [],
    )
    .complete(new EvacuationReconciler());

  manager
    .controller<VirtualMachineInstanceMigration>('migration')
    .for(VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE)
    .watches<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, (vmi) =>
      migrations
        .byIndex(NAMESPACE_INDEX, vmi.metadata.namespace ?? '')
        .filter((m) => m.spec?.vmiName === vmi.metadata.name)
        .map((m) => keyOf(m.metadata.namespace, m.metadata.name ?? '')),
    )
    .watches<LauncherPod>(POD, (pod) => {
      const migration = pod.metadata.annotations?.[MIGRATION_JOB_NAME_ANNOTATION];
      return migration ? [keyOf(pod.metadata.namespace, migration)] : [];
    })
    .complete(new MigrationReconciler(launcher));

  const volumesDir = opts.volumesDir ?? join(runDir(), 'kubevirt-volumes');
  const dataVolumes = (await manager.cache.informerFor<DataVolume>(DATA_VOLUME_TYPE)).store;
  // A snapshot becoming ready, or a claim bound, wakes the DataVolumes restored or cloned from it.
  const populatedFrom =
    (kind: 'snapshot' | 'claim'): KeyMapper<KubeObject> =>
    (obj) =>
      dataVolumes
        .byIndex(NAMESPACE_INDEX, obj.metadata.namespace ?? '')
        .filter((dv) => {
          const source = populationSourceOf(dv);
          return source?.kind === kind && source.name === obj.metadata.name;
        })
        .map((dv) => keyOf(dv.metadata.namespace, dv.metadata.name ?? ''));
  manager
    .controller<DataVolume>('datavolume')
    .for(DATA_VOLUME_TYPE)
    .owns(PERSISTENT_VOLUME_CLAIM)
    .watches<PersistentVolume>(PERSISTENT_VOLUME, (pv) => (pv.spec.claimRef ? [keyOf(pv.spec.claimRef.namespace, pv.spec.claimRef.name)] : []))
    .watches<VolumeSnapshot>(VOLUME_SNAPSHOT_TYPE, populatedFrom('snapshot'))
    .watches<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM, populatedFrom('claim'))
    .complete(new DataVolumeReconciler({ importDurationMs: opts.importDurationMs, volumesDir }));

  const snapshots = (await manager.cache.informerFor<VolumeSnapshot>(VOLUME_SNAPSHOT_TYPE)).store;
  manager
    .controller<VolumeSnapshot>('volumesnapshot')
    .for(VOLUME_SNAPSHOT_TYPE)
    // Its claim bound wakes a snapshot that waits for it.
    .watches<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM, (claim) =>
      snapshots
        .byIndex(NAMESPACE_INDEX, claim.metadata.namespace ?? '')
        .filter((vs) => vs.spec.source.persistentVolumeClaimName === claim.metadata.name)
        .map((vs) => keyOf(vs.metadata.namespace, vs.metadata.name ?? '')),
    )
    .complete(new VolumeSnapshotReconciler(volumesDir));

  manager
    .controller<PersistentVolume>('released-volumes')
    .for(PERSISTENT_VOLUME, { predicates: [{ create: provisionedByUs, update: (_old, pv) => provisionedByUs(pv) }] })
    .withoutAutomaticPatch()
    .complete(new ReleasedVolumeReconciler(volumesDir));
  manager.controller<PersistentVolumeClaim>('claim-resize').for(PERSISTENT_VOLUME_CLAIM).complete(new ClaimResizeReconciler(volumesDir));

  const virtHandler = new VirtHandlerReconciler({ runtime: opts.runtime, volumesDir });
  manager
    .controller<VirtualMachineInstance>('virt-handler')
    .for(VIRTUAL_MACHINE_INSTANCE_TYPE)
    .withoutStatusSubresource()
    .watches<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM, vmisMounting)
    .complete(virtHandler);

  await manager.start();
  let webhook: AdmissionWebhook;
  try {
    webhook = await startAdmissionWebhook(manager.client, log);
  } catch (err) {
    await manager.stop();
    throw err;
  }
  let api: SubresourceServer | undefined;
  const host = opts.subresourceHost ?? new URL(kubeConfig.getCurrentCluster()?.server ?? 'https://127.0.0.1').hostname;
  try {
    if (host.startsWith('127.') || host === 'localhost') log.warn({ host }, 'the apiserver is on loopback: subresources.kubevirt.io is not served');
    else api = await startSubresourceServer({ client: manager.client, log, runtime: opts.runtime, host });
  } catch (err) {
    await webhook.stop();
    await manager.stop();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    stop() {
      stopped ??= (async () => {
        await api?.stop();
        await webhook.stop();
        await manager.stop();
        // The guests go with their pods; the node's loop devices would outlive them.
        await virtHandler.releaseEverything();
      })();
      return stopped;
    },
  };
}
