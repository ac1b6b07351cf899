// The probes of kvcloud's own programs in the bases under config/: none may keep Kubernetes' default 1 s timeout,
// which a Node.js manager on a loaded node misses now and then (a late liveness answer counts as a failure, and
// three in a row restart a healthy pod). Upstream sidecars in the same pods keep their own projects' settings.
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { IMAGE_REPOSITORY } from './image-contents.js';
import { kustomizeBuild, podContainers } from './kustomize.js';

const root = fileURLToPath(new URL('../', import.meta.url));
/** The shortest probe timeout our programs get: long enough for a busy event loop, short next to a 20 s period. */
const MIN_TIMEOUT_SECONDS = 5;
const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;

type ProbedContainer = { name?: string; image?: string } & Partial<Record<(typeof PROBES)[number], { timeoutSeconds?: number }>>;

describe("probe timeouts of kvcloud's programs in config/", function () {
  this.timeout(30_000); // the CRDs are large YAML

  it(`gives every liveness, readiness and startup probe of a ${IMAGE_REPOSITORY} image at least ${String(MIN_TIMEOUT_SECONDS)} s`, async () => {
    const entries = await readdir(join(root, 'config'), { withFileTypes: true, recursive: true });
    const dirs = entries.filter((e) => e.isFile() && e.name === 'kustomization.yaml').map((e) => relative(root, e.parentPath));
    // The bases users apply; one nested in another is built with it.
    const bases = dirs.filter((dir) => !dirs.some((outer) => dir.startsWith(`${outer}/`)));
    const found: string[] = [];
    const short: string[] = [];
    for (const base of bases) {
      for (const object of await kustomizeBuild(root, base)) {
        for (const container of podContainers(object) as ProbedContainer[]) {
          if (!container.image?.startsWith(`${IMAGE_REPOSITORY}/`)) continue;
          for (const kind of PROBES) {
            const probe = container[kind];
            if (!probe) continue;
            const where = `${base}: ${object.kind} ${object.metadata.name ?? ''} container ${container.name ?? ''} ${kind}`;
            found.push(where);
            if ((probe.timeoutSeconds ?? 1) < MIN_TIMEOUT_SECONDS) short.push(`${where}: timeoutSeconds ${String(probe.timeoutSeconds ?? '1 (the default)')}`);
          }
        }
      }
    }
    expect(found, 'probes of our programs found under config/').to.not.be.empty;
    expect(short).to.deep.equal([]);
  });
});
