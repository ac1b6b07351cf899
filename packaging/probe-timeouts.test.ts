// The probes of kvcloud's own programs in the bases under config/ and in the cluster templates (which run the CCM and
// the CSI driver per tenant): none may keep Kubernetes' default 1 s timeout,
// which a Node.js manager on a loaded node misses now and then (a late liveness answer counts as a failure, and
// three in a row restart a healthy pod). Upstream sidecars in the same pods keep their own projects' settings.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { IMAGE_REPOSITORY } from './image-contents.js';
import { kustomizeBuild, podContainers, type Manifest } from './kustomize.js';

const root = fileURLToPath(new URL('../', import.meta.url));
/** The shortest probe timeout our programs get: long enough for a busy event loop, short next to a 20 s period. */
const MIN_TIMEOUT_SECONDS = 5;
const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;

type ProbedContainer = { name?: string; image?: string } & Partial<Record<(typeof PROBES)[number], { timeoutSeconds?: number }>>;

/** `where` and the probes of our programs' containers in `objects` whose timeout is under the minimum. */
function probesOf(source: string, objects: Manifest[]): { found: string[]; short: string[] } {
  const found: string[] = [];
  const short: string[] = [];
  for (const object of objects) {
    for (const container of podContainers(object) as ProbedContainer[]) {
      // A template names the image through a variable whose default is ours: ${KVCLOUD_CCM_IMAGE:=ghcr.io/kvcloud/ccm:dev}.
      if (!container.image?.replace(/^\$\{[A-Z_]+:=/, '').startsWith(`${IMAGE_REPOSITORY}/`)) continue;
      for (const kind of PROBES) {
        const probe = container[kind];
        if (!probe) continue;
        const where = `${source}: ${object.kind} ${object.metadata.name ?? ''} container ${container.name ?? ''} ${kind}`;
        found.push(where);
        if ((probe.timeoutSeconds ?? 1) < MIN_TIMEOUT_SECONDS) short.push(`${where}: timeoutSeconds ${String(probe.timeoutSeconds ?? '1 (the default)')}`);
      }
    }
  }
  return { found, short };
}

describe("probe timeouts of kvcloud's programs in config/ and templates/", function () {
  this.timeout(30_000); // the CRDs are large YAML

  it(`gives every liveness, readiness and startup probe of a ${IMAGE_REPOSITORY} image in config/ at least ${String(MIN_TIMEOUT_SECONDS)} s`, async () => {
    const entries = await readdir(join(root, 'config'), { withFileTypes: true, recursive: true });
    const dirs = entries.filter((e) => e.isFile() && e.name === 'kustomization.yaml').map((e) => relative(root, e.parentPath));
    // The bases users apply; one nested in another is built with it.
    const bases = dirs.filter((dir) => !dirs.some((outer) => dir.startsWith(`${outer}/`)));
    const results = await Promise.all(bases.map(async (base) => probesOf(base, await kustomizeBuild(root, base))));
    expect(results.flatMap((r) => r.found), 'probes of our programs found under config/').to.not.be.empty;
    expect(results.flatMap((r) => r.short)).to.deep.equal([]);
  });

  it(`gives every probe of a ${IMAGE_REPOSITORY} image in the cluster templates at least ${String(MIN_TIMEOUT_SECONDS)} s`, async () => {
    const entries = await readdir(join(root, 'templates'), { withFileTypes: true, recursive: true });
    const files = entries.filter((e) => e.isFile() && e.name.endsWith('.yaml')).map((e) => relative(root, join(e.parentPath, e.name)));
    const results = await Promise.all(
      files.map(async (file) => probesOf(file, parseAllDocuments(await readFile(join(root, file), 'utf8')).map((d) => d.toJS() as Manifest | null).filter((o): o is Manifest => o !== null))),
    );
    // The default template runs the CCM per tenant; its manager probes /healthz and /readyz.
    expect(results.flatMap((r) => r.found), 'probes of our programs found under templates/').to.include.members([
      'templates/infrastructure/cluster-template.yaml: Deployment ${CLUSTER_NAME}-ccm container kubevirt-cloud-controller-manager livenessProbe',
    ]);
    expect(results.flatMap((r) => r.short)).to.deep.equal([]);
  });
});
