// `make image`: kvcloud's component images as one OCI image layout under out/image, assembled offline (no Docker
// engine, no registry) from this work tree's compiled programs and production packages on a base made from this
// machine (packaging/image-contents.ts). Every component image shares the base, dependency and program layers and
// differs only in its entrypoint. A layout is keyed by its inputs, so an unchanged tree reuses the one built before,
// and a layer by its own, so a changed program recompresses only its small layer, not the Node binary.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { compiledTree } from './compiled-js.js';
import { APP_DIR, appLayer, withParents, baseLayer, dependenciesLayer, IMAGE_COMPONENTS, IMAGE_PATH, IMAGE_REPOSITORY, IMAGE_TAG, NODE_PATH, NONROOT, nodeToolsLayer, PROTO_CACHE, streamingToolsLayer, TOOLS_EXPORT_DIRS, type ToolsLayer } from './image-contents.js';
import { initLayout, writeImages, writeLayer, type ImageRuntimeConfig, type Layer } from './oci-layout.js';
import type { TarEntry } from './tar.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const OUT = join(repoRoot, 'out', 'image');
/** image-spec's `created` of every image: fixed, so digests depend on content only. */
const CREATED = '2000-01-01T00:00:00Z';
/** The files that decide how a layout is written: a change to them is a new key. */
const BUILDER_SOURCES = ['packaging/image.ts', 'packaging/image-contents.ts', 'packaging/oci-layout.ts', 'packaging/tar.ts'];

export interface BuiltImage {
  reference: string;
  component: string;
  config: ImageRuntimeConfig;
}

export interface ImageLayout {
  /** The OCI layout directory. */
  path: string;
  images: BuiltImage[];
  /** Bytes of the distinct blobs (what a registry stores) and of one image's layers as pulled and as unpacked. */
  sizes: { blobs: number; largestImageCompressed: number; largestImageUnpacked: number };
}

export function imageReference(component: string): string {
  return `${IMAGE_REPOSITORY}/${component}:${IMAGE_TAG}`;
}

export function runtimeConfig(main: string, nodeOptions?: string): ImageRuntimeConfig {
  return {
    Entrypoint: [NODE_PATH, `${APP_DIR}/${main.replace(/\.ts$/, '.js')}`],
    Env: [`PATH=${IMAGE_PATH}`, 'NODE_ENV=production', `KVCLOUD_CACHE=${PROTO_CACHE}`, ...(nodeOptions ? [`NODE_OPTIONS=${nodeOptions}`] : [])],
    User: `${String(NONROOT)}:${String(NONROOT)}`,
    WorkingDir: APP_DIR,
    Labels: { 'org.opencontainers.image.licenses': 'Apache-2.0' },
  };
}

interface Plan {
  layers: Record<'base' | ToolsLayer | 'dependencies' | 'app', TarEntry[]>;
  images: { component: string; reference: string; layers: (keyof Plan['layers'])[]; config: ImageRuntimeConfig }[];
}

function plan(nodeBin: string, protoCache: string): Plan {
  const base = baseLayer(nodeBin);
  return {
    layers: {
      base,
      nodeTools: nodeToolsLayer(base),
      streamingTools: streamingToolsLayer(base, protoCache),
      dependencies: dependenciesLayer(),
      app: appLayer(compiledTree(), protoCache),
    },
    images: IMAGE_COMPONENTS.map((c) => ({
      component: c.name,
      reference: imageReference(c.name),
      layers: c.tools ? ['base', c.tools, 'dependencies', 'app'] : ['base', 'dependencies', 'app'],
      config: runtimeConfig(c.main, c.nodeOptions),
    })),
  };
}

/** A digest of one layer's entries: each one's metadata and its source's size and mtime (or its bytes). */
function layerKey(entries: TarEntry[]): string {
  const hash = createHash('sha256');
  for (const path of BUILDER_SOURCES) hash.update(readFileSync(join(repoRoot, path)));
  for (const e of entries) {
    const content = e.source ? `${e.source}\0${String(statSync(e.source).mtimeMs)}` : createHash('sha256').update(e.data ?? '').digest('hex');
    hash.update(`${e.path}\0${e.type}\0${String(e.mode)}\0${String(e.uid ?? 0)}\0${String(e.size ?? 0)}\0${e.linkTarget ?? ''}\0${content}\n`);
  }
  return hash.digest('hex').slice(0, 16);
}

