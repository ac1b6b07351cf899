// The part of kustomize kvcloud's bases use, so packaging reads them as `kubectl apply -k` does without a kustomize
// binary: `resources` (files, and directories followed into their own kustomization.yaml) and `images` (a base
// names its image there, so a user sets the reference with `kustomize edit set image` and not in the manifests).
// Anything else is refused, so a release can never silently differ from a kustomize build.
import { readFile, stat } from 'node:fs/promises';
import { join, normalize } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import type { KubeObject } from '../lib/kube/object.js';

/** A manifest file under the repository root and its text. */
export interface SourceFile {
  path: string;
  text: string;
}

/** A manifest object with the fields packaging looks at. */
export interface Manifest extends KubeObject {
  apiVersion: string;
  kind: string;
  [field: string]: unknown;
}

/** Every object of a multi-document YAML file; empty documents (comments only) are skipped. */
export function parseManifests(source: SourceFile): Manifest[] {
  const objects: Manifest[] = [];
  for (const doc of parseAllDocuments(source.text)) {
    if (doc.errors.length > 0) throw new Error(`${source.path}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    const obj = value as Partial<Manifest>;
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string' || typeof obj.metadata?.name !== 'string') {
      throw new Error(`${source.path}: every document needs apiVersion, kind and metadata.name`);
    }
    objects.push(obj as Manifest);
  }
  return objects;
}

/** One `images` entry (kustomize's images transformer): a container image named `name` becomes the new reference. */
export interface KustomizeImage {
  name: string;
  newName?: string;
  newTag?: string;
  digest?: string;
}

interface Kustomization {
  resources?: string[];
  images?: KustomizeImage[];
}

const SUPPORTED = ['apiVersion', 'kind', 'resources', 'images'];

async function readKustomization(root: string, dir: string): Promise<Kustomization> {
  const file = join(dir, 'kustomization.yaml');
  const k = (parse(await readFile(join(root, file), 'utf8')) ?? {}) as Kustomization;
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED.includes(key));
  if (unsupported.length > 0) throw new Error(`${file}: only ${SUPPORTED.slice(2).join(' and ')} are supported, not ${unsupported.join(', ')}`);
  // A YAML entry may lack what the type promises.
  if ((k.images ?? []).some((image: Partial<KustomizeImage>) => typeof image.name !== 'string')) throw new Error(`${file}: every images entry needs a name`);
  return k;
}

/** The files a kustomization lists, directories followed into their own kustomization.yaml, in order. */
export async function kustomizationFiles(root: string, dir: string): Promise<string[]> {
  const files: string[] = [];
  for (const resource of (await readKustomization(root, dir)).resources ?? []) {
    const path = normalize(join(dir, resource));
    if ((await stat(join(root, path))).isDirectory()) files.push(...(await kustomizationFiles(root, path)));
    else files.push(path);
  }
  return files;
}

/** An image reference split as kustomize matches it: the name, and the tag or digest after it. */
function splitImage(reference: string): { name: string; suffix: string } {
  const at = reference.indexOf('@');
  if (at >= 0) return { name: reference.slice(0, at), suffix: reference.slice(at) };
  // A colon after the last slash starts the tag; one before it belongs to a registry's port.
  const colon = reference.lastIndexOf(':');
  return colon > reference.lastIndexOf('/') ? { name: reference.slice(0, colon), suffix: reference.slice(colon) } : { name: reference, suffix: '' };
}

/** `reference` after the images transformer: each entry naming its image applies in turn, as in kustomize. */
export function transformImage(reference: string, images: readonly KustomizeImage[]): string {
  return images.reduce((current, image) => {
    const { name, suffix } = splitImage(current);
    if (image.name !== name) return current;
    const tag = image.newTag !== undefined ? `:${image.newTag}` : undefined;
    const tagOrDigest = image.digest !== undefined ? `${tag ?? ''}@${image.digest}` : (tag ?? suffix);
    return `${image.newName ?? name}${tagOrDigest}`;
  }, reference);
}

interface Container {
  image?: string;
}

/** The containers of a workload's pod template (or of a bare Pod), where kustomize looks for images. */
export function podContainers(object: Manifest): Container[] {
  const spec = object.spec as { template?: { spec?: Record<string, unknown> }; jobTemplate?: { spec?: { template?: { spec?: Record<string, unknown> } } } } | undefined;
  const pod = (object.kind === 'Pod' ? (object.spec as Record<string, unknown> | undefined) : (spec?.template?.spec ?? spec?.jobTemplate?.spec?.template?.spec)) ?? {};
  return ['initContainers', 'containers', 'ephemeralContainers'].flatMap((field) => (pod[field] ?? []) as Container[]);
}

/** What `kubectl kustomize <dir>` builds from kvcloud's bases, objects in resource order. */
export async function kustomizeBuild(root: string, dir: string): Promise<Manifest[]> {
  const k = await readKustomization(root, dir);
  const objects: Manifest[] = [];
  for (const resource of k.resources ?? []) {
    const path = normalize(join(dir, resource));
    if ((await stat(join(root, path))).isDirectory()) objects.push(...(await kustomizeBuild(root, path)));
    else objects.push(...parseManifests({ path, text: await readFile(join(root, path), 'utf8') }));
  }
  for (const container of objects.flatMap(podContainers)) {
    if (container.image !== undefined) container.image = transformImage(container.image, k.images ?? []);
  }
  return objects;
}
