// The Controller service, run in the management cluster with the infra credentials tenants never hold: a tenant
// volume is a DataVolume in the tenant's infra namespace, attached to a node by hot-plugging it into the node's
// VM (KubeVirt's addvolume/removevolume subresources) and waiting until the VMI reports it Ready, or gone.
// Every RPC is idempotent, checks that the DataVolume carries the tenant's labels and the VM its Cluster's before
// touching them (a crafted volume or node ID reaches nothing of another tenant, even in a shared infra namespace),
// and runs alone on its volume (a second one gets ABORTED).
import { DATA_VOLUME_TYPE, type DataVolume } from '../../lib/apis/cdi.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, VIRTUAL_MACHINE_TYPE, type AddVolumeOptions, type VirtualMachine, type VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { ApiError, isAlreadyExists, isNotFound } from '../../lib/kube/api-error.js';
import type { Client } from '../../lib/kube/client.js';
import type { Logger } from '../../lib/observability/logger.js';
import { checkWellFormed, unsupportedReason, volumeModeOf } from '../capabilities.js';
import type { ControllerExpandVolumeRequest, ControllerPublishVolumeRequest, ControllerUnpublishVolumeRequest, CreateVolumeRequest, GetCapacityRequest, ListVolumesRequest, ValidateVolumeCapabilitiesRequest, Volume } from '../csi-types.js';
import { pollUntil } from '../poll.js';
import type { RpcTable } from '../server.js';
import { aborted, alreadyExists, failedPrecondition, invalidArgument, notFound } from '../status.js';
import { VolumeLocks } from '../volume-locks.js';
import { resolveContentSource, sizeWithSource } from './content-source.js';
import { belongsTo, buildDataVolume, dataVolumeNameFor, mismatch, quantityBytes } from './datavolume.js';
import { controllerExpandVolume, PERSISTENT_VOLUME_CLAIM_TYPE, type InfraClaim } from './expand.js';
import { holds, plugOf } from './hotplug.js';
import { vmNameOf } from './node-id.js';
import { isTenantVM } from './vm-ownership.js';
import { page } from './page-token.js';
import { SnapshotService } from './snapshot-service.js';
import { enforceStorageClass, parseStorageClassEnforcement, type StorageClassEnforcement } from './storage-class-enforcement.js';
import { infraDefaultClass, servedZones } from './infra-storage-zones.js';
import { accessibleTopology, placeVolume, ZONE_ANNOTATION, ZONE_KEY, zoneMismatch } from './topology.js';
import { BUS_ANNOTATION, CONTEXT_BUS, CONTEXT_SERIAL, DEFAULT_BUS, parseVolumeParameters } from './parameters.js';
import { availableCapacity, remainingUnderQuotas, RESOURCE_QUOTA_TYPE, type ResourceQuota } from './capacity.js';
import { publishedNodeIds, volumeHealth } from './volume-health.js';

const SUBRESOURCES = '/apis/subresources.kubevirt.io/v1';

/** What a volume's status and health are read from besides its DataVolume. */
interface Surroundings {
  /** The namespace's infra claims, by name (a DataVolume's claim has its name). */
  claims: Map<string, InfraClaim>;
  /** The tenant's VMs and VMIs (vm-ownership.ts). */
  vms: VirtualMachine[];
  vmis: VirtualMachineInstance[];
}

export interface ControllerOptions {
  /** The infra (management) cluster, where the tenant's VMs and DataVolumes live. */
  infra: Client;
  infraNamespace: string;
  /** --infra-cluster-labels: put on every DataVolume, and required on any the driver touches. */
  infraLabels: Record<string, string>;
  /** --cluster-name: the Cluster whose VMs (cluster.x-k8s.io/cluster-name) are this tenant's nodes; none: every VM of the namespace. */
  clusterName?: string | undefined;
  /** INFRA_STORAGE_CLASS_ENFORCEMENT; default: every infra StorageClass allowed. */
  storageClassEnforcement?: StorageClassEnforcement;
  /** --topology: volumes placed in a zone their infra StorageClass serves (topology.ts), reported as their accessible topology. */
  topology?: boolean;
  log: Logger;
  /** How long ControllerPublish/Unpublish wait for the VMI to report the volume Ready or gone. */
  attachTimeoutMs?: number;
  pollIntervalMs?: number;
  /** How long CreateSnapshot waits for the infra snapshot to be ReadyToUse before answering that it is not yet. */
  snapshotReadyWaitMs?: number;
  /** How old an infra snapshot's error must be before CreateSnapshot reports it rather than not ready yet. */
  snapshotErrorGraceMs?: number;
  /** How long an infra claim may stay unbound or missing before the volume's health reports it (default a minute). */
  healthGraceMs?: number;
}