type LayerKeys = Record<keyof Plan['layers'], string>;

/** The layout's key: its layers' keys and the images made of them. */
function keyOf(p: Plan, keys: LayerKeys): string {
  return createHash('sha256').update(JSON.stringify({ keys, images: p.images })).digest('hex').slice(0, 16);
}

/** Each layout records its layers by key, so the next one links an unchanged layer instead of compressing it again. */
const LAYERS_FILE = 'kvcloud-layers.json';
type LayerRecord = Record<string, { key: string; layer: Layer }>;

function reusableLayers(): Map<string, { layout: string; layer: Layer }> {
  const found = new Map<string, { layout: string; layer: Layer }>();
  for (const entry of readdirSync(OUT, { withFileTypes: true })) {
    const record = join(OUT, entry.name, LAYERS_FILE);
    if (!entry.isDirectory() || !/^[0-9a-f]{16}$/.test(entry.name) || !existsSync(record)) continue;
    for (const { key, layer } of Object.values(JSON.parse(readFileSync(record, 'utf8')) as LayerRecord)) found.set(key, { layout: join(OUT, entry.name), layer });
  }
  return found;
}

async function write(p: Plan, keys: LayerKeys, dest: string): Promise<void> {
  const tmp = `${dest}.building-${String(process.pid)}`;
  rmSync(tmp, { recursive: true, force: true });
  initLayout(tmp);
  try {
    const previous = reusableLayers();
    const layers = {} as Record<keyof Plan['layers'], Layer>;
    for (const name of Object.keys(p.layers) as (keyof Plan['layers'])[]) {
      const reuse = previous.get(keys[name]);
      const blob = (layout: string, layer: Layer): string => join(layout, 'blobs', 'sha256', layer.descriptor.digest.replace(/^sha256:/, ''));
      if (reuse && existsSync(blob(reuse.layout, reuse.layer))) {
        linkSync(blob(reuse.layout, reuse.layer), blob(tmp, reuse.layer));
        layers[name] = reuse.layer;
      } else {
        layers[name] = await writeLayer(tmp, p.layers[name]);
      }
    }
    writeImages(
      tmp,
      p.images.map((image) => ({ reference: image.reference, layers: image.layers.map((l) => layers[l]), config: image.config, created: CREATED })),
    );
    const record: LayerRecord = Object.fromEntries(Object.entries(layers).map(([name, layer]) => [name, { key: keys[name as keyof LayerKeys], layer }]));
    writeFileSync(join(tmp, LAYERS_FILE), JSON.stringify(record, null, 2));
    renameSync(tmp, dest);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function sizesOf(path: string, p: Plan): ImageLayout['sizes'] {
  const record = JSON.parse(readFileSync(join(path, LAYERS_FILE), 'utf8')) as LayerRecord;
  const blobDir = join(path, 'blobs', 'sha256');
  const blobs = readdirSync(blobDir).reduce((sum, name) => sum + statSync(join(blobDir, name)).size, 0);
  const layersOf = (image: Plan['images'][number]): Layer[] => image.layers.flatMap((l) => record[l]?.layer ?? []);
  const sum = (layers: Layer[], size: (l: Layer) => number): number => layers.reduce((total, l) => total + size(l), 0);
  const largest = p.images.map(layersOf).reduce((a, b) => (sum(a, (l) => l.tarSize) >= sum(b, (l) => l.tarSize) ? a : b));
  return { blobs, largestImageCompressed: sum(largest, (l) => l.descriptor.size), largestImageUnpacked: sum(largest, (l) => l.tarSize) };
}

/** Keeps the newest layouts; a test or a developer may still read the one before. */
function prune(keep: string): void {
  const layouts = readdirSync(OUT, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^[0-9a-f]{16}$/.test(e.name) && e.name !== keep)
    .map((e) => ({ path: join(OUT, e.name), mtime: statSync(join(OUT, e.name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const old of layouts.slice(1)) rmSync(old.path, { recursive: true, force: true });
}

/** Where hack/node.sh keeps the Node LTS the image ships, and the tools cache the protos come from. */
function defaults(): { nodeBin: string; protoCache: string } {
  return {
    nodeBin: execFileSync(join(repoRoot, 'hack', 'node.sh'), { encoding: 'utf8' }).trim(),
    protoCache: process.env.KVCLOUD_CACHE ?? join(homedir(), '.cache', 'kvcloud'),
  };
}

/** The layout of this work tree as it is now, written first when an input changed. */
export async function buildImageLayout(opts: Partial<{ nodeBin: string; protoCache: string }> = {}): Promise<ImageLayout> {
  const { nodeBin, protoCache } = { ...defaults(), ...opts };
  const p = plan(nodeBin, protoCache);
  const keys = Object.fromEntries(Object.entries(p.layers).map(([name, entries]) => [name, layerKey(entries)])) as LayerKeys;
  const key = keyOf(p, keys);
  const path = join(OUT, key);
  mkdirSync(OUT, { recursive: true });
  if (!existsSync(path)) {
    await write(p, keys, path);
    prune(key);
  }
  // A rename replaces the link in one step, so a concurrent build never sees it missing.
  const link = join(OUT, `.latest-${String(process.pid)}`);
  rmSync(link, { force: true });
  symlinkSync(key, link);
  renameSync(link, join(OUT, 'latest'));
  return { path, images: p.images.map(({ reference, component, config }) => ({ reference, component, config })), sizes: sizesOf(path, p) };
}

/** Writes `entries` as files under `dir`: the Dockerfile copies them onto its base, so both builds ship one selection. */
function materialize(entries: TarEntry[], dir: string): void {
  for (const entry of entries) {
    const path = join(dir, entry.path);
    if (entry.type === 'dir') mkdirSync(path, { recursive: true });
    else if (entry.type === 'symlink') symlinkSync(entry.linkTarget ?? '', path);
    else if (entry.source !== undefined) copyFileSync(entry.source, path);
    else writeFileSync(path, entry.data ?? '');
    if (entry.type !== 'symlink') chmodSync(path, entry.mode);
  }
}

/** The Dockerfile's part: the programs and packages (app/) and each tools layer (TOOLS_EXPORT_DIRS) under `dir`. */
export function exportRootfs(dir: string, opts: Partial<{ nodeBin: string; protoCache: string }> = {}): void {
  const { nodeBin, protoCache } = { ...defaults(), ...opts };
  const p = plan(nodeBin, protoCache);
  rmSync(dir, { recursive: true, force: true });
  materialize(withParents([...p.layers.dependencies, ...p.layers.app]), join(dir, 'app'));
  for (const [layer, sub] of Object.entries(TOOLS_EXPORT_DIRS)) materialize(p.layers[layer as ToolsLayer], join(dir, sub));
}

const mib = (bytes: number): string => `${(bytes / 1048576).toFixed(1)} MiB`;

const exportIndex = process.argv.indexOf('--export-rootfs');
if (process.argv[1] === fileURLToPath(import.meta.url) && exportIndex > 0) {
  const dir = process.argv[exportIndex + 1];
  if (dir === undefined) throw new Error('--export-rootfs needs a directory');
  exportRootfs(dir);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const started = Date.now();
  const layout = await buildImageLayout();
  console.log(`OCI layout ${layout.path} (also out/image/latest), ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const image of layout.images) console.log(`  ${image.reference}  ${image.config.Entrypoint.join(' ')}`);
  console.log(`blobs ${mib(layout.sizes.blobs)}; the largest image ${mib(layout.sizes.largestImageCompressed)} compressed, ${mib(layout.sizes.largestImageUnpacked)} unpacked`);
}
