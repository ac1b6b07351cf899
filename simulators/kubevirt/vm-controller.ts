// virt-controller's VirtualMachine controller: the DataVolumes of spec.dataVolumeTemplates (owned by the VM), one
// VMI named after the VM started and stopped per runStrategy, and the VM's status from both. Deleting a VM stops
// its VMI and waits for it to be gone; Kubernetes' garbage collector then removes the DataVolumes it owns.
import { addFinalizer, hasFinalizer, removeFinalizer } from '../../lib/controller/finalizers.js';
import { OWNER_UID_INDEX } from '../../lib/controller/indexers.js';
import { ownerReferenceTo } from '../../lib/controller/owner-references.js';
import { done, requeueAfter, type ReconcileContext, type Reconciler, type Result } from '../../lib/controller/reconciler.js';
import { isAlreadyExists, isNotFound } from '../../lib/kube/api-error.js';
import { VIRTUAL_MACHINE_TYPE, VIRTUAL_MACHINE_INSTANCE_TYPE, type RunStrategy, type VirtualMachine, type VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { DATA_VOLUME_TYPE, type DataVolume } from '../../lib/apis/cdi.js';
import { CREATED_BY_LABEL, VM_CONTROLLER_FINALIZER } from './labels.js';
import { startBackoffLeftMs, syncStartFailure } from './start-failure.js';
import { isFinal } from './vmi-controller.js';
import { vmiVolumePatch } from './vm-actions.js';
import { applyVolumeRequestsToTemplate, hasStartRequest, hasStopRequestForVMI, trimDoneVolumeRequests, trimStateChangeRequests } from './vm-requests.js';
import { dataVolumeFailed, runStrategyOf, updateVMStatus, type DataVolumeSummary } from './vm-status.js';

/** Whether the VM wants a VMI now, given the one it has (upstream's isSetToStart). */
function shouldRun(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined, strategy: RunStrategy): boolean {
  switch (strategy) {
    case 'Always':
      return true;
    case 'Halted':
    case 'WaitAsReceiver':
      return false;
    case 'RerunOnFailure':
      return vmi?.status?.phase !== 'Succeeded';
    case 'Once':
      return vmi === undefined || !isFinal(vmi);
    case 'Manual':
      return vmi ? !hasStopRequestForVMI(vm, vmi) : hasStartRequest(vm);
  }
}

export class VmReconciler implements Reconciler<VirtualMachine> {
  async reconcile(vm: VirtualMachine, ctx: ReconcileContext): Promise<Result> {
    const vmi = await this.vmiOf(vm, ctx);
    if (vm.metadata.deletionTimestamp) return this.reconcileDelete(vm, vmi, ctx);
    addFinalizer(vm, VM_CONTROLLER_FINALIZER);
    const strategy = runStrategyOf(vm);
    const dvs = await this.ensureDataVolumes(vm, ctx);
    // Counted before acting on a failed VMI, so its replacement waits out the backoff.
    syncStartFailure(vm, vmi, strategy);
    await this.applyVolumeRequests(vm, vmi, ctx);
    const result = dvs.ready || strategy === 'Halted' ? await this.startStop(vm, vmi, strategy, ctx) : done();
    if (vmi && isFinal(vmi)) await this.releaseVMI(vmi, ctx);
    updateVMStatus(vm, vmi, dvs, shouldRun(vm, vmi, strategy));
    trimStateChangeRequests(vm, vmi);
    trimDoneVolumeRequests(vm);
    return result;
  }

  private async vmiOf(vm: VirtualMachine, ctx: ReconcileContext): Promise<VirtualMachineInstance | undefined> {
    const vmi = await ctx.cache.get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: vm.metadata.namespace, name: vm.metadata.name ?? '' });
    const owner = vmi?.metadata.ownerReferences?.find((r) => r.controller === true);
    return owner?.uid === vm.metadata.uid ? vmi : undefined;
  }

  private async ensureDataVolumes(vm: VirtualMachine, ctx: ReconcileContext): Promise<DataVolumeSummary> {
    const owned = await ctx.cache.byIndex<DataVolume>(DATA_VOLUME_TYPE, OWNER_UID_INDEX, vm.metadata.uid ?? '');
    const summary: DataVolumeSummary = { ready: true, failed: [], dataVolumes: [] };
    for (const template of vm.spec?.dataVolumeTemplates ?? []) {
      const name = template.metadata.name ?? '';
      let dv = owned.find((d) => d.metadata.name === name);
      if (!dv) {
        dv = {
          ...DATA_VOLUME_TYPE,
          metadata: {
            name,
            namespace: vm.metadata.namespace,
            labels: { ...template.metadata.labels, [CREATED_BY_LABEL]: vm.metadata.uid ?? '' },
            ...(template.metadata.annotations ? { annotations: template.metadata.annotations } : {}),
            ownerReferences: [ownerReferenceTo({ ...VIRTUAL_MACHINE_TYPE, ...vm }, { controller: true })],
          },
          spec: template.spec,
        };
        try {
          await ctx.client.create(dv);
          ctx.events.normal('SuccessfulDataVolumeCreate', 'CreateDataVolume', `Created DataVolume ${name}`);
        } catch (err) {
          if (!isAlreadyExists(err)) {
            ctx.events.warning('FailedDataVolumeCreate', 'CreateDataVolume', `Error creating DataVolume ${name}: ${(err as Error).message}`);
            throw new Error(`create DataVolume ${name} of VM ${ctx.key}: ${(err as Error).message}`, { cause: err });
          }
        }
      }
      summary.dataVolumes.push(dv);
      if (dv.status?.phase !== 'Succeeded') summary.ready = false;
      if (dataVolumeFailed(dv)) summary.failed.push(dv);
    }
    for (const dv of summary.failed) ctx.events.warning('FailedDataVolumeImport', 'ImportDataVolume', `DataVolume ${dv.metadata.name ?? ''} failed to import disk image`);
    return summary;
  }

  private async startStop(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined, strategy: RunStrategy, ctx: ReconcileContext): Promise<Result> {
    if (vmi?.metadata.deletionTimestamp) return done(); // a stop is under way; its end brings us back
    switch (strategy) {
      case 'Always':
        // A stop request for the running VMI is a restart: the next VMI starts as soon as this one is gone.
        if (vmi && (isFinal(vmi) || hasStopRequestForVMI(vm, vmi))) await this.stopVMI(vmi, ctx, isFinal(vmi) ? 'restarting it after it finished' : 'on a restart request');
        else if (!vmi) return this.startAfterBackoff(vm, ctx);
        return done();
      case 'RerunOnFailure':
        if (vmi) {
          if (hasStopRequestForVMI(vm, vmi)) await this.stopVMI(vmi, ctx, 'on a stop request');
          else if (vmi.status?.phase === 'Failed') {
            await this.stopVMI(vmi, ctx, 'restarting it after it failed');
            // The replacement is asked for explicitly, so a stopped RerunOnFailure VM stays stopped.
            ((vm.status ??= {}).stateChangeRequests ??= []).push({ action: 'Start' });
          }
          return done();
        }
        // Started on a start request, or when it has never run under this strategy.
        if (hasStartRequest(vm) || vm.status?.runStrategy !== strategy) return this.startAfterBackoff(vm, ctx);
        return done();
      case 'Once':
        // Started when there is no VMI; a finished one stays, so the VM does not run again.
        if (!vmi) await this.startVMI(vm, ctx);
        return done();
      case 'Manual':
        if (vmi && hasStopRequestForVMI(vm, vmi)) await this.stopVMI(vmi, ctx, 'on a stop request');
        else if (!vmi && hasStartRequest(vm)) await this.startVMI(vm, ctx);
        return done();
      case 'Halted':
        if (vmi) await this.stopVMI(vmi, ctx, 'as its runStrategy is Halted');
        return done();
      case 'WaitAsReceiver':
        return done();
    }
  }

  /**
   * virt-controller's handleVolumeRequests: each pending addvolume / removevolume goes into the VM's template
   * (the spec is updated, so the disk survives a restart) and into the running VMI, where hot-plug acts on it.
   */
  private async applyVolumeRequests(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined, ctx: ReconcileContext): Promise<void> {
    const requests = vm.status?.volumeRequests ?? [];
    if (requests.length === 0) return;
    applyVolumeRequestsToTemplate(vm);
    if (!vmi?.spec || vmi.metadata.deletionTimestamp || isFinal(vmi)) return;
    let spec = vmi.spec;
    for (const request of requests) {
      const name = request.addVolumeOptions?.name ?? request.removeVolumeOptions?.name ?? '';
      const present = spec.volumes?.some((v) => v.name === name) === true;
      if (request.addVolumeOptions ? present : !present) continue;
      const ops = vmiVolumePatch(spec, request);
      try {
        const patched = await ctx.client.jsonPatch<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: vmi.metadata.namespace, name: vmi.metadata.name ?? '' }, ops);
        spec = patched.spec ?? spec;
      } catch (err) {
        throw new Error(`hot-plug volume ${name} into VMI ${ctx.key}: ${(err as Error).message}`, { cause: err });
      }
    }
  }

  /** Starts the VMI unless the crash-loop backoff still runs; then looks again when it ends (a timer, not a watch). */
  private async startAfterBackoff(vm: VirtualMachine, ctx: ReconcileContext): Promise<Result> {
    const wait = startBackoffLeftMs(vm);
    if (wait > 0) return requeueAfter(wait);
    await this.startVMI(vm, ctx);
    return done();
  }

  private async startVMI(vm: VirtualMachine, ctx: ReconcileContext): Promise<void> {
    const template = vm.spec?.template ?? {};
    const vmi: VirtualMachineInstance = {
      ...VIRTUAL_MACHINE_INSTANCE_TYPE,
      metadata: {
        name: vm.metadata.name ?? '',
        namespace: vm.metadata.namespace,
        labels: { ...template.metadata?.labels },
        annotations: { ...template.metadata?.annotations, 'kubevirt.io/vm-generation': String(vm.metadata.generation ?? 1) },
        ownerReferences: [ownerReferenceTo({ ...VIRTUAL_MACHINE_TYPE, ...vm }, { controller: true })],
        // Lets this controller see the VMI's final state before the VMI can disappear.
        finalizers: [VM_CONTROLLER_FINALIZER],
      },
      ...(template.spec ? { spec: template.spec } : {}),
    };
    try {
      await ctx.client.create(vmi);
      ctx.events.normal('SuccessfulCreate', 'StartVirtualMachine', `Started the virtual machine by creating the new virtual machine instance ${vmi.metadata.name ?? ''}`);
    } catch (err) {
      if (isAlreadyExists(err)) return;
      ctx.events.warning('FailedCreate', 'StartVirtualMachine', `Error creating virtual machine instance: ${(err as Error).message}`);
      throw new Error(`create VMI of VM ${ctx.key}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async stopVMI(vmi: VirtualMachineInstance, ctx: ReconcileContext, why: string): Promise<void> {
    const name = vmi.metadata.name ?? '';
    await ctx.client.delete(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: vmi.metadata.namespace, name }, { preconditions: { uid: vmi.metadata.uid ?? '' } });
    ctx.events.normal('SuccessfulDelete', 'StopVirtualMachine', `Stopped the virtual machine by deleting the virtual machine instance ${name} (${why})`);
  }

  /** Drops our finalizer from a finished VMI: its final state is recorded on the VM. */
  private async releaseVMI(vmi: VirtualMachineInstance, ctx: ReconcileContext): Promise<void> {
    if (!hasFinalizer(vmi, VM_CONTROLLER_FINALIZER)) return;
    const copy = structuredClone(vmi);
    removeFinalizer(copy, VM_CONTROLLER_FINALIZER);
    try {
      await ctx.client.mergePatch(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: vmi.metadata.namespace, name: vmi.metadata.name ?? '' }, {
        metadata: { resourceVersion: vmi.metadata.resourceVersion, finalizers: copy.metadata.finalizers ?? [] },
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  private async reconcileDelete(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined, ctx: ReconcileContext): Promise<Result> {
    if (vmi) {
      if (!vmi.metadata.deletionTimestamp) await this.stopVMI(vmi, ctx, 'as the VM is being deleted');
      if (isFinal(vmi)) await this.releaseVMI(vmi, ctx);
      updateVMStatus(vm, vmi, { ready: true, failed: [], dataVolumes: [] }, false);
      return done(); // the VMI's disappearance brings us back
    }
    removeFinalizer(vm, VM_CONTROLLER_FINALIZER);
    return done();
  }
}
