// Volume contents (Secret, ConfigMap, projected, downward API) written the kubelet's way: every version in its
// own hidden timestamped directory, a `..data` symlink switched atomically to the new one, and each top-level
// name a symlink through `..data`. A process that watches the directory (controller-runtime's certwatcher,
// cert-manager) sees one consistent set of files change at once, as it would in a real cluster.
import { mkdir, mkdtemp, readdir, readFile, readlink, rename, rm, stat, symlink, writeFile, chmod, lstat } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';

export interface FileProjection {
  data: Buffer;
  mode: number;
}

const DATA_LINK = '..data';

function checkPath(path: string): void {
  const n = normalize(path);
  if (path === '' || n.startsWith('/') || n.split('/').some((part) => part === '..') || n.startsWith('..')) {
    throw new Error(`volume file path "${path}" must be relative, without ".." and not start with ".."`);
  }
}

async function exists(path: string): Promise<boolean> {
  return lstat(path).then(
    () => true,
    () => false,
  );
}

async function sameContent(dataDir: string, files: Map<string, FileProjection>): Promise<boolean> {
  const existing = await readdir(dataDir, { recursive: true, withFileTypes: true }).catch(() => undefined);
  if (!existing) return false;
  const onDisk = existing.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name).slice(dataDir.length + 1));
  if (onDisk.length !== files.size) return false;
  for (const [path, want] of files) {
    const file = join(dataDir, path);
    const [content, info] = await Promise.all([readFile(file).catch(() => undefined), stat(file).catch(() => undefined)]);
    if (!content || !info || !content.equals(want.data) || (info.mode & 0o777) !== want.mode) return false;
  }
  return true;
}

/** Makes `dir` hold exactly `files`; returns false when it already did, so unchanged refreshes touch nothing. */
export async function writeAtomically(dir: string, files: Map<string, FileProjection>): Promise<boolean> {
  for (const path of files.keys()) checkPath(path);
  await mkdir(dir, { recursive: true });
  const link = join(dir, DATA_LINK);
  const previous = (await exists(link)) ? await readlink(link) : undefined;
  if (previous !== undefined && (await sameContent(join(dir, previous), files))) return false;

  const stamp = new Date().toISOString().replace(/[-:]/g, '_').replace(/\..*$/, '');
  const version = await mkdtemp(join(dir, `..${stamp}.`));
  // mkdtemp makes it 0700: a container running as a user other than root must reach the files, as on a kubelet.
  await chmod(version, 0o755);
  for (const [path, { data, mode }] of files) {
    const file = join(version, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, data);
    await chmod(file, mode);
  }
  const staging = join(dir, `${DATA_LINK}_tmp`);
  await rm(staging, { force: true });
  await symlink(version.slice(dir.length + 1), staging);
  await rename(staging, link);

  const topLevel = new Set([...files.keys()].map((p) => normalize(p).split('/')[0] ?? p));
  for (const name of topLevel) {
    if (!(await exists(join(dir, name)))) await symlink(join(DATA_LINK, name), join(dir, name));
  }
  for (const name of await readdir(dir)) {
    if (!name.startsWith('..') && !topLevel.has(name)) await rm(join(dir, name), { force: true });
  }
  if (previous !== undefined) await rm(join(dir, previous), { recursive: true, force: true });
  return true;
}