const CONTROLLER_CAPABILITIES = [
  'CREATE_DELETE_VOLUME',
  'PUBLISH_UNPUBLISH_VOLUME',
  'LIST_VOLUMES',
  'LIST_VOLUMES_PUBLISHED_NODES',
  'GET_VOLUME',
  'GET_VOLUME_HEALTH',
  'LIST_VOLUME_HEALTH',
  'GET_CAPACITY',
  'EXPAND_VOLUME',
  'CREATE_DELETE_SNAPSHOT',
  'LIST_SNAPSHOTS',
  'GET_SNAPSHOT',
  'CLONE_VOLUME',
] as const;

export class ControllerService {
  private readonly locks = new VolumeLocks();
  private readonly attachTimeoutMs: number;
  private readonly pollIntervalMs: number;
  private readonly snapshots: SnapshotService;
  private readonly storageClassEnforcement: StorageClassEnforcement;

  constructor(private readonly opts: ControllerOptions) {
    this.attachTimeoutMs = opts.attachTimeoutMs ?? 120_000;
    this.pollIntervalMs = opts.pollIntervalMs ?? 250;
    this.storageClassEnforcement = opts.storageClassEnforcement ?? parseStorageClassEnforcement(undefined);
    this.snapshots = new SnapshotService({ ...opts, storageClassEnforcement: this.storageClassEnforcement, ownDataVolume: (name) => this.ownDataVolume(name), pollIntervalMs: this.pollIntervalMs, readyWaitMs: opts.snapshotReadyWaitMs, errorGraceMs: opts.snapshotErrorGraceMs });
  }

  rpcs(): RpcTable {
    return {
      ControllerGetCapabilities: () => Promise.resolve({ capabilities: CONTROLLER_CAPABILITIES.map((type) => ({ rpc: { type } })) }),
      CreateVolume: (req: CreateVolumeRequest) => this.createVolume(req),
      DeleteVolume: (req: { volume_id?: string }) => this.deleteVolume(req),
      ControllerPublishVolume: (req: ControllerPublishVolumeRequest) => this.publish(req),
      ControllerUnpublishVolume: (req: ControllerUnpublishVolumeRequest) => this.unpublish(req),
      ValidateVolumeCapabilities: (req: ValidateVolumeCapabilitiesRequest) => this.validate(req),
      ListVolumes: (req: ListVolumesRequest) => this.listVolumes(req),
      ControllerGetVolume: (req: { volume_id?: string }) => this.getVolume(req),
      ControllerGetVolumeHealth: (req: { volume_id?: string }) => this.getVolumeHealth(req),
      ControllerListVolumeHealth: (req: ListVolumesRequest) => this.listVolumeHealth(req),
      GetCapacity: (req: GetCapacityRequest) => this.getCapacity(req),
      ...this.snapshots.rpcs(),
      ControllerExpandVolume: (req: ControllerExpandVolumeRequest) =>
        controllerExpandVolume(req, { infra: this.opts.infra, namespace: this.ns, locks: this.locks, dataVolume: (id) => this.ownDataVolume(id), log: this.opts.log, timeoutMs: this.attachTimeoutMs, intervalMs: this.pollIntervalMs }),
    };
  }

  /** Readiness: the infra apiserver answers for the tenant's DataVolumes with these credentials. */
  async ready(): Promise<boolean> {
    try {
      await this.opts.infra.transport.request({ method: 'GET', path: `/apis/cdi.kubevirt.io/v1beta1/namespaces/${this.opts.infraNamespace}/datavolumes`, query: { limit: 1 } });
      return true;
    } catch (err) {
      this.opts.log.warn({ err: (err as Error).message }, 'infra apiserver not ready');
      return false;
    }
  }

  private get ns(): string {
    return this.opts.infraNamespace;
  }

