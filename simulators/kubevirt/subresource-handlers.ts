// virt-api's subresource handlers over the management cluster: lifecycle (start / stop / restart / migrate) and
// hot-plug (addvolume / removevolume) write what virt-api writes and leave the rest to the controllers; the guest
// agent reads and the streams (console, port-forward) reach the guest the way virt-handler and virt-api do.
// Every refusal is a StatusError with virt-api's code and message.
import { createSocket } from 'node:dgram';
import { stat } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { ApiError } from '../../lib/kube/api-error.js';
import type { Client, JsonPatchOperation } from '../../lib/kube/client.js';
import {
  VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE,
  VIRTUAL_MACHINE_INSTANCE_TYPE,
  VIRTUAL_MACHINE_TYPE,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VirtualMachineInstanceMigration,
  VMI_AGENT_CONNECTED_CONDITION,
  type VirtualMachineVolumeRequest,
} from '../../lib/apis/kubevirt.js';
import { POD } from '../../localcloud/cluster/pod-api.js';
import { conditionIs } from './conditions.js';
import type { ConsoleTarget } from './console-stream.js';
import { COMPUTE_CONTAINER, type LauncherPod } from './launcher-pod.js';
import { GUEST_SERIAL_SOCKET, guestCommand, launcherPrivatePath, type LauncherRuntime } from './launcher-runtime.js';
import { APP_LABEL, CREATED_BY_LABEL, LAUNCHER_APP } from './labels.js';
import { badRequest, conflict, decodeOptions, internalError, notFound, StatusError, type VmSubresource } from './subresource-api.js';
import {
  addStatusMember,
  guardsResourceVersion,
  isDryRun,
  restartPatch,
  startPatch,
  stopPatch,
  verifyVolumeRequest,
  VMI_NOT_RUNNING,
  VM_NOT_RUNNING,
  vmiVolumePatch,
  volumeRequestOf,
  withVolumeRequest,
  type RestartOptions,
  type StopOptions,
  type VmPatch,
} from './vm-actions.js';
import { currentPod } from './vmi-status.js';

/**
 * How a test operation of a JSON patch fails at the apiserver (422 with json-patch's message): a value that differs,
 * or a path that is gone. Either way the object changed after we read it.
 */
const FAILED_TEST = /testing value \S+ failed|test operation does not apply/;
const isFailedTest = (err: unknown): boolean => err instanceof ApiError && err.status === 422 && FAILED_TEST.test(err.body?.message ?? err.message);
/** Reads and patches of a VM whose status appeared in between: a second read finds it, a third is plenty. */
const FRESH_READ_ATTEMPTS = 3;

export interface HandlerDeps {
  client: Client;
  runtime: LauncherRuntime | undefined;
}

/** What a handler answers: 202 for accepted actions, 200 with a body for reads. */
export interface Answer {
  code: number;
  body?: unknown;
}

const accepted: Answer = { code: 202 };

export class SubresourceHandlers {
  constructor(private readonly deps: HandlerDeps) {}

  async vm(subresource: VmSubresource, namespace: string, name: string, body: string): Promise<Answer> {
    switch (subresource) {
      case 'start':
        decodeOptions(body);
        return this.patchVM(namespace, name, (vm, vmi) => startPatch(vm, vmi), undefined);
      case 'stop': {
        const opts: StopOptions = decodeOptions(body) ?? {};
        return this.patchVM(namespace, name, (vm, vmi) => stopPatch(vm, vmi, opts), opts, async (vmi) => {
          if (opts.gracePeriod === undefined || !vmi || isFinalVMI(vmi)) return;
          // A shorter grace period takes effect on the running VMI before it is asked to stop.
          await this.deps.client.mergePatch(VIRTUAL_MACHINE_INSTANCE_TYPE, refOf(vmi), { spec: { terminationGracePeriodSeconds: opts.gracePeriod } }, { dryRun: isDryRun(opts) });
        });
      }
      case 'restart': {
        const opts: RestartOptions = decodeOptions(body) ?? {};
        const answer = await this.patchVM(namespace, name, (vm, vmi) => restartPatch(vm, vmi, opts), opts);
        if (opts.gracePeriodSeconds === 0 && !isDryRun(opts)) await this.forceRestart(namespace, name);
        return answer;
      }
      case 'migrate':
        return this.migrate(namespace, name, decodeOptions(body) ?? {});
      case 'addvolume':
      case 'removevolume':
        return this.vmVolume(namespace, name, volumeRequestOf(subresource === 'addvolume' ? 'add' : 'remove', decodeOptions(body)));
    }
  }

