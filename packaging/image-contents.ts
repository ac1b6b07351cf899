// What kvcloud's image holds, as tar entries per layer, built from this machine without a registry: the same file
// layout as the Dockerfile's final stages (gcr.io/distroless/nodejs<lts> plus /app), so `make image` and
// `docker build` make one image. The base is the Node LTS binary hack/node.sh provides and the shared libraries the
// dynamic loader resolves for it, taken from this machine's Debian packages (recorded under var/lib/dpkg/status.d,
// as distroless does, so scanners see them); the CSI node plugin's image adds the programs it runs on a node, the
// streaming operator's the programs operators and the operator itself run in its pod.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defaultCsiProtoPath } from '../csi/spec.js';
import { defaultRegistrationProtoPath } from '../csi/registration.js';
import { defaultSnapshotCrdsPath } from '../csi/snapshot-crds.js';
import { NODE_TOOLS } from '../csi/node/mounts.js';
import type { TarEntry } from './tar.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

export interface ImageComponent {
  /** The repository's last part: ghcr.io/kvcloud/<name>. */
  name: string;
  /** The program, as its TypeScript source; the image runs its compiled .js under APP_DIR. */
  main: string;
  /** Executables upstream's manifests name as `command`, which the image then has too. */
  executables?: string[];
  /** The layer of programs only this component's image adds on the shared ones. */
  tools?: ToolsLayer;
  /** V8 flags for the image's Node, as NODE_OPTIONS (so the entrypoint stays node and the program). */
  nodeOptions?: string;
}

/**
 * nodeTools: the CSI node plugin formats, mounts and grows filesystems with the node's tools. streamingTools:
 * operators `kubectl exec` into the streaming operator's pod to run crictl against its CRI socket, and the operator
 * names each session's caller from `ss` (streaming/operator/caller.ts).
 */
export type ToolsLayer = 'nodeTools' | 'streamingTools';
/** Where the Dockerfile's build stage exports each tools layer (packaging/image.ts --export-rootfs). */
export const TOOLS_EXPORT_DIRS: Record<ToolsLayer, string> = { nodeTools: 'node-tools', streamingTools: 'streaming-tools' };

/** One image per component from one Dockerfile (`--target <name>`): they differ only in entrypoint. */
export const IMAGE_COMPONENTS: ImageComponent[] = [
  { name: 'infrastructure-manager', main: 'providers/infrastructure/main.ts' },
  // A 1 MiB semi-space: V8 lets the young generation grow to 16 MiB semi-spaces in a burst of work (tenants being
  // created) and those pages stay resident, while the operator's live data is small, so the extra scavenges cost
  // little. bench/operator-image-rss.ts, same tree with and without: idle 111 -> 100 MiB RSS, 11.2 -> 5.5 MiB per
  // TenantControlPlane with 5 of them. No old-space cap: it saved nothing measurable and would only add an OOM.
  { name: 'controlplane-manager', main: 'providers/controlplane/main.ts', nodeOptions: '--max-semi-space-size=1' },
  // Upstream's kccm manifests run /bin/kubevirt-cloud-controller-manager.
  { name: 'ccm', main: 'ccm/main.ts', executables: ['/bin/kubevirt-cloud-controller-manager'] },
  { name: 'csi-driver', main: 'csi/main.ts', tools: 'nodeTools' },
  { name: 'autoscaler', main: 'providers/autoscaler/main.ts' },
  { name: 'streaming-operator', main: 'streaming/operator/main.ts', tools: 'streamingTools' },
];

export const IMAGE_REPOSITORY = 'ghcr.io/kvcloud';
export const IMAGE_TAG = 'dev';
export const NODE_PATH = '/nodejs/bin/node';
export const APP_DIR = '/app';
/** distroless's nonroot user: the control plane pods' uid too. */
export const NONROOT = 65532;
/** Where the CSI driver finds the files below (its KVCLOUD_CACHE layout). */
export const PROTO_CACHE = '/usr/share/kvcloud';
/** The component directories the programs are made of; nothing else of the compiled tree ships. */
const APP_SOURCE_DIRS = ['lib', 'providers', 'ccm', 'csi', 'streaming'];
export const IMAGE_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

