// Root hooks for every end-to-end suite: the shared management plane is stopped after the run, and the run
// must leave no process and no file behind.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { stopSharedPlane } from '../harness/plane.js';
import { liveProcesses } from '../harness/process.js';
import { processesReferencing, runDir } from '../harness/run-dir.js';

// What the process holds before any suite runs (its own stdio among them), so the exit report names only what
// the suites opened and left open.
const resourcesAtStart = process.getActiveResourcesInfo();

/** The resources open now that were not open at the start, one entry per extra handle. */
function resourcesOpenedSinceStart(): string[] {
  const baseline = [...resourcesAtStart];
  return process.getActiveResourcesInfo().filter((r) => {
    const i = baseline.indexOf(r);
    if (i < 0) return true;
    baseline.splice(i, 1);
    return false;
  });
}

export const mochaHooks = {
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopSharedPlane();
    const dir = runDir();
    const still = liveProcesses().map((p) => `${p.spec.name} (pid ${p.pid})`);
    const strays = processesReferencing(dir);
    const leftovers = existsSync(dir) ? readdirSync(dir) : [];
    rmSync(dir, { recursive: true, force: true });
    if (still.length > 0 || strays.length > 0 || leftovers.length > 0) {
      throw new Error(
        `the test run left things behind:\n  processes: ${[...still, ...strays].join(', ') || 'none'}\n  files in ${dir}: ${leftovers.join(', ') || 'none'}`,
      );
    }
    console.log(`  teardown: no process and no file of the run left (${dir})`);
    // mocha runs with exit: true so a forgotten timer or socket cannot hold CI until its deadline; name what is
    // still open when it exits, so leaks still get found and closed.
    process.once('exit', () => {
      const open = resourcesOpenedSinceStart();
      if (open.length > 0) console.log(`  teardown: handles still open when mocha exited: ${open.join(', ')}`);
    });
  },
};
