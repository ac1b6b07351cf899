// A pod's volumes as directories of the pod's own directory, materialised before its containers start and
// refreshed while it runs (Secret and ConfigMap updates, token rotation), as the kubelet's volume manager does.
// Containers see them at their mountPaths through container-entry.sh's bind mounts.
import { chmod, mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { writeAtomically, type FileProjection } from './atomic-writer.js';
import type { ObjectLookup } from './container-env.js';
import { resolveFieldRef, resolveResourceFieldRef, type PodRuntimeFacts } from './downward-api.js';
import type { DownwardAPIVolumeFile, KeyToPath, Pod, Volume, VolumeProjection } from './pod-api.js';
import type { ServiceAccountTokens } from './service-account-token.js';

export interface VolumeContext {
  pod: Pod;
  /** The pod's volume directory; each volume gets a subdirectory named after it. */
  dir: string;
  lookup: ObjectLookup;
  tokens: ServiceAccountTokens;
  facts: PodRuntimeFacts;
  /** The node's filesystem when it is not the machine's (a simulated VM's): hostPaths resolve, and may be made, there. */
  nodeFS?: NodeFilesystem | undefined;
  claims?: ClaimVolumes | undefined;
}

/** A node filesystem that lives inside the run, so hostPath volumes of type *OrCreate (or unset) may create paths in it. */
export interface NodeFilesystem {
  /** Where a path of the node is on this machine. */
  resolve(path: string): string;
}

/**
 * The node's side of PersistentVolumeClaim volumes, where a node has one (a simulated VM's kubelet attaches,
 * stages and publishes CSI volumes); the management nodes have none.
 */
export interface ClaimVolumes {
  /** Where the claim's volume (a directory) or raw device (a file) is for this pod; VolumeSetupError while it waits. */
  setUp(pod: Pod, volume: Volume & { persistentVolumeClaim: { claimName: string; readOnly?: boolean } }): Promise<string>;
  /** Unpublishes every claim volume of the pod: called before the pod directory is removed, so no data goes with it. */
  tearDown(pod: Pod): Promise<void>;
}

/** Why a volume cannot be set up (yet): the pod waits in ContainerCreating with this message. */
export class VolumeSetupError extends Error {
  override readonly name = 'VolumeSetupError';
}

const DEFAULT_MODE = 0o644;
const SUPPORTED = ['secret', 'configMap', 'emptyDir', 'hostPath', 'downwardAPI', 'projected'];

type Payload = Map<string, FileProjection>;

function keysToPayload(data: Record<string, Buffer>, items: KeyToPath[] | undefined, mode: number, optional: boolean, what: string): Payload {
  const out: Payload = new Map();
  if (!items) {
    for (const [key, value] of Object.entries(data)) out.set(key, { data: value, mode });
    return out;
  }
  for (const item of items) {
    const value = data[item.key];
    if (value === undefined) {
      if (optional) continue;
      throw new VolumeSetupError(`${what} has no key "${item.key}"`);
    }
    out.set(item.path, { data: value, mode: item.mode ?? mode });
  }
  return out;
}

async function configMapPayload(ctx: VolumeContext, src: { name?: string; items?: KeyToPath[]; optional?: boolean }, mode: number): Promise<Payload> {
  const name = src.name ?? '';
  const cm = await ctx.lookup.configMap(name);
  if (!cm) {
    if (src.optional) return new Map();
    throw new VolumeSetupError(`configmap "${name}" not found`);
  }
  const data: Record<string, Buffer> = {};
  for (const [k, v] of Object.entries(cm.data ?? {})) data[k] = Buffer.from(v);
  for (const [k, v] of Object.entries(cm.binaryData ?? {})) data[k] = Buffer.from(v, 'base64');
  return keysToPayload(data, src.items, mode, src.optional ?? false, `configmap "${name}"`);
}

async function secretPayload(ctx: VolumeContext, name: string, src: { items?: KeyToPath[]; optional?: boolean }, mode: number): Promise<Payload> {
  const secret = await ctx.lookup.secret(name);
  if (!secret) {
    if (src.optional) return new Map();
    throw new VolumeSetupError(`secret "${name}" not found`);
  }
  const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')]));
  return keysToPayload(data, src.items, mode, src.optional ?? false, `secret "${name}"`);
}

function downwardPayload(ctx: VolumeContext, items: DownwardAPIVolumeFile[] = [], mode: number): Payload {
  const out: Payload = new Map();
  for (const item of items) {
    const value = item.fieldRef
      ? resolveFieldRef(ctx.pod, item.fieldRef, ctx.facts)
      : item.resourceFieldRef
        ? resolveResourceFieldRef(ctx.pod, item.resourceFieldRef, undefined, ctx.facts)
        : '';
    out.set(item.path, { data: Buffer.from(value), mode: item.mode ?? mode });
  }
  return out;
}

async function projectionPayload(ctx: VolumeContext, source: VolumeProjection, mode: number): Promise<Payload> {
  if (source.secret) return secretPayload(ctx, source.secret.name ?? '', source.secret, mode);
  if (source.configMap) return configMapPayload(ctx, source.configMap, mode);
  if (source.downwardAPI) return downwardPayload(ctx, source.downwardAPI.items, mode);
  if (source.serviceAccountToken) {
    const { audience, expirationSeconds, path } = source.serviceAccountToken;
    const token = await ctx.tokens.token(ctx.pod, audience, expirationSeconds ?? 3600);
    return new Map([[path, { data: Buffer.from(token), mode }]]);
  }
  throw new VolumeSetupError(`projected source ${Object.keys(source).join(', ')} is not supported by the local pod runner`);
}

async function hostPathOf(volume: Volume & { hostPath: { path: string; type?: string } }, nodeFS: NodeFilesystem | undefined): Promise<string> {
  const { path: nodePath, type = '' } = volume.hostPath;
  const path = nodeFS ? nodeFS.resolve(nodePath) : nodePath;
  if (await stat(path).then(() => true, () => false)) return path;
  // On the machine's own filesystem, creating host paths would write outside the run: only existing ones mount.
  if (!nodeFS) throw new VolumeSetupError(`hostPath ${nodePath} does not exist (the local pod runner never creates host paths)`);
  // A runtime makes a missing directory for an unchecked hostPath, as for DirectoryOrCreate.
  if (type === 'FileOrCreate') {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, '', { flag: 'a' });
  } else if (type === '' || type === 'DirectoryOrCreate') {
    await mkdir(path, { recursive: true });
  } else {
    throw new VolumeSetupError(`hostPath ${nodePath} of type ${type} does not exist on the node`);
  }
  return path;
}