const file = (path: string, source: string, mode = 0o644): TarEntry => ({ path, type: 'file', mode, source, size: statSync(source).size });
const data = (path: string, content: string, mode = 0o644): TarEntry => ({ path, type: 'file', mode, data: Buffer.from(content) });
const dir = (path: string, mode = 0o755, owner = 0): TarEntry => ({ path, type: 'dir', mode, uid: owner, gid: owner });

/** Adds the parent directories every entry needs, then sorts, so a layer unpacks the same with any tool. */
export function withParents(entries: TarEntry[]): TarEntry[] {
  const byPath = new Map(entries.map((e) => [e.path, e]));
  for (const entry of entries) {
    for (let parent = dirname(entry.path); parent !== '.' && !byPath.has(parent); parent = dirname(parent)) byPath.set(parent, dir(parent));
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** The shared libraries the dynamic loader resolves for `program` (its interpreter included), by the path it uses. */
export function sharedLibraries(program: string): string[] {
  const out = execFileSync('ldd', [program], { encoding: 'utf8' });
  const paths: string[] = [];
  for (const line of out.split('\n')) {
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) paths.push(m[1]);
  }
  if (paths.length === 0) throw new Error(`ldd ${program} listed no library: ${out.trim()}`);
  return paths;
}

/** The Debian package that installed each path, from dpkg's file lists (one read, not a dpkg-query per file). */
function owningPackages(paths: string[]): string[] {
  // dpkg records a file by the path its package ships it at, which merged /usr may show under another name.
  const names = new Map<string, string>();
  for (const path of paths) {
    for (const candidate of [path, realpathSync(path), path.replace(/^\/usr\//, '/'), `/usr${path}`]) names.set(candidate, path);
  }
  const owners = new Map<string, string>();
  const info = '/var/lib/dpkg/info';
  for (const list of readdirSync(info).filter((f) => f.endsWith('.list'))) {
    for (const line of readFileSync(join(info, list), 'utf8').split('\n')) {
      const path = names.get(line);
      if (path !== undefined) owners.set(path, list.replace(/\.list$/, ''));
    }
  }
  const unowned = paths.filter((p) => !owners.has(p));
  if (unowned.length > 0) throw new Error(`no Debian package of this machine owns ${unowned.join(', ')}: the image records the package of every file it takes`);
  return [...new Set(owners.values())].sort();
}

/** What the packages of `paths` are (dpkg's status of each, as distroless ships it) and their licences. */
function packageRecords(paths: string[]): TarEntry[] {
  return owningPackages(paths).flatMap((pkg) => {
    const name = pkg.split(':')[0] ?? pkg;
    const status = execFileSync('dpkg-query', ['-s', pkg], { encoding: 'utf8' });
    const copyright = `/usr/share/doc/${name}/copyright`;
    return [data(`var/lib/dpkg/status.d/${name}`, status), ...(existsSync(copyright) ? [file(`usr/share/doc/${name}/copyright`, copyright)] : [])];
  });
}

const libraryEntries = (libs: string[]): TarEntry[] => libs.map((lib) => file(lib.slice(1), realpathSync(lib), 0o755));

/** The base: Node, its libraries, the users, writable /tmp. `nodeBin` is hack/node.sh's directory. */
export function baseLayer(nodeBin: string): TarEntry[] {
  const node = realpathSync(join(nodeBin, 'node'));
  const libs = sharedLibraries(node);
  const nodePackage = dirname(dirname(node));
  return withParents([
    file(NODE_PATH.slice(1), node, 0o755),
    file('nodejs/LICENSE', join(nodePackage, 'LICENSE')),
    ...libraryEntries(libs),
    ...packageRecords(libs),
    data('etc/passwd', `root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:${String(NONROOT)}:${String(NONROOT)}:nonroot:/home/nonroot:/sbin/nologin\n`),
    data('etc/group', `root:x:0:\nnonroot:x:${String(NONROOT)}:\n`),
    dir('home/nonroot', 0o700, NONROOT),
    dir('root', 0o700),
    dir('tmp', 0o1777),
    // Where a runtime mounts the kernel's filesystems (a read-only root cannot get them made later).
    dir('dev'),
    dir('proc'),
    dir('sys'),
  ]);
}

/** `names` as this machine has them on IMAGE_PATH, with the libraries they link that `base` lacks and their packages. */
function machinePrograms(names: readonly string[], base: TarEntry[], whoRuns: string, install: string): TarEntry[] {
  const inBase = new Set(base.map((e) => e.path));
  const programs = names.map((tool) => {
    const found = IMAGE_PATH.split(':')
      .map((d) => join(d, tool))
      .find((p) => existsSync(p));
    if (!found) throw new Error(`${whoRuns} runs ${tool}, which this machine does not have on ${IMAGE_PATH} (apt-get install ${install})`);
    return found;
  });
  const libs = [...new Set(programs.flatMap(sharedLibraries))].filter((lib) => !inBase.has(lib.slice(1)));
  return [...programs.map((p) => file(p.slice(1), realpathSync(p), 0o755)), ...libraryEntries(libs), ...packageRecords([...programs, ...libs])];
}

/** The programs the CSI node plugin runs (csi/node/mounts.ts NODE_TOOLS), from this machine, with their libraries. */
export function nodeToolsLayer(base: TarEntry[]): TarEntry[] {
  const config = existsSync('/etc/mke2fs.conf') ? [file('etc/mke2fs.conf', '/etc/mke2fs.conf')] : [];
  return withParents([...machinePrograms(NODE_TOOLS, base, 'the CSI node plugin', 'util-linux mount e2fsprogs'), ...config]);
}

/** A version e2e/tools/versions.env pins, which the tools cache names its builds by. */
export function pinnedVersion(key: string): string {
  const version = new RegExp(`^${key}=(\\S+)$`, 'm').exec(readFileSync(join(repoRoot, 'e2e', 'tools', 'versions.env'), 'utf8'))?.[1];
  if (version === undefined) throw new Error(`e2e/tools/versions.env pins no ${key}`);
  return version;
}

/** crictl, a static program, as the tools cache holds it (the one the e2e suites run). */
export function crictlPath(toolsCache: string): string {
  return join(toolsCache, 'bin', `cri-tools-${pinnedVersion('CRI_TOOLS_VERSION')}`, 'crictl');
}

/** The streaming operator's programs: crictl from the tools cache, `ss` (iproute2) from this machine. */
export function streamingToolsLayer(base: TarEntry[], toolsCache: string): TarEntry[] {
  const crictl = crictlPath(toolsCache);
  if (!existsSync(crictl)) throw new Error(`${crictl} is missing: \`e2e/tools/build.sh cri-tools\` makes it`);
  return withParents([file('usr/local/bin/crictl', crictl, 0o755), ...machinePrograms(['ss'], base, 'the streaming operator', 'iproute2')]);
}

interface LockPackage {
  dev?: boolean;
  optional?: boolean;
  link?: boolean;
}

/** The production packages of the lockfile (what `npm ci --omit=dev` installs), by their node_modules path. */
export function productionPackages(lockfile = join(repoRoot, 'package-lock.json')): { path: string; optional: boolean }[] {
  const lock = JSON.parse(readFileSync(lockfile, 'utf8')) as { packages: Record<string, LockPackage> };
  return Object.entries(lock.packages)
    .filter(([path, pkg]) => path !== '' && pkg.dev !== true)
    .map(([path, pkg]) => {
      if (pkg.link) throw new Error(`${path} is a linked package; the image copies installed packages only`);
      return { path, optional: pkg.optional === true };
    })
    .sort((a, b) => (a.path < b.path ? -1 : 1));
}

function walkFiles(root: string, rel: string, skip: (rel: string) => boolean, into: TarEntry[], prefix: string): void {
  for (const entry of readdirSync(join(root, rel), { withFileTypes: true })) {
    const path = join(rel, entry.name);
    if (skip(path)) continue;
    const source = join(root, path);
    if (entry.isDirectory()) walkFiles(root, path, skip, into, prefix);
    else if (entry.isFile()) into.push(file(join(prefix, path), source, statSync(source).mode & 0o111 ? 0o755 : 0o644));
    else if (entry.isSymbolicLink()) into.push({ path: join(prefix, path), type: 'symlink', mode: 0o777, linkTarget: realpathRelative(source) });
  }
}

// npm links package binaries (node_modules/.bin), which production code never runs: a link stays a relative link.
function realpathRelative(link: string): string {
  return relative(dirname(link), realpathSync(link));
}

/** What no program loads from a package: type declarations and TypeScript sources (Node strips no types under
 * node_modules), source maps, and npm's links to package binaries. */
const notLoaded = (rel: string): boolean => rel === 'node_modules' || rel === '.bin' || /\.(?:[cm]?ts|map)$/.test(rel);

/** The production packages from this work tree's node_modules, each without its nested node_modules (listed apart). */
export function dependenciesLayer(): TarEntry[] {
  const entries: TarEntry[] = [];
  for (const { path, optional } of productionPackages()) {
    const source = join(repoRoot, path);
    if (!existsSync(join(source, 'package.json'))) {
      // npm leaves out an optional package whose build failed here (ssh2's cpu-features): the program runs without it.
      if (optional) continue;
      throw new Error(`${path} is not installed (run \`make deps\`)`);
    }
    walkFiles(source, '', notLoaded, entries, join(APP_DIR.slice(1), path));
  }
  return withParents(entries);
}

/**
 * The files the CSI driver reads from the tools cache by default (csi.proto, the kubelet registration api.proto, the
 * VolumeSnapshot CRDs it applies into tenants), as paths inside a cache: the driver's own defaults say which.
 */
export function csiCacheFiles(): string[] {
  const env = { KVCLOUD_CACHE: '/' };
  return [defaultCsiProtoPath(env), defaultRegistrationProtoPath(env), defaultSnapshotCrdsPath(env)].map((p) => p.slice(1));
}

/** A compiled tree file the programs do not read: tests' data, docs, source maps. */
const notShipped = (rel: string): boolean => /\.testdata\.js$|\.map$|\.md$|\.test\.js$/.test(rel);

/** The compiled programs (a tree packaging/compiled-js.ts made), the CSI driver's cache files, the launchers. */
export function appLayer(compiledTree: string, toolsCache: string): TarEntry[] {
  const app = APP_DIR.slice(1);
  const entries: TarEntry[] = [data(`${app}/package.json`, `${JSON.stringify({ name: 'kvcloud', private: true, type: 'module' }, null, 2)}\n`)];
  for (const sourceDir of APP_SOURCE_DIRS) walkFiles(join(compiledTree, sourceDir), '', notShipped, entries, join(app, sourceDir));
  for (const path of csiCacheFiles()) {
    const source = join(toolsCache, path);
    if (!existsSync(source)) throw new Error(`${source} is missing: \`e2e/tools/build.sh csi-spec csi-registration csi-snapshotter\` makes it`);
    entries.push(file(join(PROTO_CACHE.slice(1), path), source));
  }
  for (const component of IMAGE_COMPONENTS) {
    for (const executable of component.executables ?? []) {
      // No shell in the image: the kernel runs the launcher through its #! line.
      entries.push(data(executable.slice(1), `#!${NODE_PATH}\nimport '${APP_DIR}/${component.main.replace(/\.ts$/, '.js')}';\n`, 0o755));
    }
  }
  return withParents(entries);
}
