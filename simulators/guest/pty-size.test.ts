// Resizes of a pty under `script`: back-to-back sizes must end at the last one, never at a mix of two.
import { expect } from 'chai';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { promisify } from 'node:util';
import { waitFor } from '../../localcloud/wait.js';
import { ScriptPtyResizer, scriptChildTty } from './pty-size.js';

const run = promisify(execFile);

describe('ScriptPtyResizer', function () {
  this.timeout(30_000);
  let dir: string;
  let script: ChildProcess;
  let tty: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kvcloud-pty-size-'));
    script = spawn('script', ['-qefc', 'sleep 60', '/dev/null'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const pid = String(script.pid);
    tty = await waitFor(
      async () => {
        const child = (await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8').catch(() => '')).trim();
        // Until script has set the child up, the child's stdin is still script's own (a socket from spawn).
        const fd0 = child ? (await run('readlink', [`/proc/${child}/fd/0`])).stdout.trim() : '';
        return fd0.startsWith('/dev/pts/') ? fd0 : undefined;
      },
      { timeoutMs: 10_000, what: "script's child on its pty" },
    );
  });

  afterEach(async () => {
    script.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  });

  const size = async () => (await run('stty', ['-F', tty, 'size'])).stdout.trim();

  it('applies one size at a time, and only the last of those that came while one was being applied', async () => {
    // An stty that records each run and takes its time, as one does on a busy machine, then sets the size.
    const log = join(dir, 'runs');
    const stty = join(dir, 'stty');
    await writeFile(stty, `#!/bin/sh\necho "start $*" >>${log}\nsleep 0.3\nstty "$@"\necho end >>${log}\n`);
    await chmod(stty, 0o755);
    const resizer = new ScriptPtyResizer(script.pid ?? 0, stty);
    resizer.resize({ rows: 30, cols: 70 });
    await waitFor(async () => (await readFile(log, 'utf8').catch(() => '')).includes('start') || undefined, { timeoutMs: 10_000, what: 'the first stty' });
    resizer.resize({ rows: 33, cols: 70 });
    resizer.resize({ rows: 33, cols: 111 });
    await waitFor(async () => ((await size()) === '33 111' && (await readFile(log, 'utf8')).trim().endsWith('end')) || undefined, { timeoutMs: 10_000, what: 'the last size' });
    const runs = (await readFile(log, 'utf8')).trim().split('\n');
    expect(runs).to.deep.equal([`start -F ${tty} rows 30 cols 70`, 'end', `start -F ${tty} rows 33 cols 111`, 'end']);
  });

  it('ends at the last of many sizes sent back to back with the real stty', async () => {
    const resizer = new ScriptPtyResizer(script.pid ?? 0);
    for (let i = 0; i < 20; i++) {
      resizer.resize({ rows: 33, cols: 70 + i });
      resizer.resize({ rows: 20 + i, cols: 111 });
    }
    await waitFor(async () => ((await size()) === '39 111') || undefined, { timeoutMs: 10_000, what: 'the last size' });
    // Nothing still queued moves it afterwards.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await size()).to.equal('39 111');
  });

  it('finds the pty in /proc once and resizes it in later batches without looking again', async () => {
    let lookups = 0;
    const pid = script.pid ?? 0;
    const resizer = new ScriptPtyResizer(pid, 'stty', () => {
      lookups++;
      return scriptChildTty(pid);
    });
    resizer.resize({ rows: 25, cols: 90 });
    await waitFor(async () => ((await size()) === '25 90') || undefined, { timeoutMs: 10_000, what: 'the first size' });
    resizer.resize({ rows: 26, cols: 91 });
    await waitFor(async () => ((await size()) === '26 91') || undefined, { timeoutMs: 10_000, what: 'the second size' });
    expect(lookups).to.equal(1);
  });

  it('looks for the pty again in a later batch when it was not found before', async () => {
    const pid = script.pid ?? 0;
    const found: (string | undefined)[] = [];
    const resizer = new ScriptPtyResizer(pid, 'stty', async () => {
      const tty = found.length === 0 ? undefined : await scriptChildTty(pid);
      found.push(tty);
      return tty;
    });
    resizer.resize({ rows: 27, cols: 92 });
    await waitFor(() => Promise.resolve(found.length === 1 || undefined), { timeoutMs: 10_000, what: 'the first lookup' });
    await nextTurn(); // the batch that found nothing ends in the same turn as its lookup
    resizer.resize({ rows: 28, cols: 93 });
    await waitFor(async () => ((await size()) === '28 93') || undefined, { timeoutMs: 10_000, what: 'the size after the second lookup' });
    expect(found).to.deep.equal([undefined, tty]);
  });
});
