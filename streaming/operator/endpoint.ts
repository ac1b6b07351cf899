// The operator endpoint as one runnable: the streaming listener, the CRI gRPC server on the Unix socket, and the
// audit that both feed. Stopping closes the socket, ends the running sessions (as a stopping runtime's stream
// server does) and waits for their audit records.
import type { Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import type { EventInput } from '../../lib/controller/event-recorder.js';
import type { KubeObject } from '../../lib/kube/object.js';
import type { BindAddress } from '../../lib/observability/bind-address.js';
import { criServices, IMAGE_SERVICE, RUNTIME_SERVICE } from '../cri/protos.js';
import { implementService } from '../cri/rpc.js';
import { listenStreaming, type StreamingListener } from '../listener.js';
import { StreamingServer } from '../server.js';
import { Audit } from './audit.js';
import { UNKNOWN_UNIX_CALLER, type Caller } from './caller.js';
import { OperatorCri, unimplementedReason } from './operator-cri.js';
import type { SSHLogin } from './ssh-command.js';
import { serveUnixSocket, type UnixSocketEndpoint } from './unix-socket.js';
import type { VirtApi } from './virt-api.js';
import { VmRuntime, type VmSession } from './vm-runtime.js';
import type { VmTarget } from './vm-sandboxes.js';

/** How long a stop waits for ended sessions to be recorded. */
const DRAIN_MS = 5_000;

export interface OperatorEndpointOptions {
  socket: string;
  socketMode: number;
  streamAddress: BindAddress;
  vmis: () => VirtualMachineInstance[];
  virt: VirtApi;
  sshLogin: (vm: VmTarget) => Promise<SSHLogin>;
  recorder: { event(regarding: KubeObject, input: EventInput): void };
  registry?: Registry | undefined;
  log: Logger;
  /** Who is behind a Unix socket connection; the kernel's peer process by default. */
  unixPeer?: (socket: Socket) => Promise<Caller>;
}

export class OperatorEndpoint {
  readonly audit: Audit;
  private listener: StreamingListener | undefined;
  private socket: UnixSocketEndpoint | undefined;
  private grpcServer: grpc.Server | undefined;

  constructor(private readonly opts: OperatorEndpointOptions) {
    this.audit = new Audit({ log: opts.log, recorder: opts.recorder, registry: opts.registry });
  }

  get streamBaseURL(): string | undefined {
    return this.listener?.baseURL;
  }

  get serving(): boolean {
    return this.socket !== undefined;
  }

  async start(): Promise<void> {
    const { opts } = this;
    const runtime = new VmRuntime(opts.virt, this.audit);
    const streaming = new StreamingServer<VmSession, VmSession>({ runtime, baseURL: 'http://operator-streaming', log: opts.log });
    this.listener = await listenStreaming(streaming, opts.streamAddress.host, opts.streamAddress.port);
    const cri = new OperatorCri({
      vmis: opts.vmis,
      streaming,
      runtime,
      streamBaseURL: this.listener.baseURL,
      sshLogin: opts.sshLogin,
      callerOf: (call) => this.socket?.callerOf(call.getPeer()) ?? UNKNOWN_UNIX_CALLER,
      log: opts.log,
    });
    const server = new grpc.Server();
    const { RuntimeService, ImageService } = criServices();
    server.addService(RuntimeService, implementService(RuntimeService, cri.runtimeHandlers(), { name: RUNTIME_SERVICE, unimplemented: unimplementedReason(RUNTIME_SERVICE), log: opts.log }));
    server.addService(ImageService, implementService(ImageService, cri.imageHandlers(), { name: IMAGE_SERVICE, unimplemented: unimplementedReason(IMAGE_SERVICE), log: opts.log }));
    this.grpcServer = server;
    this.socket = await serveUnixSocket(server, opts.socket, opts.socketMode, opts.unixPeer);
    opts.log.info({ socket: opts.socket, streaming: this.listener.baseURL }, 'serving the operator CRI endpoint');
  }

  async stop(): Promise<void> {
    await this.socket?.close();
    this.socket = undefined;
    this.grpcServer?.forceShutdown();
    await this.listener?.close();
    await this.audit.drain(DRAIN_MS);
  }
}
