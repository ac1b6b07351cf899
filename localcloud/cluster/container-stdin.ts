// The stdin of a container whose spec has `stdin: true`: a pipe the runner holds open, so the container blocks
// reading until an attach session writes to it, as with a CRI runtime. With `stdinOnce` the pipe closes (the
// container reads EOF) once the first attach session that brought input detaches, and stays closed for this run.
import type { Readable, Writable } from 'node:stream';

export class ContainerStdin {
  private ended = false;

  constructor(
    private readonly pipe: Writable,
    private readonly once: boolean,
  ) {}

  /** True once stdinOnce closed the pipe: later input is read and dropped. */
  get closed(): boolean {
    return this.ended;
  }

  /** Feeds one attach session's input to the container until that input ends or the session goes (`signal`). */
  connect(input: Readable, signal: AbortSignal): void {
    if (this.ended) {
      input.resume();
      return;
    }
    // Several sessions may write at once, and one leaving must not close the pipe for the others: no `end`.
    input.pipe(this.pipe, { end: false });
    const detach = () => {
      input.off('end', detach);
      signal.removeEventListener('abort', detach);
      input.unpipe(this.pipe);
      input.resume();
      if (this.once && !this.ended) {
        this.ended = true;
        this.pipe.end();
      }
    };
    input.once('end', detach);
    signal.addEventListener('abort', detach);
    if (signal.aborted) detach();
  }
}
