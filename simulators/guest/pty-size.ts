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

/** How long a resize waits for script's child to exist (a resize can come before script has started it). */
const CHILD_WAIT_ATTEMPTS = 40;
const CHILD_WAIT_MS = 25;
/** A failed stty (a process limit under load) is tried again this often before the size is given up. */
const STTY_ATTEMPTS = 3;

/**
 * Resizes the pty on the stdin of `scriptPid`'s first child; the kernel tells the child's process group (SIGWINCH).
 *
 * stty sets rows and columns with one ioctl each, reading the other from the pty, so two stty runs at once can
 * interleave and leave a size nobody asked for (rows of the last, columns of the first). A terminal that is
 * dragged, or a client whose own stty sent two changes, sends sizes back to back: they are applied one at a time,
 * and a size that arrives while one is being applied replaces any that is still waiting, so the last one wins.
 * The child keeps its pty for life, so /proc is searched until it is found and never again.
 */
export class ScriptPtyResizer {
  private wanted: PtySize | undefined;
  private applying = false;
  private tty: string | undefined;

  constructor(
    scriptPid: number,
    private readonly stty = 'stty',
    private readonly findTty: () => Promise<string | undefined> = () => scriptChildTty(scriptPid),
  ) {}

  resize(size: PtySize): void {
    this.wanted = size;
    if (!this.applying) void this.applyAll();
  }

  private async applyAll(): Promise<void> {
    this.applying = true;
    try {
      this.tty ??= await this.findTty();
      const tty = this.tty;
      for (let size = this.take(); size && tty; size = this.take()) await this.apply(tty, size);
    } finally {
      this.applying = false;
    }
  }

  private take(): PtySize | undefined {
    const size = this.wanted;
    this.wanted = undefined;
    return size;
  }

  private async apply(tty: string, size: PtySize): Promise<void> {
    for (let attempt = 1; attempt <= STTY_ATTEMPTS; attempt++) {
      try {
        await run(this.stty, ['-F', tty, 'rows', String(size.rows), 'cols', String(size.cols)]);
        return;
      } catch {
        // The command may have ended (its pty is gone), which the next attempt finds too: nothing to resize then.
        await delay(CHILD_WAIT_MS);
      }
    }
  }
}

/** The pty of script's child, once the child exists; undefined when it never appears or has no pty. */
export async function scriptChildTty(scriptPid: number): Promise<string | undefined> {
  for (let attempt = 0; attempt < CHILD_WAIT_ATTEMPTS; attempt++) {
    const children = await readFile(`/proc/${String(scriptPid)}/task/${String(scriptPid)}/children`, 'utf8').catch(() => '');
    const child = children.trim().split(' ')[0];
    const tty = child ? await readlink(`/proc/${child}/fd/0`).catch(() => '') : '';
    if (tty.startsWith('/dev/pts/')) return tty;
    await delay(CHILD_WAIT_MS);
  }
  return undefined;
}
