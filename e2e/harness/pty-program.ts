// An upstream client that wants a terminal (crictl -t refuses anything else) run on a pty the suite drives: util-linux
// `script` makes the pty, the suite types into it, reads what the program prints, and resizes it as a terminal
// window would (the kernel sends the program SIGWINCH).
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { waitFor } from '../../localcloud/wait.js';
import { shellQuote } from '../../streaming/operator/ssh-command.js';

const run = promisify(execFile);

export class PtyProgram {
  private seen = '';

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly what: string,
  ) {
    child.stdout.on('data', (d: Buffer) => (this.seen += d.toString()));
    child.stderr.on('data', (d: Buffer) => (this.seen += d.toString()));
  }

  /** Starts `argv` on a pty of `rows` x `cols`. */
  static start(argv: string[], size: { rows: number; cols: number } = { rows: 24, cols: 80 }): PtyProgram {
    // The size is set before the program starts, so its first look at the terminal sees it.
    const line = `stty rows ${String(size.rows)} cols ${String(size.cols)}; exec ${argv.map(shellQuote).join(' ')}`;
    return new PtyProgram(spawn('script', ['-qefc', line, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] }), argv.join(' '));
  }

  output(): string {
    return this.seen;
  }

  /** Waits until the output matches `want` and returns it. */
  until(want: RegExp, timeoutMs = 30_000): Promise<string> {
    return waitFor(
      () => {
        if (want.test(this.seen)) return Promise.resolve(this.seen);
        if (this.child.exitCode !== null) throw new Error(`${this.what} exited ${String(this.child.exitCode)} before printing ${String(want)}: ${this.seen}`);
        return Promise.resolve(undefined);
      },
      { timeoutMs, intervalMs: 100, what: `${String(want)} from ${this.what} (saw: ${JSON.stringify(this.seen.slice(-2000))})` },
    );
  }

  /** Keys typed on the terminal (a carriage return for Enter, as a terminal sends). */
  type(keys: string): void {
    this.child.stdin.write(keys);
  }

  /** Resizes the program's terminal: its pty is the stdin of script's child, which exec made the program itself. */
  async resize(rows: number, cols: number): Promise<void> {
    await run('stty', ['-F', await this.terminal(), 'rows', String(rows), 'cols', String(cols)]);
  }

  /** The program's terminal size as stty prints it ("rows cols"). */
  async size(): Promise<string> {
    return (await run('stty', ['-F', await this.terminal(), 'size'])).stdout.trim();
  }

  private async terminal(): Promise<string> {
    const pid = this.child.pid ?? 0;
    const program = (await readFile(`/proc/${String(pid)}/task/${String(pid)}/children`, 'utf8')).trim().split(' ')[0] ?? '';
    return `/proc/${program}/fd/0`;
  }

  /** Ends the program (script's hangup reaches it) and waits for it. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill();
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(killer);
  }
}