  async vmiVolume(subresource: 'addvolume' | 'removevolume', namespace: string, name: string, body: string): Promise<Answer> {
    const request = volumeRequestOf(subresource === 'addvolume' ? 'add' : 'remove', decodeOptions(body));
    const vmi = await this.getVMI(namespace, name);
    if (vmi.status?.phase !== 'Running' || !vmi.spec) throw conflict('virtualmachineinstance', name, VMI_NOT_RUNNING);
    const refusal = verifyVolumeRequest(vmi.spec.volumes ?? [], request);
    if (refusal) throw conflict('virtualmachineinstance', name, refusal);
    try {
      await this.deps.client.jsonPatch(VIRTUAL_MACHINE_INSTANCE_TYPE, refOf(vmi), vmiVolumePatch(vmi.spec, request), { dryRun: isDryRun(optionsOf(request)) });
    } catch (err) {
      throw passInvalid(err) ?? internalError(`unable to patch vmi: ${(err as Error).message}`);
    }
    return accepted;
  }

  /** guestosinfo, userlist, filesystemlist: from the guest agent, once virt-handler has seen it connected. */
  async guestAgent(what: 'guestosinfo' | 'userlist' | 'filesystemlist', namespace: string, name: string): Promise<Answer> {
    const vmi = await this.getVMI(namespace, name);
    if (vmi.status?.phase !== 'Running') throw conflict('virtualmachineinstance', name, VMI_NOT_RUNNING);
    if (!conditionIs(vmi, VMI_AGENT_CONNECTED_CONDITION, 'True')) throw conflict('virtualmachineinstance', name, 'VMI does not have guest agent connected');
    const pid = await this.guestPid(vmi);
    try {
      switch (what) {
        case 'guestosinfo':
          return { code: 200, body: await guestCommand(pid, 'guest-info') };
        case 'userlist':
          return { code: 200, body: { metadata: {}, items: await guestCommand(pid, 'guest-get-users') } };
        case 'filesystemlist':
          return { code: 200, body: { metadata: {}, items: await guestCommand(pid, 'guest-get-fsinfo') } };
      }
    } catch (err) {
      throw internalError((err as Error).message);
    }
  }

  /**
   * The serial console: the guest's serial port, dialed as virt-handler dials virt-serial0 in the launcher's private
   * directory, with what the guest printed while it booted (its launcher container's output) to show first. The VMI
   * must be running and have a serial console.
   */
  async consoleTarget(namespace: string, name: string): Promise<ConsoleTarget> {
    const vmi = await this.getVMI(namespace, name);
    if (vmi.spec?.domain.devices.autoattachSerialConsole === false) throw badRequest('No serial consoles are present.');
    if (vmi.status?.phase === 'Failed') throw conflict('virtualmachineinstance', name, 'VMI is in failed status');
    if (vmi.status?.phase !== 'Running') throw badRequest(VMI_NOT_RUNNING);
    const pod = await this.launcherPod(vmi);
    const run = this.deps.runtime?.containerRun(namespace, pod.metadata.name ?? '', COMPUTE_CONTAINER);
    if (!run) throw badRequest(`Unable to connect to VirtualMachineInstance ${name}: no virt-handler reaches its launcher pod`);
    const serial = launcherPrivatePath(run.process.pid, GUEST_SERIAL_SOCKET);
    // Checked before the upgrade, as virt-handler does, so a guest without a serial port is an HTTP answer.
    const served = await stat(serial).then((st) => st.isSocket(), () => false);
    if (!served) throw badRequest(`Failed finding unix socket for serial console: no ${GUEST_SERIAL_SOCKET} in the launcher pod of VirtualMachineInstance ${name}`);
    return { bootLog: run.logFile, serial };
  }

  /** virt-api dials the VMI's first interface address itself: the port as the guest listens on it. */
  async dialGuest(namespace: string, name: string, port: number, protocol: 'tcp' | 'udp'): Promise<GuestConnection> {
    const vmi = await this.getVMI(namespace, name);
    if (conditionIs(vmi, 'Paused', 'True')) throw conflict('virtualmachineinstance', name, 'VMI is paused');
    const ip = vmi.status?.interfaces?.[0]?.ipAddress;
    if (!ip) throw badRequest('no network interfaces are present');
    try {
      return protocol === 'tcp' ? await dialTcp(ip, port) : await dialUdp(ip, port);
    } catch (err) {
      throw internalError(`dialing VM: ${(err as Error).message}`);
    }
  }

