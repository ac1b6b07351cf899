// Root hooks for every end-to-end suite: the shared management plane is stopped after the run, and the run
// must leave no process and no file behind.
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { stopSharedPlane } from '../../localcloud/plane.js';
import { liveProcesses } from '../../localcloud/process.js';
import { processesReferencing, runDir } from '../../localcloud/run-dir.js';

// What the process holds before any suite runs (its own stdio among them), so the exit report names only what
// the suites opened and left open.
const resourcesAtStart = process.getActiveResourcesInfo();

/** The handles in `now` beyond those in `before`, one entry per extra handle. */
function opened(before: string[], now: string[]): string[] {
  const baseline = [...before];
  return now.filter((r) => {
    const i = baseline.indexOf(r);
    if (i < 0) return true;
    baseline.splice(i, 1);
    return false;
  });
}

// Which suite file left a handle open: each file's tests and its after hooks have run by the time the next file's
// first test starts, so the handles gained since the previous file began are that file's (timers aside: a suite's
// pending waits come and go, sockets and file operations are what leak).
const suiteHandles: { file?: string; atStart: string[] } = { atStart: resourcesAtStart };
function reportSuiteHandles(nextFile: string | undefined): void {
  if (suiteHandles.file === nextFile) return;
  const now = process.getActiveResourcesInfo();
  const left = opened(suiteHandles.atStart, now).filter((r) => r !== 'Timeout' && r !== 'Immediate');
  if (suiteHandles.file !== undefined && left.length > 0) console.log(`  teardown: ${suiteHandles.file} left handles open: ${left.join(', ')}`);
  suiteHandles.file = nextFile;
  suiteHandles.atStart = now;
}

export const mochaHooks = {
  beforeEach(this: Mocha.Context) {
    reportSuiteHandles(this.currentTest?.file);
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    reportSuiteHandles(undefined);
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
      const open = opened(resourcesAtStart, process.getActiveResourcesInfo());
      if (open.length > 0) console.log(`  teardown: handles still open when mocha exited: ${open.join(', ')}`);
    });
  },
};
