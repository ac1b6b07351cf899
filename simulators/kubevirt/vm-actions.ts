// What virt-api's lifecycle and hot-plug subresources write, as pure functions of the VM and VMI they read: the
// JSON patches for start / stop / restart (runStrategy or status.stateChangeRequests, with the test operations
// that make a concurrent change fail instead of being overwritten), and the volume requests of addvolume /
// removevolume with virt-api's validation. Refusals are StatusErrors carrying virt-api's messages.
import type { JsonPatchOperation } from '../../lib/kube/client.js';
import type { RunStrategy, VirtualMachine, VirtualMachineInstance, VirtualMachineInstanceSpec, VirtualMachineVolumeRequest, Volume } from '../../lib/apis/kubevirt.js';
import { badRequest, conflict, internalError } from './subresource-api.js';
import { runStrategyOf } from './vm-status.js';

export const VM_NOT_RUNNING = 'VM is not running';
export const VMI_NOT_RUNNING = 'VMI is not running';

interface StateChange {
  action: 'Start' | 'Stop';
  uid?: string;
}

/** A patch virt-api sends: to the VM's spec or to its status subresource. */
export interface VmPatch {
  subresource: 'spec' | 'status';
  ops: JsonPatchOperation[];
}

const isFinal = (vmi: VirtualMachineInstance): boolean => vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed';

const RESOURCE_VERSION_PATH = '/metadata/resourceVersion';

/**
 * The ops that add one member to a VM's status. JSON patch cannot test that a path is absent, and an add of /status
 * replaces whatever status was written after the VM was read (the VM controller's first one, say): so a VM read
 * without a status gets a test of its resourceVersion before that add, and a VM with a status gets only the member.
 */
export function addStatusMember(vm: VirtualMachine, member: 'stateChangeRequests' | 'volumeRequests', value: unknown): JsonPatchOperation[] {
  if (vm.status) return [{ op: 'add', path: `/status/${member}`, value }];
  return [
    { op: 'test', path: RESOURCE_VERSION_PATH, value: vm.metadata.resourceVersion },
    { op: 'add', path: '/status', value: { [member]: value } },
  ];
}

/** True for a patch built from a VM read without a status: its failed test says only that the VM changed since. */
export const guardsResourceVersion = (ops: JsonPatchOperation[]): boolean => ops.some((o) => o.op === 'test' && o.path === RESOURCE_VERSION_PATH);

/** getChangeRequestJson: append the requests, or replace them with a lone Stop; anything else is a conflict. */
export function stateChangePatch(vm: VirtualMachine, changes: StateChange[]): VmPatch {
  const ops: JsonPatchOperation[] = [];
  const current = vm.status?.stateChangeRequests;
  if (!current || current.length === 0) {
    ops.push(...addStatusMember(vm, 'stateChangeRequests', changes));
  } else if (changes.length === 1 && changes[0]?.action === 'Stop') {
    ops.push({ op: 'test', path: '/status/stateChangeRequests', value: current }, { op: 'replace', path: '/status/stateChangeRequests', value: changes });
  } else {
    throw internalError('unable to complete request: stop/start already underway');
  }
  if (vm.status?.startFailure) ops.push({ op: 'remove', path: '/status/startFailure' });
  return { subresource: 'status', ops };
}

/** getRunningPatch: flips runStrategy (Always / Halted), or the older spec.running, guarded by a test. */
export function runningPatch(vm: VirtualMachine, running: boolean): VmPatch {
  if (vm.spec?.runStrategy !== undefined) {
    return {
      subresource: 'spec',
      ops: [
        { op: 'test', path: '/spec/runStrategy', value: vm.spec.runStrategy },
        { op: 'replace', path: '/spec/runStrategy', value: running ? 'Always' : 'Halted' },
      ],
    };
  }
  return {
    subresource: 'spec',
    ops: [
      { op: vm.spec?.running === undefined ? 'add' : 'replace', path: '/spec/running', value: running },
    ],
  };
}

export function startPatch(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined): VmPatch {
  const name = vm.metadata.name ?? '';
  if (vmi && !isFinal(vmi) && vmi.status?.phase !== undefined && vmi.status.phase !== 'Unknown') throw conflict('virtualmachine', name, 'VM is already running');
  const strategy = runStrategyOf(vm);
  switch (strategy) {
    case 'Halted':
      return runningPatch(vm, true);
    case 'RerunOnFailure':
    case 'Manual': {
      if (strategy === 'RerunOnFailure' && vmi?.status?.phase === 'Failed') throw conflict('virtualmachine', name, 'RerunOnFailure does not support starting VM from failed state');
      const restart = vmi !== undefined && (strategy === 'Manual' ? isFinal(vmi) : vmi.status?.phase === 'Succeeded');
      return stateChangePatch(vm, restart ? [{ action: 'Stop', uid: vmi.metadata.uid ?? '' }, { action: 'Start' }] : [{ action: 'Start' }]);
    }
    default:
      throw conflict('virtualmachine', name, `${strategy} does not support manual start requests`);
  }
}