  private async patchVM(
    namespace: string,
    name: string,
    build: (vm: VirtualMachine, vmi: VirtualMachineInstance | undefined) => VmPatch,
    opts: { dryRun?: string[] | undefined } | undefined,
    before?: (vmi: VirtualMachineInstance | undefined) => Promise<void>,
  ): Promise<Answer> {
    try {
      await this.sendVMPatch(namespace, name, isDryRun(opts), async (vm) => {
        const vmi = await this.deps.client.get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace, name }, { direct: true });
        const patch = build(vm, vmi);
        await before?.(vmi);
        return patch;
      });
    } catch (err) {
      if (err instanceof StatusError) throw err;
      if (isFailedTest(err)) throw conflict('virtualmachine', name, (err as Error).message);
      throw internalError((err as Error).message);
    }
    return accepted;
  }

  /**
   * Reads the VM, builds its patch from what it read and sends it. A patch guarded by the resourceVersion of a VM
   * read without a status (addStatusMember) fails whenever the VM changed, so it is built again from a fresh read;
   * any other failed test is the caller's conflict, as virt-api answers it.
   */
  private async sendVMPatch(namespace: string, name: string, dryRun: boolean, build: (vm: VirtualMachine) => Promise<VmPatch>): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const patch = await build(await this.getVM(namespace, name));
      try {
        await this.deps.client.jsonPatch(VIRTUAL_MACHINE_TYPE, { namespace, name }, patch.ops, { ...(patch.subresource === 'status' ? { subresource: 'status' } : {}), dryRun });
        return;
      } catch (err) {
        if (attempt < FRESH_READ_ATTEMPTS && isFailedTest(err) && guardsResourceVersion(patch.ops)) continue;
        throw err;
      }
    }
  }

  /** gracePeriodSeconds 0: the launcher pod goes at once, so the restart does not wait for a clean shutdown. */
  private async forceRestart(namespace: string, name: string): Promise<void> {
    const vmi = await this.deps.client.get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace, name }, { direct: true });
    if (!vmi) return;
    const pods = await this.deps.client.list<LauncherPod>(POD, { namespace, labelSelector: `${APP_LABEL}=${LAUNCHER_APP},${CREATED_BY_LABEL}=${vmi.metadata.uid ?? ''}`, direct: true });
    const pod = currentPod(vmi, pods);
    if (pod) await this.deps.client.delete(POD, refOf(pod), { gracePeriodSeconds: 0 });
  }

  private async migrate(namespace: string, name: string, opts: { addedNodeSelector?: Record<string, string>; dryRun?: string[] }): Promise<Answer> {
    await this.getVM(namespace, name);
    const vmi = await this.getVMI(namespace, name);
    if (vmi.status?.phase !== 'Running') throw conflict('virtualmachine', name, VM_NOT_RUNNING);
    const migration: VirtualMachineInstanceMigration = {
      ...VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE,
      metadata: { generateName: 'kubevirt-migrate-vm-', namespace },
      spec: { vmiName: name, ...(opts.addedNodeSelector ? { addedNodeSelector: opts.addedNodeSelector } : {}) },
    };
    try {
      await this.deps.client.create(migration, { dryRun: isDryRun(opts) });
    } catch (err) {
      throw internalError((err as Error).message);
    }
    return accepted;
  }

  /** VM-level hot-plug: the request is recorded on the VM's status; virt-controller puts it in the spec and the VMI. */
  private async vmVolume(namespace: string, name: string, request: VirtualMachineVolumeRequest): Promise<Answer> {
    try {
      await this.sendVMPatch(namespace, name, isDryRun(optionsOf(request)), (vm) => {
        const refusal = verifyVolumeRequest(vm.spec?.template.spec?.volumes ?? [], request);
        if (refusal) throw conflict('virtualmachine', name, refusal);
        const requests = withVolumeRequest(vm, request);
        const current = vm.status?.volumeRequests;
        const ops: JsonPatchOperation[] =
          current && current.length > 0
            ? [
                { op: 'test', path: '/status/volumeRequests', value: current },
                { op: 'replace', path: '/status/volumeRequests', value: requests },
              ]
            : addStatusMember(vm, 'volumeRequests', requests);
        return Promise.resolve({ subresource: 'status', ops });
      });
    } catch (err) {
      if (err instanceof StatusError) throw err;
      throw passInvalid(err) ?? internalError(`unable to patch vm status: ${(err as Error).message}`);
    }
    return accepted;
  }

  private async getVM(namespace: string, name: string): Promise<VirtualMachine> {
    const vm = await this.deps.client.get<VirtualMachine>(VIRTUAL_MACHINE_TYPE, { namespace, name }, { direct: true });
    if (!vm) throw notFound('virtualmachine', name);
    return vm;
  }

  private async getVMI(namespace: string, name: string): Promise<VirtualMachineInstance> {
    const vmi = await this.deps.client.get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace, name }, { direct: true });
    if (!vmi) throw notFound('virtualmachineinstance', name);
    return vmi;
  }

  private async launcherPod(vmi: VirtualMachineInstance): Promise<LauncherPod> {
    const pods = await this.deps.client.list<LauncherPod>(POD, {
      namespace: vmi.metadata.namespace,
      labelSelector: `${APP_LABEL}=${LAUNCHER_APP},${CREATED_BY_LABEL}=${vmi.metadata.uid ?? ''}`,
      direct: true,
    });
    const pod = currentPod(vmi, pods);
    if (!pod) throw badRequest(`Unable to connect to VirtualMachineInstance ${vmi.metadata.name ?? ''}: its virt-launcher pod is gone`);
    return pod;
  }

  private async guestPid(vmi: VirtualMachineInstance): Promise<number> {
    const pod = await this.launcherPod(vmi);
    const pid = this.deps.runtime?.containerRun(vmi.metadata.namespace ?? '', pod.metadata.name ?? '', COMPUTE_CONTAINER)?.process.pid;
    if (pid === undefined) throw internalError(`no virt-handler reaches the launcher pod of VMI ${vmi.metadata.name ?? ''}`);
    return pid;
  }
}

