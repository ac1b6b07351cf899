import { expect } from 'chai';
import type { RunStrategy, VirtualMachine, VirtualMachineInstance, VirtualMachineInstanceSpec } from '../../lib/apis/kubevirt.js';
import { StatusError } from './subresource-api.js';
import { addStatusMember, applyVolumeRequest, guardsResourceVersion, restartPatch, startPatch, stopPatch, verifyVolumeRequest, vmiVolumePatch, volumeRequestOf, withVolumeRequest } from './vm-actions.js';

const vm = (runStrategy: RunStrategy | undefined, status: VirtualMachine['status'] = { printableStatus: 'Stopped' }): VirtualMachine => ({
  metadata: { name: 'vm1', namespace: 'ns' },
  spec: { ...(runStrategy ? { runStrategy } : { running: false }), template: { spec: { domain: { devices: {} } } } },
  status,
});
const vmi = (phase: NonNullable<VirtualMachineInstance['status']>['phase']): VirtualMachineInstance => ({ metadata: { name: 'vm1', uid: 'uid-1' }, status: { phase } });

function refusal(fn: () => unknown): { code: number; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof StatusError) return { code: err.code, message: err.body.message };
    throw err;
  }
  throw new Error('no refusal');
}

describe('virt-api lifecycle patches', () => {
  it('starts a Halted VM by flipping runStrategy to Always, guarded by a test', () => {
    expect(startPatch(vm('Halted'), undefined)).to.deep.equal({
      subresource: 'spec',
      ops: [
        { op: 'test', path: '/spec/runStrategy', value: 'Halted' },
        { op: 'replace', path: '/spec/runStrategy', value: 'Always' },
      ],
    });
  });

  it('starts a Manual VM with a Start request, and restarts a finished one with Stop then Start', () => {
    expect(startPatch(vm('Manual'), undefined).ops).to.deep.equal([{ op: 'add', path: '/status/stateChangeRequests', value: [{ action: 'Start' }] }]);
    expect(startPatch(vm('Manual'), vmi('Succeeded')).ops[0]?.value).to.deep.equal([{ action: 'Stop', uid: 'uid-1' }, { action: 'Start' }]);
  });

  it('refuses what virt-api refuses, with its codes and messages', () => {
    expect(refusal(() => startPatch(vm('Always'), vmi('Running')))).to.deep.equal({ code: 409, message: 'Operation cannot be fulfilled on virtualmachine.kubevirt.io "vm1": VM is already running' });
    expect(refusal(() => startPatch(vm('Always'), undefined)).message).to.match(/Always does not support manual start requests$/);
    expect(refusal(() => startPatch(vm('RerunOnFailure'), vmi('Failed'))).message).to.match(/RerunOnFailure does not support starting VM from failed state$/);
    expect(refusal(() => stopPatch(vm('Manual'), undefined, {})).message).to.match(/: VM is not running$/);
    expect(refusal(() => stopPatch(vm('Halted'), vmi('Running'), {})).message).to.match(/Halted only supports manual stop requests with a shorter graceperiod$/);
    expect(refusal(() => restartPatch(vm('Halted'), undefined, {})).message).to.match(/RunStategy Halted does not support manual restart requests$/);
    expect(refusal(() => restartPatch(vm('Always'), undefined, {})).message).to.match(/VM is not running: Halted$/);
    expect(refusal(() => restartPatch(vm('Always'), vmi('Running'), { gracePeriodSeconds: 5 }))).to.deep.equal({ code: 400, message: 'For force restart, only gracePeriod=0 is supported for now' });
    expect(refusal(() => restartPatch(vm('Always'), vmi('Running'), { gracePeriodSeconds: -1 })).code).to.equal(400);
  });

  it('stops an Always VM through runStrategy and a Manual VM through a Stop request for its VMI', () => {
    expect(stopPatch(vm('Always'), vmi('Running'), {}).ops[1]).to.deep.equal({ op: 'replace', path: '/spec/runStrategy', value: 'Halted' });
    const running: VirtualMachine = { ...vm(undefined), spec: { running: true, template: {} } };
    expect(stopPatch(running, vmi('Running'), {}).ops).to.deep.equal([{ op: 'replace', path: '/spec/running', value: false }]);
    expect(stopPatch(vm('Manual'), vmi('Running'), {}).ops).to.deep.equal([{ op: 'add', path: '/status/stateChangeRequests', value: [{ action: 'Stop', uid: 'uid-1' }] }]);
  });

  it('restarts with Stop then Start, replacing nothing already queued and clearing a start failure', () => {
    const patch = restartPatch(vm('Always', { startFailure: { consecutiveFailCount: 2 } }), vmi('Running'), {});
    expect(patch).to.deep.equal({
      subresource: 'status',
      ops: [
        { op: 'add', path: '/status/stateChangeRequests', value: [{ action: 'Stop', uid: 'uid-1' }, { action: 'Start' }] },
        { op: 'remove', path: '/status/startFailure' },
      ],
    });
    const busy = vm('Always', { stateChangeRequests: [{ action: 'Start' }] });
    expect(refusal(() => restartPatch(busy, vmi('Running'), {}))).to.deep.equal({ code: 500, message: 'Internal error occurred: unable to complete request: stop/start already underway' });
    // A lone Stop replaces whatever was queued.
    expect(stopPatch(vm('Manual', { stateChangeRequests: [{ action: 'Start' }] }), vmi('Running'), {}).ops[1]).to.deep.equal({
      op: 'replace',
      path: '/status/stateChangeRequests',
      value: [{ action: 'Stop', uid: 'uid-1' }],
    });
  });
});

