// Root hooks for every end-to-end suite: the shared management plane is stopped after the run, and the run
// must leave no process and no file behind.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { relative } from 'node:path';
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

// After each top-level suite (its own after hooks have run): which handles it left open (timers aside: pending
// waits come and go, sockets and file operations are what leak), and how long it took since the previous one ended,
// its before hooks included; appended to $KVCLOUD_E2E_TIMINGS as JSON lines when set, which the shard runner
// (e2e/run-shards.ts) balances shards by.
const previous = { handles: resourcesAtStart, endedMs: Date.now() };

// fs.promises.rm({ recursive }) resolves one turn before its last request is released (Node's rimraf), so a
// removal just awaited still shows as an FSReqCallback: look after pending I/O has had its turn.
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

async function suiteEnded(suite: Mocha.Suite): Promise<void> {
  await settled();
  const now = process.getActiveResourcesInfo();
  const file = relative(process.cwd(), suite.file ?? suite.title);
  // Child processes are the teardown check's business (and the shared plane's stay up until the end).
  const left = opened(previous.handles, now).filter((r) => r !== 'Timeout' && r !== 'Immediate' && r !== 'ProcessWrap');
  if (left.length > 0) console.log(`  teardown: ${file} left handles open: ${left.join(', ')}`);
  const timings = process.env.KVCLOUD_E2E_TIMINGS;
  if (timings) appendFileSync(timings, `${JSON.stringify({ file, seconds: Math.round((Date.now() - previous.endedMs) / 1000) })}\n`);
  Object.assign(previous, { handles: now, endedMs: Date.now() });
}

/** Loop devices (as `losetup -a` lines) whose backing file lies in `dir`: the KubeVirt simulator's hot-plugged volumes. */
function loopDevicesBackedBy(dir: string): string[] {
  return execFileSync('losetup', ['-a'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(`(${dir}/`));
}

export const mochaHooks = {
  beforeAll(this: Mocha.Context) {
    // Hooks added now run after each suite's own after hooks.
    for (const suite of this.test?.parent?.suites ?? []) suite.afterAll(() => suiteEnded(suite));
  },
  async afterAll(this: Mocha.Context) {
    this.timeout(60_000);
    await stopSharedPlane();
    const dir = runDir();
    const still = liveProcesses().map((p) => `${p.spec.name} (pid ${p.pid})`);
    const strays = processesReferencing(dir);
    const loops = loopDevicesBackedBy(dir);
    const leftovers = existsSync(dir) ? readdirSync(dir) : [];
    // A loop device keeps its backing file's data alive after the file is removed: detach before removing.
    for (const device of loops) execFileSync('losetup', ['-d', device.split(':')[0] ?? '']);
    rmSync(dir, { recursive: true, force: true });
    if (still.length > 0 || strays.length > 0 || leftovers.length > 0 || loops.length > 0) {
      throw new Error(
        `the test run left things behind:\n  processes: ${[...still, ...strays].join(', ') || 'none'}\n  loop devices: ${loops.join(', ') || 'none'}\n  files in ${dir}: ${leftovers.join(', ') || 'none'}`,
      );
    }
    console.log(`  teardown: no process, no loop device and no file of the run left (${dir})`);
    // mocha runs with exit: true so a forgotten timer or socket cannot hold CI until its deadline; name what is
    // still open when it exits, so leaks still get found and closed.
    await settled();
    process.once('exit', () => {
      const open = opened(resourcesAtStart, process.getActiveResourcesInfo());
      if (open.length > 0) console.log(`  teardown: handles still open when mocha exited: ${open.join(', ')}`);
    });
  },
};