const refOf = (o: { metadata: { namespace?: string | undefined; name?: string | undefined } }) => ({ namespace: o.metadata.namespace, name: o.metadata.name ?? '' });
const isFinalVMI = (vmi: VirtualMachineInstance): boolean => vmi.status?.phase === 'Succeeded' || vmi.status?.phase === 'Failed';
const optionsOf = (r: VirtualMachineVolumeRequest) => r.addVolumeOptions ?? r.removeVolumeOptions;

/** An Invalid (422) answer from the apiserver travels as it is, as virt-api passes StatusErrors of kind Invalid. */
function passInvalid(err: unknown): StatusError | undefined {
  if (!(err instanceof ApiError) || err.status !== 422 || !err.body) return undefined;
  return new StatusError({
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Failure',
    message: err.body.message ?? err.message,
    reason: err.body.reason ?? 'Invalid',
    code: 422,
  });
}

/** A byte stream to a port in the guest, TCP or UDP, with the calls the WebSocket pump needs. */
export interface GuestConnection {
  send(data: Buffer): void;
  onData(listener: (data: Buffer) => void): void;
  onClose(listener: () => void): void;
  close(): void;
}

function dialTcp(host: string, port: number): Promise<GuestConnection> {
  return new Promise((resolve, reject) => {
    const socket: Socket = connect({ host, port, timeout: 5_000 });
    socket.once('timeout', () => socket.destroy(new Error(`dial tcp ${host}:${String(port)}: i/o timeout`)));
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.setTimeout(0);
      socket.off('error', reject);
      socket.on('error', () => socket.destroy());
      resolve({
        send: (data) => socket.write(data),
        onData: (listener) => socket.on('data', listener),
        onClose: (listener) => socket.once('close', listener),
        close: () => socket.end(),
      });
    });
  });
}

function dialUdp(host: string, port: number): Promise<GuestConnection> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    socket.once('error', reject);
    socket.connect(port, host, () => {
      socket.off('error', reject);
      resolve({
        send: (data) => {
          socket.send(data);
        },
        onData: (listener) => socket.on('message', listener),
        onClose: (listener) => socket.once('close', listener),
        close: () => {
          socket.close();
        },
      });
    });
  });
}