export interface StopOptions {
  gracePeriod?: number;
  dryRun?: string[];
}

export function stopPatch(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined, opts: StopOptions): VmPatch {
  const name = vm.metadata.name ?? '';
  const running = vmi !== undefined && !isFinal(vmi);
  const strategy = runStrategyOf(vm);
  switch (strategy) {
    case 'Halted': {
      if (!running) throw conflict('virtualmachine', name, VM_NOT_RUNNING);
      const old = vmi.spec?.terminationGracePeriodSeconds;
      if (opts.gracePeriod === undefined || (old !== undefined && opts.gracePeriod >= old)) {
        throw conflict('virtualmachine', name, 'Halted only supports manual stop requests with a shorter graceperiod');
      }
      return stateChangePatch(vm, [{ action: 'Stop', uid: vmi.metadata.uid ?? '' }]);
    }
    case 'RerunOnFailure':
    case 'Manual':
      if (!running) throw conflict('virtualmachine', name, VM_NOT_RUNNING);
      return stateChangePatch(vm, [{ action: 'Stop', uid: vmi.metadata.uid ?? '' }]);
    default:
      return runningPatch(vm, false);
  }
}

export interface RestartOptions {
  gracePeriodSeconds?: number;
  dryRun?: string[];
}

/** A restart is a Stop for the current VMI followed by a Start; only gracePeriodSeconds 0 (force) is accepted. */
export function restartPatch(vm: VirtualMachine, vmi: VirtualMachineInstance | undefined, opts: RestartOptions): VmPatch {
  const name = vm.metadata.name ?? '';
  if (opts.gracePeriodSeconds !== undefined && opts.gracePeriodSeconds > 0) throw badRequest('For force restart, only gracePeriod=0 is supported for now');
  if (opts.gracePeriodSeconds !== undefined && opts.gracePeriodSeconds < 0) throw badRequest('gracePeriod has to be greater or equal to 0');
  const strategy: RunStrategy = runStrategyOf(vm);
  // "RunStategy" is virt-api's own spelling.
  if (strategy === 'Halted' || strategy === 'Once') throw conflict('virtualmachine', name, `RunStategy ${strategy} does not support manual restart requests`);
  if (!vmi) throw conflict('virtualmachine', name, 'VM is not running: Halted');
  return stateChangePatch(vm, [{ action: 'Stop', uid: vmi.metadata.uid ?? '' }, { action: 'Start' }]);
}

const sourceName = (v: Volume | NonNullable<VirtualMachineVolumeRequest['addVolumeOptions']>['volumeSource']): string | undefined =>
  v.dataVolume?.name ?? v.persistentVolumeClaim?.claimName;
const hotpluggable = (v: Volume): boolean => v.dataVolume?.hotpluggable === true || v.persistentVolumeClaim?.hotpluggable === true;

/** virt-api's verifyVolumeOption against the volumes the request would change; the message is its error. */
export function verifyVolumeRequest(volumes: readonly Volume[], request: VirtualMachineVolumeRequest): string | undefined {
  const add = request.addVolumeOptions;
  const remove = request.removeVolumeOptions;
  for (const volume of volumes) {
    if (add) {
      const source = sourceName(add.volumeSource);
      if (volume.name === add.name) return `Unable to add volume [${add.name}] because volume with that name already exists`;
      if (source !== undefined && sourceName(volume) === source) return `Unable to add volume source [${source}] because it already exists`;
    } else if (remove && (volume.name === remove.name || sourceName(volume) === remove.name)) {
      return hotpluggable(volume) ? undefined : `Unable to remove volume [${volume.name}] because it is not hotpluggable`;
    }
  }
  return remove ? `Unable to remove volume [${remove.name}] because it does not exist` : undefined;
}

/**
 * The addvolume / removevolume body, validated as virt-api does before it looks at the VM; the add options come
 * back with the disk named after the volume and the source marked hotpluggable.
 */
