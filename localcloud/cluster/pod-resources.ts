// What a pod holds on its node while it lives: its network (a sandbox with an address from the node's pod range, or the
// node's own for hostNetwork pods), its directory with volumes, /etc/hosts, /etc/resolv.conf and a home, and the timer that keeps
// API-backed volumes current. Released completely when the pod goes.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ObjectLookup } from './container-env.js';
import type { PodRuntimeFacts } from './downward-api.js';
import { podKey, type Pod } from './pod-api.js';
import { podResolvConf, type ClusterDNS } from './pod-dns.js';
import { createSandbox, destroySandbox, type PodNetwork, type PodSandbox } from './pod-sandbox.js';
import { materialiseVolumes, type ClaimVolumes, type NodeFilesystem } from './pod-volumes.js';
import type { ServiceAccountTokens } from './service-account-token.js';

export interface PodResourcesContext {
  /** The pod's directory; removed on release. */
  dir: string;
  hostIP: string;
  network: PodNetwork;
  tokens: ServiceAccountTokens;
  volumeRefreshMs: number;
  /** The node's cluster DNS (the kubelet's clusterDNS and clusterDomain); none on the management nodes. */
  dns: ClusterDNS | undefined;
  /** The node's filesystem when it is not the machine's (see pod-volumes.ts). */
  nodeFS: NodeFilesystem | undefined;
  /** PersistentVolumeClaim volumes, where the node serves them (see pod-volumes.ts). */
  claims: ClaimVolumes | undefined;
  /** The latest pod object, lookups in its namespace, and what the downward API needs. */
  pod(): Pod;
  lookup(): ObjectLookup;
  facts(): PodRuntimeFacts;
  hostname(): string;
  /** A periodic volume refresh failed (the kubelet's FailedMount event). */
  refreshFailed(message: string): void;
}

export class PodResources {
  podIP: string | undefined;
  sandbox: PodSandbox | undefined;
  volumePaths: Map<string, string> | undefined;
  /** The pod's /etc/resolv.conf once written; undefined while it keeps the machine's. */
  resolvConf: string | undefined;
  private refreshTimer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(private readonly ctx: PodResourcesContext) {}

  get etcHosts(): string {
    return join(this.ctx.dir, 'etc-hosts');
  }

  get home(): string {
    return join(this.ctx.dir, 'home');
  }

  /** The pod can run containers: its sandbox is up (or it uses the node's network). */
  get networkReady(): boolean {
    return this.sandbox !== undefined || (this.ctx.pod().spec.hostNetwork === true && this.podIP !== undefined);
  }

  /** Gives the pod its network; throws, leaving nothing allocated, when the sandbox cannot be made. */
  async ensureNetwork(): Promise<void> {
    if (this.podIP) return;
    await mkdir(this.ctx.dir, { recursive: true });
    const pod = this.ctx.pod();
    if (pod.spec.hostNetwork) {
      this.podIP = this.ctx.hostIP;
      return;
    }
    const { ipam } = this.ctx.network;
    const ip = ipam.allocate();
    try {
      this.sandbox = await createSandbox({ name: podKey(pod), ip, dir: this.ctx.dir, network: this.ctx.network });
      this.podIP = ip;
    } catch (err) {
      ipam.release(ip);
      throw err;
    }
  }

  /** Materialises the volumes once (throwing VolumeSetupError while one cannot be), then keeps them current. */
  async ensureVolumes(): Promise<void> {
    if (this.volumePaths) return;
    this.volumePaths = await this.materialise();
    await writeFile(this.etcHosts, `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${this.podIP ?? ''}\t${this.ctx.hostname()}\n`);
    const resolvConf = podResolvConf(this.ctx.pod(), this.ctx.dns);
    if (resolvConf !== undefined) {
      await writeFile(join(this.ctx.dir, 'resolv.conf'), resolvConf);
      this.resolvConf = join(this.ctx.dir, 'resolv.conf');
    }
    await mkdir(this.home, { recursive: true });
    this.refreshTimer = setInterval(() => {
      if (this.refreshing) return; // a slow apiserver must not get two writers into one volume
      this.refreshing = this.materialise()
        .then(
          () => undefined,
          (err: unknown) => {
            this.ctx.refreshFailed((err as Error).message);
          },
        )
        .finally(() => (this.refreshing = undefined));
    }, this.ctx.volumeRefreshMs);
  }

  /** The sandbox goes (a completed pod needs no network); the volumes stay. */
  async releaseNetwork(): Promise<void> {
    const sandbox = this.sandbox;
    if (!sandbox) return;
    this.sandbox = undefined;
    await destroySandbox(sandbox);
    this.ctx.network.ipam.release(sandbox.ip);
  }

  /** Everything goes: refreshes stop, the sandbox and the pod directory are removed. */
  async release(): Promise<void> {
    clearInterval(this.refreshTimer);
    await this.refreshing;
    try {
      await this.releaseNetwork();
    } finally {
      // A published volume is a mount inside the pod directory: removing the directory first would delete its data.
      await this.ctx.claims?.tearDown(this.ctx.pod());
      await rm(this.ctx.dir, { recursive: true, force: true });
    }
  }

  private materialise(): Promise<Map<string, string>> {
    return materialiseVolumes({ pod: this.ctx.pod(), dir: join(this.ctx.dir, 'volumes'), lookup: this.ctx.lookup(), tokens: this.ctx.tokens, facts: this.ctx.facts(), nodeFS: this.ctx.nodeFS, claims: this.ctx.claims });
  }
}