  /** The tenant's DataVolume named `name`; undefined when there is none, or it is not this tenant's. */
  private async ownDataVolume(name: string): Promise<DataVolume | undefined> {
    const dv = await this.opts.infra.get<DataVolume>(DATA_VOLUME_TYPE, { namespace: this.ns, name }, { direct: true });
    if (dv && !belongsTo(dv, this.opts.infraLabels)) {
      this.opts.log.warn({ volume: name }, 'refused a DataVolume without the tenant labels');
      return undefined;
    }
    return dv;
  }

  /**
   * The volume as CSI describes it: its size is what the infra claim holds once bound (an expansion grows the claim, not
   * the DataVolume), else what the DataVolume asks; its bus is the one CreateVolume recorded (none on volumes older than
   * the annotation, unless the caller knows it).
   */
  private volumeOf(dv: DataVolume, bus?: string, claim?: InfraClaim): Volume {
    const storage = dv.spec?.storage ?? dv.spec?.pvc;
    const recordedBus = bus ?? dv.metadata.annotations?.[BUS_ANNOTATION];
    return {
      volume_id: dv.metadata.name ?? '',
      capacity_bytes: quantityBytes(claim?.status?.capacity?.storage) ?? quantityBytes(storage?.resources?.requests?.storage) ?? 0,
      // The serial the disk is hot-plugged with, by which the node plugin finds it in the VM.
      volume_context: { ...(recordedBus ? { [CONTEXT_BUS]: recordedBus } : {}), [CONTEXT_SERIAL]: dv.metadata.uid ?? '' },
      ...(this.opts.topology ? { accessible_topology: accessibleTopology(dv.metadata.annotations?.[ZONE_ANNOTATION]) } : {}),
    };
  }

  /** The DataVolume to create, in the zone the request and its infra storage allow when topology is in use. */
  private async placed(wanted: DataVolume, req: CreateVolumeRequest): Promise<DataVolume> {
    if (!this.opts.topology) return wanted;
    const zone = placeVolume(req.accessibility_requirements, await servedZones(this.opts.infra, wanted.spec?.storage?.storageClassName));
    return zone ? { ...wanted, metadata: { ...wanted.metadata, annotations: { ...wanted.metadata.annotations, [ZONE_ANNOTATION]: zone } } } : wanted;
  }

  private async createVolume(req: CreateVolumeRequest): Promise<object> {
    if (!req.name) throw invalidArgument('name is required');
    const name = dataVolumeNameFor(req.name);
    const caps = req.volume_capabilities ?? [];
    if (caps.length === 0) throw invalidArgument('volume_capabilities are required');
    for (const [i, cap] of caps.entries()) {
      checkWellFormed(cap, `volume_capabilities[${String(i)}]`);
      const reason = unsupportedReason(cap);
      if (reason) throw invalidArgument(reason);
    }
    const params = parseVolumeParameters(req.parameters);
    enforceStorageClass(this.storageClassEnforcement, params.infraStorageClassName);
    const content = await resolveContentSource(req.volume_content_source, { snapshot: (id) => this.snapshots.ownSnapshot(id), volume: (id) => this.ownDataVolume(id) });
    const built = buildDataVolume({
      name,
      namespace: this.ns,
      labels: this.opts.infraLabels,
      bytes: sizeWithSource(req.capacity_range, content.sourceBytes),
      volumeMode: volumeModeOf(caps),
      shared: caps.some((c) => c.access_mode?.mode === 'MULTI_NODE_MULTI_WRITER'),
      storageClassName: params.infraStorageClassName,
      origin: content.origin,
    });
    const wanted: DataVolume = { ...built, metadata: { ...built.metadata, annotations: { ...built.metadata.annotations, [BUS_ANNOTATION]: params.bus } } };
    return this.locks.run(name, 'CreateVolume', async () => {
      let dv = await this.opts.infra.get<DataVolume>(DATA_VOLUME_TYPE, { namespace: this.ns, name }, { direct: true });
      if (!dv) {
        const placed = await this.placed(wanted, req);
        try {
          dv = await this.opts.infra.create(placed);
          this.opts.log.info({ volume: name, namespace: this.ns, bytes: wanted.spec?.storage?.resources?.requests?.storage, zone: dv.metadata.annotations?.[ZONE_ANNOTATION] }, 'created DataVolume');
        } catch (err) {
          if (!isAlreadyExists(err)) throw new Error(`create DataVolume ${this.ns}/${name}: ${(err as Error).message}`, { cause: err });
          dv = await this.opts.infra.get<DataVolume>(DATA_VOLUME_TYPE, { namespace: this.ns, name }, { direct: true });
          if (!dv) throw aborted(`DataVolume ${this.ns}/${name} was deleted while being created; retry`);
        }
      }
      if (!belongsTo(dv, this.opts.infraLabels)) throw alreadyExists(`volume ${name} exists in the infra namespace but does not belong to this tenant`);
      const why = mismatch(dv, wanted) ?? (this.opts.topology ? zoneMismatch(dv.metadata.annotations?.[ZONE_ANNOTATION], req.accessibility_requirements) : undefined);
      if (why) throw alreadyExists(`volume ${name} already exists and is incompatible: ${why}`);
      return { volume: { ...this.volumeOf(dv, params.bus), ...(req.volume_content_source ? { content_source: req.volume_content_source } : {}) } };
    });
  }