async function setUp(ctx: VolumeContext, volume: Volume): Promise<string> {
  const dir = join(ctx.dir, volume.name);
  if (volume.hostPath) return hostPathOf({ ...volume, hostPath: volume.hostPath }, ctx.nodeFS);
  if (volume.persistentVolumeClaim && ctx.claims) return ctx.claims.setUp(ctx.pod, { ...volume, persistentVolumeClaim: volume.persistentVolumeClaim });
  if (volume.emptyDir) {
    await mkdir(dir, { recursive: true });
    // World-writable, as the kubelet makes it, so a container's user other than root can write there.
    await chmod(dir, 0o777);
    return dir;
  }
  let payload: Payload;
  if (volume.secret) payload = await secretPayload(ctx, volume.secret.secretName ?? '', volume.secret, volume.secret.defaultMode ?? DEFAULT_MODE);
  else if (volume.configMap) payload = await configMapPayload(ctx, volume.configMap, volume.configMap.defaultMode ?? DEFAULT_MODE);
  else if (volume.downwardAPI) payload = downwardPayload(ctx, volume.downwardAPI.items, volume.downwardAPI.defaultMode ?? DEFAULT_MODE);
  else if (volume.projected) {
    payload = new Map();
    const mode = volume.projected.defaultMode ?? DEFAULT_MODE;
    for (const source of volume.projected.sources ?? []) for (const [k, v] of await projectionPayload(ctx, source, mode)) payload.set(k, v);
  } else {
    const kind = Object.keys(volume).find((k) => k !== 'name') ?? 'empty';
    throw new VolumeSetupError(`${kind} volumes are not supported by the local pod runner (it supports ${SUPPORTED.join(', ')})`);
  }
  await writeAtomically(dir, payload);
  return dir;
}

/**
 * Sets up (or refreshes) every volume of the pod and returns where each lives on the host. Errors name the
 * volume the way the kubelet's FailedMount events do.
 */
export async function materialiseVolumes(ctx: VolumeContext): Promise<Map<string, string>> {
  const paths = new Map<string, string>();
  for (const volume of ctx.pod.spec.volumes ?? []) {
    try {
      paths.set(volume.name, await setUp(ctx, volume));
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new VolumeSetupError(`MountVolume.SetUp failed for volume "${volume.name}": ${message}`, { cause: err });
    }
  }
  return paths;
}
