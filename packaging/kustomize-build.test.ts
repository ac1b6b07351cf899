// Every kustomization under config/ as users and clusterctl's releases take it: built by the real kustomize (the one
// in kubectl at the pinned Kubernetes version) with its default load restrictor, which refuses any file outside a
// base's directory. What it builds must also be what packaging/kustomize.ts reads, since the releases are made by it.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { pinnedVersion } from './image-contents.js';
import { kustomizeBuild, type Manifest } from './kustomize.js';

const root = fileURLToPath(new URL('../', import.meta.url));

/**
 * kubectl as `make tools` builds it. Unit tests run before `make tools` in `make test`, so it is built here on first
 * use (a no-op once it is there; from a cold Go cache the whole Kubernetes build takes tens of minutes).
 */
function kubectl(): string {
  execFileSync('bash', [join(root, 'e2e', 'tools', 'build.sh'), 'kubernetes'], { stdio: 'ignore' });
  const path = join(process.env.KVCLOUD_CACHE ?? join(homedir(), '.cache', 'kvcloud'), 'bin', `kubernetes-${pinnedVersion('KUBERNETES_VERSION')}`, 'kubectl');
  if (!existsSync(path)) throw new Error(`${path} is missing after e2e/tools/build.sh kubernetes: run \`make tools\` where Go is installed`);
  return path;
}

/** Every directory under config/ holding a kustomization.yaml, relative to the repository root. */
async function kustomizationDirs(): Promise<string[]> {
  const entries = await readdir(join(root, 'config'), { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile() && e.name === 'kustomization.yaml')
    .map((e) => relative(root, e.parentPath))
    .sort();
}

/** An object's identity as kustomize and the apiserver tell objects apart: group, kind, namespace and name. */
const identity = (o: Manifest) => `${o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] ?? '' : ''}/${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

describe('every kustomization under config/, built by kubectl kustomize', function () {
  let bin: string;
  let dirs: string[];
  before(async function () {
    this.timeout(3_600_000);
    bin = kubectl();
    dirs = await kustomizationDirs();
  });

  it('finds the bases users apply, the CRD bases of both providers among them', () => {
    expect(dirs).to.include.members(['config/autoscaler', 'config/controlplane', 'config/controlplane/crd', 'config/infrastructure', 'config/infrastructure/crd', 'config/csi/controller', 'config/csi/tenant', 'config/streaming']);
  });

  it('builds each with the default load restrictor into objects with unique identities, the same packaging/kustomize.ts reads', async function () {
    this.timeout(120_000);
    // No --load-restrictor: a base that names a file outside its directory fails here as it fails for users.
    const outputs = await Promise.all(dirs.map(async (dir) => (await promisify(execFile)(bin, ['kustomize', join(root, dir)], { encoding: 'utf8', maxBuffer: 64 << 20 })).stdout));
    for (const [i, dir] of dirs.entries()) {
      const output = outputs[i] ?? '';
      const docs = parseAllDocuments(output);
      for (const d of docs) expect(d.errors.map((e) => e.message), dir).to.deep.equal([]);
      const objects = docs.map((d) => d.toJS() as Manifest | null).filter((o): o is Manifest => o !== null);
      expect(objects, `${dir}: kubectl kustomize built nothing`).to.not.be.empty;
      for (const o of objects) expect([typeof o.apiVersion, typeof o.kind, typeof o.metadata.name], `${dir}: ${JSON.stringify(o).slice(0, 80)}`).to.deep.equal(['string', 'string', 'string']);
      const ids = objects.map(identity);
      expect(ids.filter((id, i) => ids.indexOf(id) !== i), `${dir}: objects defined twice`).to.deep.equal([]);
      // kustomize orders its output by kind; packaging keeps the resource order, which the releases sort themselves.
      const byId = (list: Manifest[]) => Object.fromEntries(list.map((o) => [identity(o), o]));
      expect(byId(await kustomizeBuild(root, dir)), dir).to.deep.equal(byId(objects));
    }
  });
});