export function volumeRequestOf(kind: 'add' | 'remove', body: Record<string, unknown> | undefined): VirtualMachineVolumeRequest {
  if (!body) throw badRequest('Request with no body, a new name is expected as the request body');
  const name = typeof body.name === 'string' ? body.name : '';
  if (kind === 'remove') {
    if (!name) throw badRequest('RemoveVolumeOptions requires name to be set');
    return { removeVolumeOptions: { name, ...(Array.isArray(body.dryRun) ? { dryRun: body.dryRun as string[] } : {}) } };
  }
  const add = body as Partial<NonNullable<VirtualMachineVolumeRequest['addVolumeOptions']>>;
  if (!name) throw badRequest('AddVolumeOptions requires name to be set');
  if (!add.disk) throw badRequest('AddVolumeOptions requires disk to not be nil');
  if (!add.volumeSource) throw badRequest('AddVolumeOptions requires VolumeSource to not be nil');
  const source = add.volumeSource;
  return {
    addVolumeOptions: {
      name,
      disk: { ...add.disk, name },
      volumeSource: source.dataVolume
        ? { dataVolume: { ...source.dataVolume, hotpluggable: true } }
        : source.persistentVolumeClaim
          ? { persistentVolumeClaim: { ...source.persistentVolumeClaim, hotpluggable: true } }
          : {},
      ...(add.dryRun ? { dryRun: add.dryRun } : {}),
    },
  };
}

/** ApplyVolumeRequestOnVMISpec: the spec with the volume (and its disk) added or removed, by name. */
export function applyVolumeRequest(spec: VirtualMachineInstanceSpec, request: VirtualMachineVolumeRequest): VirtualMachineInstanceSpec {
  const next = structuredClone(spec);
  const volumes = next.volumes ?? [];
  const disks = next.domain.devices.disks ?? [];
  const add = request.addVolumeOptions;
  const remove = request.removeVolumeOptions;
  if (add && !volumes.some((v) => v.name === add.name)) {
    const source = add.volumeSource;
    volumes.push({
      name: add.name,
      ...(source.persistentVolumeClaim ? { persistentVolumeClaim: { ...source.persistentVolumeClaim, hotpluggable: true } } : {}),
      ...(!source.persistentVolumeClaim && source.dataVolume ? { dataVolume: { ...source.dataVolume, hotpluggable: true } } : {}),
    });
    disks.push({ ...add.disk, name: add.name });
  }
  next.volumes = remove ? volumes.filter((v) => v.name !== remove.name) : volumes;
  next.domain.devices.disks = remove ? disks.filter((d) => d.name !== remove.name) : disks;
  return next;
}

/** The VMI patch of an ephemeral (VMI-level) hot-plug: the new volumes and disks, guarded by tests of the old. */
export function vmiVolumePatch(spec: VirtualMachineInstanceSpec, request: VirtualMachineVolumeRequest): JsonPatchOperation[] {
  const next = applyVolumeRequest(spec, request);
  const put = (path: string, before: unknown[] | undefined, after: unknown[] | undefined): JsonPatchOperation[] =>
    before && before.length > 0
      ? [
          { op: 'test', path, value: before },
          { op: 'replace', path, value: after ?? [] },
        ]
      : [{ op: 'add', path, value: after ?? [] }];
  return [...put('/spec/volumes', spec.volumes, next.volumes), ...put('/spec/domain/devices/disks', spec.domain.devices.disks, next.domain.devices.disks)];
}

/** addAddVolumeRequests / addRemoveVolumeRequests: the VM's pending requests with this one recorded. */
export function withVolumeRequest(vm: VirtualMachine, request: VirtualMachineVolumeRequest): VirtualMachineVolumeRequest[] {
  const existing = vm.status?.volumeRequests ?? [];
  const add = request.addVolumeOptions;
  const remove = request.removeVolumeOptions;
  if (add) {
    for (const r of existing) {
      if (r.addVolumeOptions?.name === add.name) throw conflict('virtualmachine', vm.metadata.name ?? '', `add volume request for volume [${add.name}] already exists`);
      if (r.removeVolumeOptions?.name === add.name) {
        throw conflict('virtualmachine', vm.metadata.name ?? '', `unable to add volume since a remove volume request for volume [${add.name}] already exists and is still being processed`);
      }
    }
    return [...existing, request];
  }
  const name = remove?.name ?? '';
  if (existing.some((r) => r.removeVolumeOptions?.name === name)) {
    throw conflict('virtualmachine', vm.metadata.name ?? '', `a remove volume request for volume [${name}] already exists and is still being processed`);
  }
  return [...existing.filter((r) => r.addVolumeOptions?.name !== name), request];
}

export function isDryRun(opts: { dryRun?: string[] | undefined } | undefined): boolean {
  return opts?.dryRun?.[0] === 'All';
}