describe('virt-api status writes', () => {
  it('adds /status to a VM read without one only if the VM has not changed since, and only a member to an existing status', () => {
    const bare: VirtualMachine = { metadata: { name: 'vm1', resourceVersion: '41' }, spec: { template: {} } };
    const bareOps = addStatusMember(bare, 'stateChangeRequests', [{ action: 'Start' }]);
    expect(bareOps).to.deep.equal([
      { op: 'test', path: '/metadata/resourceVersion', value: '41' },
      { op: 'add', path: '/status', value: { stateChangeRequests: [{ action: 'Start' }] } },
    ]);
    expect(guardsResourceVersion(bareOps)).to.equal(true);
    const empty = addStatusMember({ ...bare, status: {} }, 'volumeRequests', []);
    expect(empty).to.deep.equal([{ op: 'add', path: '/status/volumeRequests', value: [] }]);
    expect(guardsResourceVersion(empty)).to.equal(false);
    expect(startPatch(vm('Manual', {}), undefined).ops, 'an empty status is kept, not replaced').to.deep.equal([{ op: 'add', path: '/status/stateChangeRequests', value: [{ action: 'Start' }] }]);
  });
});

describe('virt-api hot-plug requests', () => {
  const spec = (): VirtualMachineInstanceSpec => ({
    domain: { devices: { disks: [{ name: 'root', disk: { bus: 'virtio' } }] } },
    volumes: [
      { name: 'root', containerDisk: { image: 'fedora' } },
      { name: 'data', persistentVolumeClaim: { claimName: 'data-pvc', hotpluggable: true } },
    ],
  });

  it('validates the body as virt-api does before looking at the VM', () => {
    expect(refusal(() => volumeRequestOf('add', undefined)).message).to.equal('Request with no body, a new name is expected as the request body');
    expect(refusal(() => volumeRequestOf('add', {})).message).to.equal('AddVolumeOptions requires name to be set');
    expect(refusal(() => volumeRequestOf('add', { name: 'x' })).message).to.equal('AddVolumeOptions requires disk to not be nil');
    expect(refusal(() => volumeRequestOf('add', { name: 'x', disk: {} })).message).to.equal('AddVolumeOptions requires VolumeSource to not be nil');
    expect(refusal(() => volumeRequestOf('remove', {})).message).to.equal('RemoveVolumeOptions requires name to be set');
  });

  it('names the disk after the volume and marks the source hotpluggable', () => {
    const request = volumeRequestOf('add', { name: 'scratch', disk: { disk: { bus: 'scsi' }, serial: 'SER1' }, volumeSource: { persistentVolumeClaim: { claimName: 'scratch-pvc' } } });
    expect(request.addVolumeOptions).to.deep.equal({
      name: 'scratch',
      disk: { name: 'scratch', disk: { bus: 'scsi' }, serial: 'SER1' },
      volumeSource: { persistentVolumeClaim: { claimName: 'scratch-pvc', hotpluggable: true } },
    });
  });

  it("refuses duplicates and removals of what is missing or not hotpluggable, with virt-api's messages", () => {
    const add = (name: string, claimName: string) => volumeRequestOf('add', { name, disk: {}, volumeSource: { persistentVolumeClaim: { claimName } } });
    expect(verifyVolumeRequest(spec().volumes ?? [], add('data', 'other'))).to.equal('Unable to add volume [data] because volume with that name already exists');
    expect(verifyVolumeRequest(spec().volumes ?? [], add('other', 'data-pvc'))).to.equal('Unable to add volume source [data-pvc] because it already exists');
    expect(verifyVolumeRequest(spec().volumes ?? [], add('new', 'new-pvc'))).to.equal(undefined);
    expect(verifyVolumeRequest(spec().volumes ?? [], { removeVolumeOptions: { name: 'root' } })).to.equal('Unable to remove volume [root] because it is not hotpluggable');
    expect(verifyVolumeRequest(spec().volumes ?? [], { removeVolumeOptions: { name: 'ghost' } })).to.equal('Unable to remove volume [ghost] because it does not exist');
    expect(verifyVolumeRequest(spec().volumes ?? [], { removeVolumeOptions: { name: 'data-pvc' } })).to.equal(undefined);
  });

  it('adds and removes a volume with its disk, leaving the others alone', () => {
    const request = volumeRequestOf('add', { name: 'new', disk: { serial: 'S' }, volumeSource: { dataVolume: { name: 'new-dv' } } });
    const added = applyVolumeRequest(spec(), request);
    expect(added.volumes?.map((v) => v.name)).to.deep.equal(['root', 'data', 'new']);
    expect(added.volumes?.[2]).to.deep.equal({ name: 'new', dataVolume: { name: 'new-dv', hotpluggable: true } });
    expect(added.domain.devices.disks?.[1]).to.deep.equal({ name: 'new', serial: 'S' });
    expect(applyVolumeRequest(added, request)).to.deep.equal(added);
    const removed = applyVolumeRequest(added, { removeVolumeOptions: { name: 'new' } });
    expect(removed).to.deep.equal(spec());
  });

  it('patches a VMI with tests of the old volumes and disks, so a concurrent change fails', () => {
    const ops = vmiVolumePatch(spec(), { removeVolumeOptions: { name: 'data' } });
    expect(ops.map((o) => `${o.op} ${o.path}`)).to.deep.equal(['test /spec/volumes', 'replace /spec/volumes', 'test /spec/domain/devices/disks', 'replace /spec/domain/devices/disks']);
  });

  it('queues VM volume requests, dropping an add the remove cancels and refusing duplicates', () => {
    const add = volumeRequestOf('add', { name: 'x', disk: {}, volumeSource: { persistentVolumeClaim: { claimName: 'x' } } });
    const queued = vm('Always', { volumeRequests: [add] });
    expect(refusal(() => withVolumeRequest(queued, add)).message).to.match(/add volume request for volume \[x\] already exists$/);
    expect(withVolumeRequest(queued, { removeVolumeOptions: { name: 'x' } })).to.deep.equal([{ removeVolumeOptions: { name: 'x' } }]);
  });
});
