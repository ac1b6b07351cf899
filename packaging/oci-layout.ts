// Writes an OCI image layout (image-spec's image-layout.md): an `oci-layout` marker, `index.json` naming each image by
// its reference, and content-addressed blobs under blobs/sha256 (gzip layers, image configs, manifests). Several
// images may share layers: each is stored once. Tools that read layouts (crane, skopeo, containerd's import) take it.
import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants, createGzip } from 'node:zlib';
import { tarStream, type TarEntry } from './tar.js';

export const MEDIA_TYPES = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
} as const;

/** The annotation a layout's index.json names an image by (image-spec annotations.md). */
export const REF_NAME = 'org.opencontainers.image.ref.name';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

export interface Layer {
  descriptor: Descriptor;
  /** sha256 of the uncompressed tar: the config's rootfs.diff_ids entry. */
  diffID: string;
  /** Bytes the layer unpacks to (its tar), for the size report. */
  tarSize: number;
}

/** The runtime part of an image config (image-spec config.md): what a runtime starts and as whom. */
export interface ImageRuntimeConfig {
  Entrypoint: string[];
  Cmd?: string[];
  Env: string[];
  User: string;
  WorkingDir: string;
  Labels?: Record<string, string>;
}

export interface ImageSpec {
  reference: string;
  layers: Layer[];
  config: ImageRuntimeConfig;
  /** image-spec's `created`; fixed by the caller so the same inputs give the same digests. */
  created: string;
}

class Counter extends Transform {
  readonly hash = createHash('sha256');
  size = 0;
  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    done(null, chunk);
  }
}

function blobPath(layout: string, digest: string): string {
  return join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
}

function writeBlob(layout: string, mediaType: string, content: Buffer, annotations?: Record<string, string>): Descriptor {
  const digest = `sha256:${createHash('sha256').update(content).digest('hex')}`;
  writeFileSync(blobPath(layout, digest), content);
  return { mediaType, digest, size: content.length, ...(annotations ? { annotations } : {}) };
}

/** Starts a layout in `layout` (an empty or new directory). */
export function initLayout(layout: string): void {
  mkdirSync(join(layout, 'blobs', 'sha256'), { recursive: true });
  writeFileSync(join(layout, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
}

/** Archives `entries` as one gzip layer into the layout's blobs. */
export async function writeLayer(layout: string, entries: TarEntry[]): Promise<Layer> {
  const tar = new Counter();
  const gz = new Counter();
  const tmp = join(layout, 'blobs', `.layer-${String(process.pid)}`);
  // Level 6 (zlib's default) is what image tools use: higher levels cost seconds on the Node binary for ~1% less.
  await pipeline(Readable.from(tarStream(entries)), tar, createGzip({ level: constants.Z_DEFAULT_COMPRESSION }), gz, createWriteStream(tmp));
  const digest = `sha256:${gz.hash.digest('hex')}`;
  renameSync(tmp, blobPath(layout, digest));
  return { descriptor: { mediaType: MEDIA_TYPES.layer, digest, size: gz.size }, diffID: `sha256:${tar.hash.digest('hex')}`, tarSize: tar.size };
}

/** Writes each image's config and manifest, then index.json listing them by reference. */
export function writeImages(layout: string, images: ImageSpec[]): Descriptor[] {
  const manifests = images.map((image) => {
    const config = {
      created: image.created,
      architecture: 'amd64',
      os: 'linux',
      config: image.config,
      rootfs: { type: 'layers', diff_ids: image.layers.map((l) => l.diffID) },
      history: image.layers.map(() => ({ created: image.created, created_by: 'kvcloud make image' })),
    };
    const configDescriptor = writeBlob(layout, MEDIA_TYPES.config, Buffer.from(JSON.stringify(config)));
    const manifest = { schemaVersion: 2, mediaType: MEDIA_TYPES.manifest, config: configDescriptor, layers: image.layers.map((l) => l.descriptor) };
    return writeBlob(layout, MEDIA_TYPES.manifest, Buffer.from(JSON.stringify(manifest)), { [REF_NAME]: image.reference });
  });
  writeFileSync(join(layout, 'index.json'), JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPES.index, manifests }, null, 2));
  return manifests;
}
