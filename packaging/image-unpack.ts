// Unpacks one image of an OCI layout into a root filesystem, as a container runtime does before it starts the
// entrypoint: the image's manifest is found by reference in index.json and its layers are extracted in order.
// The layers are read by the system's tar, not by the code that wrote them, so a flaw in either shows.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { REF_NAME, type Descriptor, type ImageRuntimeConfig } from './oci-layout.js';

const blob = (layout: string, digest: string): string => join(layout, 'blobs', 'sha256', digest.replace(/^sha256:/, ''));
const readJSON = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'));

export interface ImageManifest {
  config: Descriptor;
  layers: Descriptor[];
}

/** The index entry of `reference` in the layout (its manifest's digest); an unknown reference names the ones the layout has. */
export function imageDescriptor(layout: string, reference: string): Descriptor {
  const index = readJSON(join(layout, 'index.json')) as { manifests: Descriptor[] };
  const entry = index.manifests.find((m) => m.annotations?.[REF_NAME] === reference);
  if (!entry) throw new Error(`${layout} has no image ${reference}; it has ${index.manifests.map((m) => m.annotations?.[REF_NAME] ?? m.digest).join(', ')}`);
  return entry;
}

/** The manifest of `reference` in the layout. */
export function imageManifest(layout: string, reference: string): ImageManifest {
  return readJSON(blob(layout, imageDescriptor(layout, reference).digest)) as ImageManifest;
}

/** The runtime config of `reference` (entrypoint, env, user, working directory). */
export function imageConfig(layout: string, reference: string): ImageRuntimeConfig {
  return (readJSON(blob(layout, imageManifest(layout, reference).config.digest)) as { config: ImageRuntimeConfig }).config;
}

/** Extracts the layers of `reference` into `root` (an empty directory), owners and modes as archived. */
export async function unpackImage(layout: string, reference: string, root: string): Promise<ImageRuntimeConfig> {
  for (const layer of imageManifest(layout, reference).layers) {
    await promisify(execFile)('tar', ['-xzf', blob(layout, layer.digest), '-C', root, '--numeric-owner', '--same-permissions']);
  }
  return imageConfig(layout, reference);
}
