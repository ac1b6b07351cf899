// The operator endpoint's CRI: runtime.v1 RuntimeService (and the ImageService stubs crictl checks for) where a pod
// sandbox is a tenant VM and its one container, "console", is the VM's serial console. Listing and status come
// from the VMIs of the namespaces served; Exec, ExecSync, Attach and PortForward reach the VM as vm-runtime.ts
// does, through one-shot URLs of the streaming server. The RPCs that would create, stop or change a sandbox answer
// UNIMPLEMENTED: a VM's life is its VirtualMachine's business, not the CRI's.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { execSync } from '../cri/exec-sync.js';
import { matchesLabels, nanos, type ContainerState, type SandboxState } from '../cri/objects.js';
import { IMAGE_SERVICE } from '../cri/protos.js';
import { bool, commandOf, filterOf, issueStreamURL, readyRuntime, RpcError, str, streamOptionsOf, type CriCall, type CriHandler } from '../cri/rpc.js';
import type { CommandIO } from '../runtime.js';
import type { StreamingServer } from '../server.js';
import type { Caller } from './caller.js';
import type { SSHLogin } from './ssh-command.js';
import type { VmRuntime, VmSession } from './vm-runtime.js';
import { findVm, vmEntry, type VmEntry, type VmTarget } from './vm-sandboxes.js';

export const RUNTIME_NAME = 'kvcloud-operator';
export const RUNTIME_VERSION = '0.1.0';

export interface OperatorCriOptions {
  /** The VMIs of the namespaces served (the informer's store). */
  vmis: () => VirtualMachineInstance[];
  streaming: StreamingServer<VmSession, VmSession>;
  runtime: VmRuntime;
  /** The streaming listener: the base of the URLs Exec, Attach and PortForward return. */
  streamBaseURL: string;
  /** The SSH login for a VM; throws RpcError(FAILED_PRECONDITION) when the VM has no key to log in with. */
  sshLogin: (vm: VmTarget) => Promise<SSHLogin>;
  /** Who is making a call: the peer process of its connection. */
  callerOf: (call: CriCall) => Caller;
  log: Logger;
}

export function unimplementedReason(service: string): (rpc: string, served: string) => string {
  const why =
    service === IMAGE_SERVICE
      ? 'a VM boots from its disks, which are not container images this endpoint pulls or removes'
      : 'pod sandboxes here are tenant VMs, created, stopped and changed through their VirtualMachine objects (kubectl, virtctl, Cluster API), not through the CRI';
  return (rpc, served) => `${service}/${rpc} is not implemented by the kvcloud operator endpoint: ${why}; it serves ${served}`;
}

export class OperatorCri {
  constructor(private readonly opts: OperatorCriOptions) {}

