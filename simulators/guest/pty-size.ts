// Setting the size of a pty that `script` made for its child: the guest's tty sessions (exec with a tty, the sshd's
// pty requests) run under script, and a client's resize has to reach the pty the command reads, not script's own.
import { execFile } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PtySize {
  rows: number;
  cols: number;
}

/**
 * Sets the size of the pty on the stdin of `scriptPid`'s first child, waiting a second at most for that child to
 * exist (a resize can come before script has started it). The kernel tells the child's process group (SIGWINCH).
 */
export async function resizeScriptPty(scriptPid: number, size: PtySize, stty = 'stty'): Promise<void> {
  for (let attempt = 0; attempt < 40; attempt++) {
    const children = await readFile(`/proc/${String(scriptPid)}/task/${String(scriptPid)}/children`, 'utf8').catch(() => '');
    const child = children.trim().split(' ')[0];
    const tty = child ? await readlink(`/proc/${child}/fd/0`).catch(() => '') : '';
    if (tty.startsWith('/dev/pts/')) {
      await run(stty, ['-F', tty, 'rows', String(size.rows), 'cols', String(size.cols)]).catch(() => undefined);
      return;
    }
    await delay(25);
  }
}
