// `make release`: what a kvcloud release publishes, written afresh under out/release: the clusterctl repositories and
// the CSI driver's manifests (packaging/release-manifests.ts), the images of `make image` as one OCI archive (the
// layout's files in a plain tar, which `skopeo copy oci-archive:<file>` and `podman load` read), and SHA256SUMS over
// every file, in the format `sha256sum -c` checks.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, readdirSync, realpathSync, statSync } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultVersion, writeReleases } from './release-manifests.js';
import { tarStream, type TarEntry } from './tar.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
export const CHECKSUMS_FILE = 'SHA256SUMS';

/** The archive's name: the version in it, so archives of two releases never overwrite each other once downloaded. */
export const imagesArchiveName = (version: string): string => `kvcloud-images-${version}.oci.tar`;

/** The files the image-spec defines for a layout, in archive order; our own build records (kvcloud-layers.json) stay out. */
export function layoutEntries(layout: string): TarEntry[] {
  const file = (path: string): TarEntry => ({ path, type: 'file', mode: 0o644, source: join(layout, path), size: statSync(join(layout, path)).size });
  const blobs = readdirSync(join(layout, 'blobs', 'sha256')).filter((name) => /^[0-9a-f]{64}$/.test(name)).sort();
  return [
    file('oci-layout'),
    file('index.json'),
    { path: 'blobs', type: 'dir', mode: 0o755 },
    { path: 'blobs/sha256', type: 'dir', mode: 0o755 },
    ...blobs.map((name) => file(`blobs/sha256/${name}`)),
  ];
}

/** Writes the layout as an OCI archive at `path`. */
export async function writeImagesArchive(layout: string, path: string): Promise<void> {
  await pipeline(Readable.from(tarStream(layoutEntries(layout))), createWriteStream(path));
}

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Every file under `dir`, as paths relative to it, sorted. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** Writes SHA256SUMS over every other file under `dir`; returns its lines. */
export async function writeChecksums(dir: string): Promise<string[]> {
  const lines: string[] = [];
  for (const path of (await filesUnder(dir)).filter((p) => p !== CHECKSUMS_FILE)) lines.push(`${await sha256(join(dir, path))}  ${path}`);
  await writeFile(join(dir, CHECKSUMS_FILE), `${lines.join('\n')}\n`);
  return lines;
}

/** Writes the whole release of `version` into `out`, emptied first so nothing of an earlier one is summed with it. */
export async function writeFullRelease(out: string, version: string, layout: string, root = repoRoot): Promise<string[]> {
  await rm(out, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  const lines = await writeReleases(out, version, root);
  const archive = join(out, imagesArchiveName(version));
  await writeImagesArchive(layout, archive);
  lines.push(`wrote ${archive}: the OCI layout ${layout}`);
  const sums = await writeChecksums(out);
  lines.push(`wrote ${join(out, CHECKSUMS_FILE)}: ${String(sums.length)} files`);
  return lines;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { version: { type: 'string' }, out: { type: 'string', default: join(repoRoot, 'out', 'release') } } });
  // The layout `make image` just wrote or reused, by its own name: out/image/latest moves with the next build.
  const layout = realpathSync(join(repoRoot, 'out', 'image', 'latest'));
  for (const line of await writeFullRelease(values.out, values.version ?? (await defaultVersion()), layout)) console.log(line);
}
