// The guest runtime's CRI endpoint: runtime.v1 RuntimeService and ImageService (the pinned api.proto of
// streaming/cri) on a Unix socket in the VM, where crictl looks for containerd by default. It answers for what the
// pod runner runs: sandboxes and containers as cri-objects.ts maps them, ExecSync through the same runtime as the
// kubelet API's exec, and Exec, Attach and PortForward with one-shot URLs of the node streaming server (the same
// token cache) under its loopback listener. The pod runner decides the pods' lives from the apiserver, so the
// RPCs that would create, stop or change them answer UNIMPLEMENTED, naming what is served.
import { rm, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { catalogImages } from '../../localcloud/cluster/images.js';
import type { Pod } from '../../localcloud/cluster/pod-api.js';
import { execSync } from '../../streaming/cri/exec-sync.js';
import { byIdPrefix, matchesLabels, nanos, type ContainerState, type SandboxState } from '../../streaming/cri/objects.js';
import { criServices, IMAGE_SERVICE, RUNTIME_SERVICE } from '../../streaming/cri/protos.js';
import { bool, commandOf, filterOf, implementService, issueStreamURL, readyRuntime, RpcError, str, streamOptionsOf, type CriHandler } from '../../streaming/cri/rpc.js';
import type { StreamingRuntime } from '../../streaming/runtime.js';
import { listenStreaming } from '../../streaming/listener.js';
import type { StreamingServer } from '../../streaming/server.js';
import type { ContainerRef, PodRef } from './container-streams.js';
import { catalogImage, podContainers, podSandbox, type ContainerEntry, type SandboxEntry } from './cri-objects.js';
import type { GuestFS } from './guest-fs.js';

/** Where crictl (and the kubelet's --container-runtime-endpoint default) finds containerd. */
export const CRI_SOCKET = '/run/containerd/containerd.sock';
export const RUNTIME_NAME = 'kvcloud';
export const RUNTIME_VERSION = '0.1.0';

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

export class CriServer {
  private readonly server = new grpc.Server();

  private constructor(private readonly opts: CriServerOptions) {
    const { RuntimeService, ImageService } = criServices();
    // The pod runner decides the pods' lives from the apiserver: nothing here creates, stops or changes them.
    const unimplemented = (service: string) => (rpc: string, served: string) =>
      `${service}/${rpc} is not implemented by the kvcloud guest runtime: its pod runner follows the apiserver; it serves ${served}`;
    this.server.addService(RuntimeService, implementService(RuntimeService, this.runtimeHandlers(), { name: RUNTIME_SERVICE, unimplemented: unimplemented(RUNTIME_SERVICE), log: opts.log }));
    this.server.addService(ImageService, implementService(ImageService, this.imageHandlers(), { name: IMAGE_SERVICE, unimplemented: unimplemented(IMAGE_SERVICE), log: opts.log }));
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

  private runtimeHandlers(): Record<string, CriHandler> {
    return {
      ...readyRuntime(RUNTIME_NAME, RUNTIME_VERSION, [{ name: '', features: { recursive_read_only_mounts: false, user_namespaces: false } }]),
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
      ExecSync: (req) => {
        const entry = this.runningContainer(str(req.container_id));
        return execSync(this.opts.runtime, entry.ref, commandOf(req.cmd), Number(req.timeout ?? 0), `container ${entry.container.id}`);
      },
      Exec: (req) => {
        const entry = this.runningContainer(str(req.container_id));
        const cmd = commandOf(req.cmd);
        const opts = streamOptionsOf(req);
        return Promise.resolve({ url: issueStreamURL(() => this.opts.streaming.getExec(entry.ref, cmd, opts, this.opts.streamBaseURL)) });
      },
      Attach: (req) => {
        const entry = this.runningContainer(str(req.container_id));
        const opts = streamOptionsOf(req);
        return Promise.resolve({ url: issueStreamURL(() => this.opts.streaming.getAttach(entry.ref, opts, this.opts.streamBaseURL)) });
      },
      PortForward: (req) => {
        const entry = this.sandbox(str(req.pod_sandbox_id));
        if (entry.sandbox.state !== 'SANDBOX_READY') throw new RpcError(grpc.status.FAILED_PRECONDITION, `pod sandbox ${entry.sandbox.id} is not ready`);
        const { name, namespace, uid } = entry.sandbox.metadata;
        return Promise.resolve({ url: issueStreamURL(() => this.opts.streaming.getPortForward(entry.ref, `pod ${namespace}/${name}, uid ${uid}`, this.opts.streamBaseURL)) });
      },
    };
  }

  private imageHandlers(): Record<string, CriHandler> {
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