  private async deleteVolume(req: { volume_id?: string }): Promise<object> {
    const id = req.volume_id ?? '';
    if (id === '') throw invalidArgument('volume_id is required');
    return this.locks.run(id, 'DeleteVolume', async () => {
      // Another tenant's DataVolume, or none: nothing of this tenant's to delete, which DeleteVolume reports as done.
      if (!(await this.ownDataVolume(id))) return {};
      const user = await this.vmiHolding(id);
      if (user) throw failedPrecondition(`volume ${id} is still attached to ${this.describe(user)}; unpublish it first`);
      if (await this.opts.infra.delete(DATA_VOLUME_TYPE, { namespace: this.ns, name: id })) this.opts.log.info({ volume: id }, 'deleted DataVolume');
      return {};
    });
  }

  /**
   * The VM a node ID names, when it is one of this tenant's nodes. Another Cluster's VM is answered exactly as a
   * missing one (NOT_FOUND on publish, nothing to do on unpublish): telling them apart would let a tenant probe which
   * VM names the other tenants of a shared infra namespace use.
   */
  private async tenantVM(nodeId: string): Promise<{ name: string; vm: VirtualMachine } | undefined> {
    const name = vmNameOf(nodeId, this.ns);
    if (!name) return undefined;
    const vm = await this.opts.infra.get<VirtualMachine>(VIRTUAL_MACHINE_TYPE, { namespace: this.ns, name }, { direct: true });
    if (!vm) return undefined;
    if (!isTenantVM(vm, this.opts.clusterName)) {
      this.opts.log.warn({ node: nodeId, vm: name }, "refused a VM of another tenant's cluster");
      return undefined;
    }
    return { name, vm };
  }
  private async getVMI(name: string): Promise<VirtualMachineInstance | undefined> {
    return this.opts.infra.get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: this.ns, name }, { direct: true });
  }

  private async publish(req: ControllerPublishVolumeRequest): Promise<object> {
    const id = req.volume_id ?? '';
    if (id === '') throw invalidArgument('volume_id is required');
    const nodeId = req.node_id ?? '';
    if (nodeId === '') throw invalidArgument('node_id is required');
    const cap = checkWellFormed(req.volume_capability);
    const reason = unsupportedReason(cap);
    if (reason) throw invalidArgument(reason);
    return this.locks.run(id, 'ControllerPublishVolume', async () => {
      const dv = await this.ownDataVolume(id);
      if (!dv) throw notFound(`volume ${id} not found`);
      const node = await this.tenantVM(nodeId);
      if (!node) throw notFound(`node ${nodeId} not found: no VM of that name in ${this.ns}`);
      const { name: vmName, vm } = node;
      const storage = dv.spec?.storage ?? dv.spec?.pvc;
      if ((storage?.volumeMode ?? 'Filesystem') === 'Filesystem' && cap.block) throw invalidArgument(`volume ${id} is a Filesystem volume; it cannot be published as a block device`);
      if (cap.access_mode?.mode !== 'MULTI_NODE_MULTI_WRITER') await this.refuseIfAttachedElsewhere(id, vmName);

      const bus = req.volume_context?.[CONTEXT_BUS] ?? DEFAULT_BUS;
      const serial = dv.metadata.uid ?? '';
      const vmi = await this.getVMI(vmName);
      const plugs = [plugOf(vm.spec?.template.spec?.volumes, id), plugOf(vmi?.spec?.volumes, id)];
      // Waiting on a volume of that name from another source would report its status as ours.
      if (plugs.includes('name-taken')) throw failedPrecondition(`VM ${vmName} already has a volume named ${id} that is not the hot-plugged DataVolume ${id}; remove it from the VM to publish the volume there`);
      if (plugs.includes('under-another-name')) throw failedPrecondition(`DataVolume ${id} is already in VM ${vmName} under another volume name; remove it from the VM to publish the volume there`);
      const requested = (vm.status?.volumeRequests ?? []).some((r) => r.addVolumeOptions?.name === id);
      if (!plugs.includes('ours') && !requested) {
        const body: AddVolumeOptions = { name: id, disk: { name: id, serial, disk: { bus } }, volumeSource: { dataVolume: { name: id, hotpluggable: true } } };
        try {
          await this.opts.infra.transport.request({ method: 'PUT', path: `${SUBRESOURCES}/namespaces/${this.ns}/virtualmachines/${vmName}/addvolume`, body });
          this.opts.log.info({ volume: id, vm: vmName, serial, bus }, 'requested hot-plug');
        } catch (err) {
          // A concurrent request (or a restarted controller's earlier one) already added it: wait for that one.
          if (!(err instanceof ApiError && err.status === 409 && err.message.includes('already exists'))) throw new Error(`addvolume ${id} to VM ${this.ns}/${vmName}: ${(err as Error).message}`, { cause: err });
        }
      }
      await pollUntil(
        async () => {
          const now = await this.getVMI(vmName);
          const status = now?.status?.volumeStatus?.find((s) => s.name === id);
          if (status?.phase === 'Ready') return { done: true, value: status };
          return { done: false, seen: now ? `phase ${status?.phase ?? 'none'} (${status?.reason ?? ''} ${status?.message ?? ''})` : `no VMI: VM ${vmName} is not running` };
        },
        { timeoutMs: this.attachTimeoutMs, intervalMs: this.pollIntervalMs, what: `volume ${id} Ready in VMI ${this.ns}/${vmName}` },
      );
      return { publish_context: { [CONTEXT_SERIAL]: serial, [CONTEXT_BUS]: bus } };
    });
  }

  /** A ReadWriteOnce volume attached to another VM cannot be published here until it is unpublished there. */
  private async refuseIfAttachedElsewhere(id: string, vmName: string): Promise<void> {
    const other = await this.vmiHolding(id, vmName);
    if (other) throw failedPrecondition(`volume ${id} is attached to ${this.describe(other)}; a single-node volume must be unpublished there first`);
  }

  /** A VMI of the namespace (but `except`) that holds the tenant's DataVolume `id` (hotplug.ts: by source, not name). */
  private async vmiHolding(id: string, except?: string): Promise<VirtualMachineInstance | undefined> {
    const vmis = await this.opts.infra.list<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: this.ns, direct: true });
    return vmis.find((v) => v.metadata.name !== except && holds(v, id, isTenantVM(v, this.opts.clusterName)));
  }

  /** A VMI as an error message names it: another tenant's VM is not named, as tenantVM does not tell it from a missing one. */
  private describe(vmi: VirtualMachineInstance): string {
    return isTenantVM(vmi, this.opts.clusterName) ? `VM ${vmi.metadata.name ?? ''}` : 'a VM of another cluster';
  }

  private async unpublish(req: ControllerUnpublishVolumeRequest): Promise<object> {
    const id = req.volume_id ?? '';
    if (id === '') throw invalidArgument('volume_id is required');
    const nodeId = req.node_id ?? '';
    if (nodeId === '') throw invalidArgument('node_id is required');
    return this.locks.run(id, 'ControllerUnpublishVolume', async () => {
      // A VM that is gone (deleted, or the node ID names none of this tenant's) holds none of our volumes:
      // unpublished. Another tenant's VM is left alone, whatever it holds.
      const node = await this.tenantVM(nodeId);
      if (!node) return {};
      const { name: vmName, vm } = node;
      const dv = await this.opts.infra.get<DataVolume>(DATA_VOLUME_TYPE, { namespace: this.ns, name: id }, { direct: true });
      if (dv && !belongsTo(dv, this.opts.infraLabels)) return {};
      const vmi = await this.getVMI(vmName);
      const [inVM, inVMI] = [plugOf(vm.spec?.template.spec?.volumes, id), plugOf(vmi?.spec?.volumes, id)];
      // A volume of that name from another source is not ours to unplug, and ours was never plugged in under it.
      if (inVM === 'name-taken' || inVMI === 'name-taken') return {};
      // In the VM's spec it is removed through the VM (or the VM puts it back on the next start); a volume only in
      // the VMI (added to the VMI directly, or the VM's copy already gone) through the VMI.
      const target = inVM === 'ours' ? 'virtualmachines' : inVMI === 'ours' ? 'virtualmachineinstances' : undefined;
      if (target) {
        try {
          await this.opts.infra.transport.request({ method: 'PUT', path: `${SUBRESOURCES}/namespaces/${this.ns}/${target}/${vmName}/removevolume`, body: { name: id } });
          this.opts.log.info({ volume: id, vm: vmName, via: target }, 'requested hot-unplug');
        } catch (err) {
          // Gone in between (the VMI stopped, another unpublish won): what we wanted.
          if (!isNotFound(err) && !(err instanceof ApiError && /does not exist|not found/i.test(err.message))) throw new Error(`removevolume ${id} from ${target} ${this.ns}/${vmName}: ${(err as Error).message}`, { cause: err });
        }
      }
      await pollUntil(
        async () => {
          const now = await this.getVMI(vmName);
          const status = now?.status?.volumeStatus?.find((s) => s.name === id);
          if (!status && plugOf(now?.spec?.volumes, id) !== 'ours') return { done: true, value: undefined };
          return { done: false, seen: `phase ${status?.phase ?? 'none'} (${status?.reason ?? ''})` };
        },
        { timeoutMs: this.attachTimeoutMs, intervalMs: this.pollIntervalMs, what: `volume ${id} gone from VMI ${this.ns}/${vmName}` },
      );
      return {};
    });
  }

  private async validate(req: ValidateVolumeCapabilitiesRequest): Promise<object> {
    const id = req.volume_id ?? '';
    if (id === '') throw invalidArgument('volume_id is required');
    const caps = req.volume_capabilities ?? [];
    if (caps.length === 0) throw invalidArgument('volume_capabilities are required');
    caps.forEach((c, i) => checkWellFormed(c, `volume_capabilities[${String(i)}]`));
    const dv = await this.ownDataVolume(id);
    if (!dv) throw notFound(`volume ${id} not found`);
    const mode = (dv.spec?.storage ?? dv.spec?.pvc)?.volumeMode ?? 'Filesystem';
    for (const cap of caps) {
      const reason = unsupportedReason(cap) ?? (mode === 'Filesystem' && cap.block ? `volume ${id} is a Filesystem volume, not a block device` : undefined);
      if (reason) return { message: reason };
    }
    return { confirmed: { volume_context: req.volume_context ?? {}, volume_capabilities: caps, parameters: req.parameters ?? {} } };
  }

  /** The tenant's DataVolumes not being deleted, by name. */
  private async ownDataVolumes(): Promise<DataVolume[]> {
    const selector = Object.entries(this.opts.infraLabels).map(([k, v]) => `${k}=${v}`).join(',');
    return (await this.opts.infra.list<DataVolume>(DATA_VOLUME_TYPE, { namespace: this.ns, direct: true, ...(selector ? { labelSelector: selector } : {}) }))
      .filter((dv) => !dv.metadata.deletionTimestamp)
      .sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
  }

  /** What a volume's status and health are read from: the infra claims by name, and the tenant's VMs and VMIs. */
  private async surroundings(): Promise<Surroundings> {
    const [claims, vms, vmis] = await Promise.all([
      this.opts.infra.list<InfraClaim>(PERSISTENT_VOLUME_CLAIM_TYPE, { namespace: this.ns, direct: true }),
      this.opts.infra.list<VirtualMachine>(VIRTUAL_MACHINE_TYPE, { namespace: this.ns, direct: true }),
      this.opts.infra.list<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: this.ns, direct: true }),
    ]);
    const tenants = <T extends VirtualMachine | VirtualMachineInstance>(items: T[]) => items.filter((v) => isTenantVM(v, this.opts.clusterName));
    return { claims: new Map(claims.map((c) => [c.metadata.name ?? '', c])), vms: tenants(vms), vmis: tenants(vmis) };
  }

  private entryOf(dv: DataVolume, around: Surroundings): object {
    const id = dv.metadata.name ?? '';
    return { volume: this.volumeOf(dv, undefined, around.claims.get(id)), status: { published_node_ids: publishedNodeIds(this.ns, id, around.vms, around.vmis) } };
  }

  private healthOf(dv: DataVolume, around: Surroundings): { volume_id: string; health_statuses: object[] } {
    const id = dv.metadata.name ?? '';
    const entries = volumeHealth({ dv, claim: around.claims.get(id), vmis: around.vmis, now: Date.now(), graceMs: this.opts.healthGraceMs ?? 60_000 });
    return { volume_id: id, health_statuses: entries };
  }

  private async listVolumes(req: ListVolumesRequest): Promise<object> {
    if ((req.max_entries ?? 0) < 0) throw invalidArgument('max_entries may not be negative');
    const dvs = await this.ownDataVolumes();
    const { entries, next_token } = page(dvs, (dv) => dv.metadata.name ?? '', req);
    const around = await this.surroundings();
    return { entries: entries.map((dv) => this.entryOf(dv, around)), ...(next_token ? { next_token } : {}) };
  }

  /** The tenant's volume `volume_id`; NOT_FOUND for one that is not (another tenant's answers as a missing one). */
  private async existingVolume(req: { volume_id?: string }): Promise<DataVolume> {
    const id = req.volume_id ?? '';
    if (id === '') throw invalidArgument('volume_id is required');
    const dv = await this.ownDataVolume(id);
    if (!dv || dv.metadata.deletionTimestamp) throw notFound(`volume ${id} not found`);
    return dv;
  }

  private async getVolume(req: { volume_id?: string }): Promise<object> {
    const dv = await this.existingVolume(req);
    return this.entryOf(dv, await this.surroundings());
  }

  private async getVolumeHealth(req: { volume_id?: string }): Promise<object> {
    const dv = await this.existingVolume(req);
    return { volume_health: this.healthOf(dv, await this.surroundings()) };
  }

  /** The tenant's volumes with an adverse condition, paged like ListVolumes. */
  private async listVolumeHealth(req: ListVolumesRequest): Promise<object> {
    if ((req.max_entries ?? 0) < 0) throw invalidArgument('max_entries may not be negative');
    const [dvs, around] = await Promise.all([this.ownDataVolumes(), this.surroundings()]);
    const abnormal = dvs.map((dv) => this.healthOf(dv, around)).filter((h) => h.health_statuses.length > 0);
    const { entries, next_token } = page(abnormal, (h) => h.volume_id, req);
    return { entries, ...(next_token ? { next_token } : {}) };
  }

  /**
   * What the tenant may still provision with these parameters and capabilities (capacity.ts): its namespace's storage
   * quotas for the infra class the volumes would get; nothing in a zone that class does not serve, nothing for
   * capabilities no volume can have.
   */
  private async getCapacity(req: GetCapacityRequest): Promise<object> {
    const caps = req.volume_capabilities ?? [];
    caps.forEach((c, i) => checkWellFormed(c, `volume_capabilities[${String(i)}]`));
    volumeModeOf(caps); // block and mount together are contradictory: INVALID_ARGUMENT, as CreateVolume answers
    const params = parseVolumeParameters(req.parameters);
    enforceStorageClass(this.storageClassEnforcement, params.infraStorageClassName);
    const segments = Object.entries(req.accessible_topology?.segments ?? {});
    if (segments.length > 0 && !this.opts.topology) throw invalidArgument('accessible_topology: this plugin does not advertise VOLUME_ACCESSIBILITY_CONSTRAINTS (--topology=false)');
    const unknownKey = segments.find(([k]) => k !== ZONE_KEY);
    if (unknownKey) throw invalidArgument(`accessible_topology: unknown key ${unknownKey[0]} (only ${ZONE_KEY})`);
    if (caps.some((c) => unsupportedReason(c) !== undefined)) return { available_capacity: 0 };
    const zone = req.accessible_topology?.segments?.[ZONE_KEY];
    if (zone !== undefined) {
      const served = await servedZones(this.opts.infra, params.infraStorageClassName);
      if (served.zones && !served.zones.includes(zone)) return { available_capacity: 0 };
    }
    const cls = params.infraStorageClassName !== undefined ? { name: params.infraStorageClassName } : await infraDefaultClass(this.opts.infra);
    const quotas = await this.opts.infra.list<ResourceQuota>(RESOURCE_QUOTA_TYPE, { namespace: this.ns, direct: true });
    return { available_capacity: availableCapacity(remainingUnderQuotas(quotas, cls), this.ns, cls) };
  }
}
