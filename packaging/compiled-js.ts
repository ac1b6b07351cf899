// kvcloud's programs run as compiled JavaScript, the way they ship, not as TypeScript transpiled at load time: a
// process started through a TypeScript loader spends about a second more CPU starting and holds ~60 MiB more, and
// the local cloud starts one per VM, kube-proxy and operator. The compiled tree mirrors the repository (each .ts a
// .js beside a source map, every other file the programs read copied), so `new URL('proto/', import.meta.url)`
// and the relative imports resolve inside it, and node_modules is found by walking up to the repository's.
//
// A program that itself runs compiled (the guest simulator starting a node's kube-proxy) resolves programs in its
// own tree, marked by MARKER: it neither compiles nor needs the sources.
//
// A tree is keyed by what it was compiled from (every input's path, size and mtime), so an edited source gets a
// new tree on the next program start and concurrent builders of one key never write into the same directory.
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, utimesSync, writeFileSync, type Stats } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync, type BuildOptions } from 'esbuild';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
/** The parts whose code runs as a program of the local cloud, and what those programs import. */
const SOURCE_DIRS = ['lib', 'providers', 'ccm', 'csi', 'streaming', 'simulators', 'localcloud', 'packaging'];
/** Files outside SOURCE_DIRS that the programs read (the upstream versions the simulators and images follow). */
const EXTRA_FILES = ['e2e/tools/versions.env'];
const OUT = join(repoRoot, 'out', 'js');
const MARKER = '.kvcloud-compiled';
/** A tree no program started from for this long is removed; a shard or a developer's cluster may still run it. */
const UNUSED_MS = 6 * 3600_000;
/** How long a computed key is trusted before the inputs are looked at again. */
const RECHECK_MS = 2000;
/**
 * The esbuild options that decide what a compiled file holds, beside the output directory and the repository root as
 * outbase. The Tiltfile's compile resource passes the same as flags (packaging/tiltfile.test.ts holds it to these).
 */
export const COMPILE_OPTIONS = { format: 'esm', platform: 'node', target: 'es2024', sourcemap: true } as const satisfies BuildOptions;

interface Input {
  path: string;
  stats: Stats;
}

function walk(dir: string, into: Input[]): void {
  for (const entry of readdirSync(join(repoRoot, dir), { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) walk(path, into);
    else if (entry.isFile() && !entry.name.endsWith('.test.ts')) into.push({ path, stats: statSync(join(repoRoot, path)) });
  }
}

function inputs(): Input[] {
  const found: Input[] = [];
  for (const dir of SOURCE_DIRS) walk(dir, found);
  for (const path of EXTRA_FILES) found.push({ path, stats: statSync(join(repoRoot, path)) });
  return found.sort((a, b) => (a.path < b.path ? -1 : 1));
}

function keyOf(files: Input[]): string {
  const hash = createHash('sha256');
  for (const { path, stats } of files) hash.update(`${path}\0${String(stats.size)}\0${String(stats.mtimeMs)}\n`);
  return hash.digest('hex').slice(0, 16);
}

function build(files: Input[], dest: string): void {
  const tmp = join(OUT, `.building-${String(process.pid)}-${Date.now().toString(36)}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const sources = files.filter((f) => f.path.endsWith('.ts')).map((f) => join(repoRoot, f.path));
    buildSync({ ...COMPILE_OPTIONS, entryPoints: sources, outdir: tmp, outbase: repoRoot, logLevel: 'error' });
    for (const { path } of files) {
      if (path.endsWith('.ts')) continue;
      mkdirSync(dirname(join(tmp, path)), { recursive: true });
      copyFileSync(join(repoRoot, path), join(tmp, path));
    }
    writeFileSync(join(tmp, MARKER), `${new Date().toISOString()}\n`);
    // One rename publishes the tree; a builder that lost the race to another finds it there and drops its own.
    try {
      renameSync(tmp, dest);
    } catch (err) {
      if (!existsSync(dest)) throw err;
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function prune(): void {
  const cutoff = Date.now() - UNUSED_MS;
  for (const entry of readdirSync(OUT, { withFileTypes: true })) {
    const path = join(OUT, entry.name);
    if (entry.isDirectory() && !entry.name.startsWith('.') && statSync(path).mtimeMs < cutoff) rmSync(path, { recursive: true, force: true });
  }
}

let last: { tree: string; at: number } | undefined;

/** The compiled tree of the working tree as it is now, compiling it first when a source changed. */
export function compiledTree(): string {
  if (existsSync(join(repoRoot, MARKER))) return repoRoot;
  if (last && Date.now() - last.at < RECHECK_MS) return last.tree;
  const files = inputs();
  const tree = join(OUT, keyOf(files));
  if (existsSync(tree)) {
    const now = new Date();
    utimesSync(tree, now, now); // in use: prune keeps it
  } else {
    build(files, tree);
    prune();
  }
  last = { tree, at: Date.now() };
  return tree;
}

/** The compiled file of a kvcloud program (its .ts path, absolute or from the repository root), for `node <file>`. */
export function compiledMain(main: string): string {
  const path = isAbsolute(main) ? relative(repoRoot, main) : main;
  if (!path.endsWith('.ts') || path.startsWith('..')) throw new Error(`${main} is no TypeScript file of the repository`);
  return join(compiledTree(), path.replace(/\.ts$/, '.js'));
}
