// The guest runtime's CRI endpoint: runtime.v1 RuntimeService and ImageService (the pinned api.proto of
// streaming/cri) on a Unix socket in the VM, where crictl looks for containerd by default. It answers for what the
// pod runner runs: sandboxes and containers as cri-objects.ts maps them, ExecSync through the same runtime as the
// kubelet API's exec, and Exec, Attach and PortForward with one-shot URLs of the node streaming server (the same
// token cache) under its loopback listener. The pod runner decides the pods' lives from the apiserver, so the
// RPCs that would create, stop or change them answer UNIMPLEMENTED, naming what is served.
import { rm, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { PassThrough } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { catalogImages } from '../../localcloud/cluster/images.js';
import type { Pod } from '../../localcloud/cluster/pod-api.js';
import { criServices, IMAGE_SERVICE, RUNTIME_SERVICE } from '../../streaming/cri/protos.js';
import { TerminalSizes, type StreamingRuntime, type StreamOptions } from '../../streaming/runtime.js';
import { listenStreaming } from '../../streaming/listener.js';
import type { StreamingServer } from '../../streaming/server.js';
import { TooManyInFlightError } from '../../streaming/token-cache.js';
import type { ContainerRef, PodRef } from './container-streams.js';
import {
  AmbiguousIdError,
  byIdPrefix,
  catalogImage,
  matchesLabels,
  nanos,
  podContainers,
  podSandbox,
  type ContainerEntry,
  type ContainerState,
  type SandboxEntry,
  type SandboxState,
} from './cri-objects.js';
import type { GuestFS } from './guest-fs.js';

/** Where crictl (and the kubelet's --container-runtime-endpoint default) finds containerd. */
export const CRI_SOCKET = '/run/containerd/containerd.sock';
export const RUNTIME_NAME = 'kvcloud';
export const RUNTIME_VERSION = '0.1.0';
/** ExecSync keeps at most this much of each output stream, as containerd does. */
const EXEC_SYNC_OUTPUT_LIMIT = 16 * 1024 * 1024;

export interface CriServerOptions {
  /** The socket's path on this machine (the VM's CRI_SOCKET resolved by its GuestFS). */
  socketPath: string;
  /** The pods of the node's pod runner. */
  pods: () => Pod[];
  /** The image references the node can run (the image catalog). */
  images: () => string[];
  streaming: StreamingServer<ContainerRef, PodRef>;
  runtime: StreamingRuntime<ContainerRef, PodRef>;
  /** The streaming server's loopback listener: the base of the URLs Exec, Attach and PortForward return. */
  streamBaseURL: string;
  log: Logger;
}

class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

type Handler = (request: Record<string, unknown>) => Promise<unknown>;

interface Filter {
  id?: string;
  state?: { state?: string } | null;
  pod_sandbox_id?: string;
  label_selector?: Record<string, string>;
}

/** A request's filter message; proto-loader gives an unset one as null. */
const filterOf = (v: unknown): Filter | undefined => (v !== null && typeof v === 'object' ? v : undefined);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const bool = (v: unknown): boolean => v === true;

export class CriServer {
  private readonly server = new grpc.Server();

  private constructor(private readonly opts: CriServerOptions) {
    const { RuntimeService, ImageService } = criServices();
    this.server.addService(RuntimeService, this.implement(RUNTIME_SERVICE, RuntimeService, this.runtimeHandlers()));
    this.server.addService(ImageService, this.implement(IMAGE_SERVICE, ImageService, this.imageHandlers()));
  }

  static async start(opts: CriServerOptions): Promise<CriServer> {
    const cri = new CriServer(opts);
    await mkdir(dirname(opts.socketPath), { recursive: true });
    await rm(opts.socketPath, { force: true }); // left by a previous boot of the VM
    await new Promise<void>((resolve, reject) => {
      cri.server.bindAsync(`unix:${opts.socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => {
        if (err) reject(new Error(`serve the CRI on ${opts.socketPath}: ${err.message}`, { cause: err }));
        else resolve();
      });
    });
    return cri;
  }

  /** Stops serving; calls still running after a second (an ExecSync of a long command) are cut off. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, 1_000);
      this.server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    await rm(this.opts.socketPath, { force: true });
  }

  private runtimeHandlers(): Record<string, Handler> {
    return {
      Version: () => Promise.resolve({ version: '0.1.0', runtime_name: RUNTIME_NAME, runtime_version: RUNTIME_VERSION, runtime_api_version: 'v1' }),
      Status: () =>
        Promise.resolve({
          status: {
            conditions: [
              { type: 'RuntimeReady', status: true, reason: '', message: '' },
              { type: 'NetworkReady', status: true, reason: '', message: '' },
            ],
          },
          info: {},
          runtime_handlers: [{ name: '', features: { recursive_read_only_mounts: false, user_namespaces: false } }],
        }),
      ListPodSandbox: (req) => {
        const filter = filterOf(req.filter);
        const items = this.sandboxes()
          .map((s) => s.sandbox)
          .filter((s) => !filter?.id || s.id.startsWith(filter.id))
          .filter((s) => !filter?.state || s.state === ((filter.state.state ?? 'SANDBOX_READY') as SandboxState))
          .filter((s) => matchesLabels(s.labels, filter));
        return Promise.resolve({ items });
      },
      PodSandboxStatus: (req) => {
        const entry = this.sandbox(str(req.pod_sandbox_id));
        const containers = this.containers().filter((c) => c.container.pod_sandbox_id === entry.sandbox.id);
        return Promise.resolve({
          status: { ...entry.sandbox, network: { ip: entry.podIP, additional_ips: [] } },
          info: {},
          containers_statuses: bool(req.verbose) ? containers.map((c) => c.status) : [],
          timestamp: nanos(Date.now()),
        });
      },
      ListContainers: (req) => {
        const filter = filterOf(req.filter);
        const containers = this.containers()
          .map((c) => c.container)
          .filter((c) => !filter?.id || c.id.startsWith(filter.id))
          .filter((c) => !filter?.pod_sandbox_id || c.pod_sandbox_id.startsWith(filter.pod_sandbox_id))
          .filter((c) => !filter?.state || c.state === ((filter.state.state ?? 'CONTAINER_CREATED') as ContainerState))
          .filter((c) => matchesLabels(c.labels, filter));
        return Promise.resolve({ containers });
      },
      ContainerStatus: (req) => Promise.resolve({ status: this.container(str(req.container_id)).status, info: {} }),
      ExecSync: (req) => this.execSync(req),
      Exec: (req) => {
        const entry = this.runningContainer(str(req.container_id));
        const cmd = this.command(req.cmd);
        const opts = this.streams(req);
        return Promise.resolve({ url: this.issue(() => this.opts.streaming.getExec(entry.ref, cmd, opts, this.opts.streamBaseURL)) });
      },
      Attach: (req) => {
        const entry = this.runningContainer(str(req.container_id));
        const opts = this.streams(req);
        return Promise.resolve({ url: this.issue(() => this.opts.streaming.getAttach(entry.ref, opts, this.opts.streamBaseURL)) });
      },
      PortForward: (req) => {
        const entry = this.sandbox(str(req.pod_sandbox_id));
        if (entry.sandbox.state !== 'SANDBOX_READY') throw new RpcError(grpc.status.FAILED_PRECONDITION, `pod sandbox ${entry.sandbox.id} is not ready`);
        const { name, namespace, uid } = entry.sandbox.metadata;
        return Promise.resolve({ url: this.issue(() => this.opts.streaming.getPortForward(entry.ref, `pod ${namespace}/${name}, uid ${uid}`, this.opts.streamBaseURL)) });
      },
    };
  }

  private imageHandlers(): Record<string, Handler> {
    return {
      ListImages: (req) => {
        const wanted = str((req.filter as { image?: { image?: string } } | null | undefined)?.image?.image);
        return Promise.resolve({ images: this.opts.images().map(catalogImage).filter((i) => wanted === '' || i.id === wanted || i.repo_tags.includes(wanted)) });
      },
      ImageStatus: (req) => {
        const wanted = str((req.image as { image?: string } | null | undefined)?.image);
        if (wanted === '') throw new RpcError(grpc.status.INVALID_ARGUMENT, 'ImageStatus needs image.image: a reference or an image id');
        const image = this.opts.images().map(catalogImage).find((i) => i.id === wanted || i.repo_tags.includes(wanted));
        // The CRI answers a missing image with no image rather than an error.
        return Promise.resolve({ image: image ?? null, info: {} });
      },
      // CRI clients (crictl, the kubelet) call this first to check the image API. The catalog's programs live on
      // the machine, not on the VM's disk, so the image filesystem uses nothing of it.
      ImageFsInfo: () =>
        Promise.resolve({
          image_filesystems: [{ timestamp: nanos(Date.now()), fs_id: { mountpoint: '/' }, used_bytes: { value: '0' }, inodes_used: { value: '0' } }],
          container_filesystems: [],
        }),
    };
  }

  /** Every RPC of `service`: the handlers given, UNIMPLEMENTED (naming what is served) for the others. */
  private implement(serviceName: string, service: grpc.ServiceDefinition, handlers: Record<string, Handler>): grpc.UntypedServiceImplementation {
    const served = Object.keys(handlers).join(', ');
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(service)) {
      const handler = handlers[name];
      const unimplemented = {
        code: grpc.status.UNIMPLEMENTED,
        details: `${serviceName}/${name} is not implemented by the kvcloud guest runtime: its pod runner follows the apiserver; it serves ${served}`,
      };
      if (method.responseStream) {
        impl[name] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
          call.emit('error', unimplemented);
        };
        continue;
      }
      impl[name] = (call: grpc.ServerUnaryCall<Record<string, unknown>, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        if (!handler) {
          callback(unimplemented);
          return;
        }
        // Handlers that check their request before any await throw synchronously: both become the call's status.
        Promise.resolve()
          .then(() => handler(call.request))
          .then(
          (response) => {
            callback(null, response);
          },
          (err: unknown) => {
            const code = err instanceof RpcError ? err.code : err instanceof AmbiguousIdError ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL;
            if (code === grpc.status.INTERNAL) this.opts.log.warn({ err, rpc: `${serviceName}/${name}` }, 'CRI request failed');
            callback({ code, details: (err as Error).message });
          },
        );
      };
    }
    return impl;
  }

  private sandboxes(): SandboxEntry[] {
    return this.opts.pods().map(podSandbox);
  }

  private containers(): ContainerEntry[] {
    return this.opts.pods().flatMap((p) => podContainers(p));
  }

  private sandbox(id: string): SandboxEntry {
    if (id === '') throw new RpcError(grpc.status.INVALID_ARGUMENT, 'pod_sandbox_id is required');
    const entry = byIdPrefix(this.sandboxes(), id, (s) => s.sandbox.id);
    if (!entry) throw new RpcError(grpc.status.NOT_FOUND, `pod sandbox ${id} not found`);
    return entry;
  }

  private container(id: string): ContainerEntry {
    if (id === '') throw new RpcError(grpc.status.INVALID_ARGUMENT, 'container_id is required');
    const entry = byIdPrefix(this.containers(), id, (c) => c.container.id);
    if (!entry) throw new RpcError(grpc.status.NOT_FOUND, `container ${id} not found`);
    return entry;
  }

  private runningContainer(id: string): ContainerEntry {
    const entry = this.container(id);
    if (entry.container.state !== 'CONTAINER_RUNNING') throw new RpcError(grpc.status.FAILED_PRECONDITION, `container ${entry.container.id} is not running`);
    return entry;
  }

  private command(cmd: unknown): string[] {
    const argv = Array.isArray(cmd) ? cmd.filter((a): a is string => typeof a === 'string') : [];
    if (argv.length === 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'cmd is required: give the command and its arguments');
    return argv;
  }

  /** The streams of an Exec or Attach, checked as a CRI runtime checks them. */
  private streams(req: Record<string, unknown>): StreamOptions {
    const opts = { stdin: bool(req.stdin), stdout: bool(req.stdout), stderr: bool(req.stderr), tty: bool(req.tty) };
    if (!opts.stdin && !opts.stdout && !opts.stderr) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'one of stdin, stdout, or stderr must be set');
    if (opts.tty && opts.stderr) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'tty and stderr cannot both be true: a tty merges stderr into stdout');
    return opts;
  }

  private issue(get: () => string): string {
    try {
      return get();
    } catch (err) {
      if (err instanceof TooManyInFlightError) throw new RpcError(grpc.status.RESOURCE_EXHAUSTED, err.message);
      throw err;
    }
  }

  private async execSync(req: Record<string, unknown>): Promise<{ stdout: Buffer; stderr: Buffer; exit_code: number }> {
    const entry = this.runningContainer(str(req.container_id));
    const cmd = this.command(req.cmd);
    const timeoutSeconds = Number(req.timeout ?? 0);
    const abort = new AbortController();
    const timer =
      timeoutSeconds > 0
        ? setTimeout(() => {
            abort.abort();
          }, timeoutSeconds * 1000)
        : undefined;
    const collect = () => {
      const chunks: Buffer[] = [];
      let size = 0;
      const stream = new PassThrough();
      stream.on('data', (c: Buffer) => {
        const room = EXEC_SYNC_OUTPUT_LIMIT - size;
        if (room <= 0) return;
        const kept = c.length > room ? c.subarray(0, room) : c;
        chunks.push(kept);
        size += kept.length;
      });
      return { stream, bytes: () => Buffer.concat(chunks) };
    };
    const stdout = collect();
    const stderr = collect();
    try {
      const code = await this.opts.runtime.exec(entry.ref, cmd, { stdin: undefined, stdout: stdout.stream, stderr: stderr.stream, tty: false, resize: new TerminalSizes(), signal: abort.signal });
      if (abort.signal.aborted) throw new RpcError(grpc.status.DEADLINE_EXCEEDED, `command ${JSON.stringify(cmd)} timed out after ${String(timeoutSeconds)}s`);
      return { stdout: stdout.bytes(), stderr: stderr.bytes(), exit_code: code };
    } catch (err) {
      if (err instanceof RpcError) throw err;
      throw new RpcError(grpc.status.UNKNOWN, `exec in container ${entry.container.id}: ${(err as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

export interface CriEndpointOptions {
  fs: GuestFS;
  pods: () => Pod[];
  streaming: StreamingServer<ContainerRef, PodRef>;
  runtime: StreamingRuntime<ContainerRef, PodRef>;
  log: Logger;
}

/**
 * The CRI socket of the VM at CRI_SOCKET, with the streaming server's loopback listener behind it. A VM without its
 * own /run/containerd (a launcher pod from before it was mounted) runs without the socket, said in a warning.
 */
export async function startCriEndpoint(opts: CriEndpointOptions): Promise<{ close(): Promise<void> }> {
  let socketPath: string;
  try {
    socketPath = opts.fs.resolve(CRI_SOCKET);
  } catch (err) {
    opts.log.warn({ err }, `no CRI socket: ${dirname(CRI_SOCKET)} is not the VM's own directory`);
    return { close: () => Promise.resolve() };
  }
  const listener = await listenStreaming(opts.streaming);
  try {
    const server = await CriServer.start({ ...opts, socketPath, images: catalogImages, streamBaseURL: listener.baseURL });
    opts.log.info({ socket: CRI_SOCKET, streaming: listener.baseURL }, 'serving the CRI');
    return {
      async close() {
        await server.close();
        await listener.close();
      },
    };
  } catch (err) {
    await listener.close();
    throw err;
  }
}