  runtimeHandlers(): Record<string, CriHandler> {
    return {
      ...readyRuntime(RUNTIME_NAME, RUNTIME_VERSION, []),
      ListPodSandbox: (req) => {
        const filter = filterOf(req.filter);
        const entries = filter?.id ? this.optional(filter.id, 'sandbox') : this.entries();
        const items = entries
          .map((e) => e.sandbox)
          .filter((s) => !filter?.state || s.state === ((filter.state.state ?? 'SANDBOX_READY') as SandboxState))
          .filter((s) => matchesLabels(s.labels, filter));
        return Promise.resolve({ items });
      },
      PodSandboxStatus: (req) => {
        const entry = this.vm(str(req.pod_sandbox_id), 'sandbox');
        return Promise.resolve({
          status: { ...entry.sandbox, network: { ip: entry.ip, additional_ips: [] } },
          info: {},
          containers_statuses: bool(req.verbose) ? [entry.status] : [],
          timestamp: nanos(Date.now()),
        });
      },
      ListContainers: (req) => {
        const filter = filterOf(req.filter);
        let entries = filter?.id ? this.optional(filter.id, 'container') : this.entries();
        if (filter?.pod_sandbox_id) {
          const sandbox = this.optional(filter.pod_sandbox_id, 'sandbox')[0]?.sandbox.id;
          entries = entries.filter((e) => e.sandbox.id === sandbox);
        }
        const containers = entries
          .map((e) => e.container)
          .filter((c) => !filter?.state || c.state === ((filter.state.state ?? 'CONTAINER_CREATED') as ContainerState))
          .filter((c) => matchesLabels(c.labels, filter));
        return Promise.resolve({ containers });
      },
      ContainerStatus: (req) => Promise.resolve({ status: this.vm(str(req.container_id), 'container').status, info: {} }),
      ExecSync: async (req, call) => {
        const entry = this.running(str(req.container_id));
        const cmd = commandOf(req.cmd);
        const session = { vm: entry.target, caller: this.opts.callerOf(call), login: await this.opts.sshLogin(entry.target) };
        const { runtime } = this.opts;
        const asExecSync = { exec: (s: VmSession, argv: string[], io: CommandIO) => runtime.exec(s, argv, io, 'exec-sync') };
        return execSync(asExecSync, session, cmd, Number(req.timeout ?? 0), `VM ${describe(entry)}`);
      },
      Exec: async (req, call) => {
        const entry = this.running(str(req.container_id));
        const cmd = commandOf(req.cmd);
        const opts = streamOptionsOf(req);
        const session = { vm: entry.target, caller: this.opts.callerOf(call), login: await this.opts.sshLogin(entry.target) };
        return { url: issueStreamURL(() => this.opts.streaming.getExec(session, cmd, opts, this.opts.streamBaseURL)) };
      },
      Attach: (req, call) => {
        const entry = this.running(str(req.container_id));
        const opts = streamOptionsOf(req);
        const session = { vm: entry.target, caller: this.opts.callerOf(call) };
        return Promise.resolve({ url: issueStreamURL(() => this.opts.streaming.getAttach(session, opts, this.opts.streamBaseURL)) });
      },
      PortForward: (req, call) => {
        const entry = this.vm(str(req.pod_sandbox_id), 'sandbox');
        if (entry.sandbox.state !== 'SANDBOX_READY') throw new RpcError(grpc.status.FAILED_PRECONDITION, `VM ${describe(entry)} is not running`);
        const session = { vm: entry.target, caller: this.opts.callerOf(call) };
        return Promise.resolve({ url: issueStreamURL(() => this.opts.streaming.getPortForward(session, `VM ${describe(entry)}`, this.opts.streamBaseURL)) });
      },
    };
  }

  /** What crictl needs of the image service to start (ImageFsInfo) and to list: there are no images here. */
  imageHandlers(): Record<string, CriHandler> {
    return {
      ListImages: () => Promise.resolve({ images: [] }),
      // The CRI answers a missing image with no image rather than an error.
      ImageStatus: () => Promise.resolve({ image: null, info: {} }),
      ImageFsInfo: () => Promise.resolve({ image_filesystems: [], container_filesystems: [] }),
    };
  }

  private entries(): VmEntry[] {
    return this.opts.vmis().map(vmEntry);
  }

  /** The VMs a filter id names: none when it names none, as a filter is not a lookup. */
  private optional(id: string, kind: 'sandbox' | 'container'): VmEntry[] {
    const entry = findVm(this.entries(), id, kind);
    return entry ? [entry] : [];
  }

  private vm(id: string, kind: 'sandbox' | 'container'): VmEntry {
    const field = kind === 'sandbox' ? 'pod_sandbox_id' : 'container_id';
    if (id === '') throw new RpcError(grpc.status.INVALID_ARGUMENT, `${field} is required: a ${kind} id, a unique prefix of one, or <namespace>/<vm>`);
    const entry = findVm(this.entries(), id, kind);
    if (!entry) throw new RpcError(grpc.status.NOT_FOUND, `${kind === 'sandbox' ? 'pod sandbox' : 'container'} ${id} not found: no VMI of the namespaces served has that id or name`);
    return entry;
  }

  private running(id: string): VmEntry {
    const entry = this.vm(id, 'container');
    if (entry.container.state !== 'CONTAINER_RUNNING') throw new RpcError(grpc.status.FAILED_PRECONDITION, `VM ${describe(entry)} is not running (its console container is ${entry.container.state})`);
    return entry;
  }
}

const describe = (entry: VmEntry): string => `${entry.target.namespace}/${entry.target.name}`;
