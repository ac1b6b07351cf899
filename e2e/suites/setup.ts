// Root hooks for every end-to-end suite: the shared management plane is stopped after the run, the run must leave no
// process and no file behind, and no suite may leave a handle (a server, a socket) open.
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, rmSync } from 'node:fs';
import { Server, Socket } from 'node:net';
import { relative } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
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

// Node's own list of live handles (undocumented but stable): the objects behind getActiveResourcesInfo()'s names,
// whose addresses tell whose a leaked server or socket is.
const activeHandles = (): unknown[] => (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles();

function describeHandle(h: unknown): string | undefined {
  if (h instanceof Server) {
    const a = h.address();
    return `server listening on ${typeof a === 'string' ? a : a ? `${a.address}:${String(a.port)}` : '?'} (${h.listenerCount('request') > 0 ? 'http' : 'net'})`;
  }
  if (h instanceof Socket) return `socket ${h.localAddress ?? '?'}:${String(h.localPort ?? '?')} -> ${h.remoteAddress ?? '?'}:${String(h.remotePort ?? '?')}${h.destroyed ? ' (destroyed)' : ''}`;
  return undefined; // timers, child processes and the like: named by getActiveResourcesInfo
}

/**
 * A server or socket whose close has begun. libuv releases its handle some loop turns after close() and after the
 * 'close' event: an http server just awaited closed, and the keep-alive sockets it ended, still show for a few ms.
 */
const closing = (h: unknown): boolean => (h instanceof Server && !h.listening) || (h instanceof Socket && h.destroyed);
/** Far more than a close under way takes; a handle that takes longer is reported. */
const CLOSE_WAIT_MS = 1000;

// fs.promises.rm({ recursive }) resolves one turn before its last request is released (Node's rimraf), so a
// removal just awaited still shows as an FSReqCallback: look after pending I/O has had its turn, and after the
// closes under way have released their handles.
async function settled(): Promise<void> {
  await new Promise<void>((resolve) => setImmediate(resolve));
  const closes = activeHandles().filter(closing);
  for (const until = Date.now() + CLOSE_WAIT_MS; Date.now() < until && activeHandles().some((h) => closes.includes(h)); ) await delay(10);
}

// After each top-level suite (its own after hooks have run): which handles it left open (timers aside: pending
// waits come and go, sockets and file operations are what leak), and how long it took since the previous one ended,
// its before hooks included; appended to $KVCLOUD_E2E_TIMINGS as JSON lines when set, which the shard runner
// (e2e/run-shards.ts) balances shards by.
const previous = { handles: resourcesAtStart, objects: new Set(activeHandles()), endedMs: Date.now() };

async function suiteEnded(suite: Mocha.Suite): Promise<void> {
  await settled();
  const now = process.getActiveResourcesInfo();
  const file = relative(process.cwd(), suite.file ?? suite.title);
  // Child processes are the teardown check's business (and the shared plane's stay up until the end).
  const left = opened(previous.handles, now).filter((r) => r !== 'Timeout' && r !== 'Immediate' && r !== 'ProcessWrap');
  const objects = activeHandles();
  const described = objects.filter((h) => !previous.objects.has(h)).map(describeHandle).filter((d) => d !== undefined);
  const timings = process.env.KVCLOUD_E2E_TIMINGS;
  if (timings) appendFileSync(timings, `${JSON.stringify({ file, seconds: Math.round((Date.now() - previous.endedMs) / 1000) })}\n`);
  Object.assign(previous, { handles: now, objects: new Set(objects), endedMs: Date.now() });
  // A handle left open outlives its suite: it fails here, named with its addresses, rather than hold the process.
  if (left.length > 0) throw new Error(`${file} left handles open: ${left.join(', ')}${described.length > 0 ? `\n    ${described.join('\n    ')}` : ''}`);
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
