// The pod runner's image mode: a kvcloud image is taken from the OCI layout `make image` wrote (KVCLOUD_IMAGE_LAYOUT)
// and unpacked once into the cache, and its container runs the image's own entrypoint, environment, user and working
// directory inside that root (container-entry.sh), so a file the image lacks fails the pod as it would on a cluster.
// Images made of the same layers (every kvcloud image but the two with a tools layer) share one unpacked root.
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { imageConfig, imageDescriptor, imageManifest, unpackImage } from '../../packaging/image-unpack.js';
import type { ImageRuntimeConfig } from '../../packaging/oci-layout.js';
import type { SecurityContext } from './pod-api.js';

/** The environment variable naming the layout: set, kvcloud's images run from it instead of from the work tree. */
export const IMAGE_LAYOUT_ENV = 'KVCLOUD_IMAGE_LAYOUT';

/** An unpacked root nobody started a container from for this long is removed by the next unpack. */
const UNUSED_ROOT_MS = 6 * 3600_000;

export interface UnpackedImage {
  /** The manifest's digest: the image ID a runtime reports. */
  digest: string;
  /** The image's root filesystem, shared by its containers, which each see a private copy-on-write view of it. */
  rootfs: string;
  config: ImageRuntimeConfig;
}

/** The cache key of an image's root: its layers in order, so images differing only in config share a root. */
export function rootKey(layerDigests: string[]): string {
  return createHash('sha256').update(layerDigests.join('\n')).digest('hex');
}

/** Unpacks under way or done in this process, by root directory. */
const unpacking = new Map<string, Promise<string>>();

/**
 * `reference` from the layout, unpacked under `cache`/<key>/rootfs. The root appears by one rename of a directory
 * unpacked beside it, so another process never sees half of it: when two unpack at once, the first rename wins and
 * the other discards its copy. Within this process, concurrent pods of one image wait for the same unpack.
 */
export async function unpackedImage(cache: string, layout: string, reference: string): Promise<UnpackedImage> {
  const digest = imageDescriptor(layout, reference).digest;
  const key = rootKey(imageManifest(layout, reference).layers.map((l) => l.digest));
  const dest = join(cache, key);
  let dir = unpacking.get(dest);
  if (dir === undefined) {
    dir = unpackOnce(cache, layout, reference, key);
    unpacking.set(dest, dir);
    dir.catch(() => unpacking.delete(dest));
  }
  const rootDir = await dir;
  const now = new Date();
  await utimes(rootDir, now, now); // in use: pruneUnused keeps it
  return { digest, rootfs: join(rootDir, 'rootfs'), config: imageConfig(layout, reference) };
}

async function unpackOnce(cache: string, layout: string, reference: string, key: string): Promise<string> {
  const dest = join(cache, key);
  if (await exists(join(dest, 'rootfs'))) return dest;
  await mkdir(cache, { recursive: true });
  const tmp = join(cache, `.unpack-${key}-${String(process.pid)}-${randomBytes(4).toString('hex')}`);
  try {
    await mkdir(join(tmp, 'rootfs'), { recursive: true });
    await unpackImage(layout, reference, join(tmp, 'rootfs'));
    try {
      await rename(tmp, dest);
    } catch (err) {
      // Another process renamed its copy first: the same layers, so the same root.
      if (!['ENOTEMPTY', 'EEXIST'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  await pruneUnused(cache, key);
  return dest;
}

/** Every code change makes new roots of a few hundred MiB: drop the ones no container started from in a while. */
async function pruneUnused(cache: string, keep: string): Promise<void> {
  for (const name of await readdir(cache)) {
    if (name === keep || !/^[0-9a-f]{64}$/.test(name)) continue;
    const info = await stat(join(cache, name)).catch(() => undefined);
    if (info && Date.now() - info.mtimeMs > UNUSED_ROOT_MS) await rm(join(cache, name), { recursive: true, force: true });
  }
}

const exists = (path: string): Promise<boolean> =>
  lstat(path).then(
    () => true,
    () => false,
  );

/** A config's Env list ("NAME=value") as a map. */
export function configEnv(config: ImageRuntimeConfig): Record<string, string> {
  return Object.fromEntries(config.Env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

export interface RunAs {
  uid: number;
  gid: number;
}

/** A config's User: "uid", "uid:gid", or names the image's /etc/passwd and /etc/group resolve, as a runtime does. */
export function configUser(rootfs: string, user: string): RunAs {
  if (user === '') return { uid: 0, gid: 0 };
  const [u = '', g] = user.split(':');
  const passwd = userEntries(rootfs, 'passwd');
  const entry = passwd.find((e) => e[0] === u || e[2] === u);
  const uid = /^\d+$/.test(u) ? Number(u) : Number(entry?.[2] ?? NaN);
  if (Number.isNaN(uid)) throw new Error(`image user "${user}": no user "${u}" in the image's /etc/passwd`);
  if (g === undefined) return { uid, gid: Number(entry?.[3] ?? 0) };
  const gid = /^\d+$/.test(g) ? Number(g) : Number(userEntries(rootfs, 'group').find((e) => e[0] === g)?.[2] ?? NaN);
  if (Number.isNaN(gid)) throw new Error(`image user "${user}": no group "${g}" in the image's /etc/group`);
  return { uid, gid };
}

/**
 * Whom a container runs as: the securityContext's runAsUser and runAsGroup (the container's over the pod's) over
 * the image's User; a runAsUser alone takes its primary group from the image's /etc/passwd.
 */
export function effectiveUser(rootfs: string, image: RunAs, pod: SecurityContext | undefined, container: SecurityContext | undefined): RunAs {
  const uid = container?.runAsUser ?? pod?.runAsUser;
  const gid = container?.runAsGroup ?? pod?.runAsGroup;
  const user = uid === undefined ? image : configUser(rootfs, String(uid));
  return { uid: user.uid, gid: gid ?? user.gid };
}

/** The home directory of `uid` in the image's /etc/passwd, or / as runtimes default to. */
export function configHome(rootfs: string, uid: number): string {
  return userEntries(rootfs, 'passwd').find((e) => e[2] === String(uid))?.[5] ?? '/';
}

function userEntries(rootfs: string, file: 'passwd' | 'group'): string[][] {
  let text: string;
  try {
    text = readFileSync(join(rootfs, 'etc', file), 'utf8');
  } catch {
    return []; // an image without the file names no users
  }
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => line.split(':'));
}

/**
 * The path inside the image of the executable a command names: an absolute path the image has, or a name found
 * on the image's PATH. Looked up without following links, which point into the image, not into this machine.
 */
export function findInImage(rootfs: string, path: string, name: string): string | undefined {
  const candidates = name.startsWith('/') ? [name] : name.includes('/') ? [] : path.split(':').map((dir) => `${dir}/${name}`);
  return candidates.find((candidate) => lstatSync(join(rootfs, candidate), { throwIfNoEntry: false }) !== undefined);
}
