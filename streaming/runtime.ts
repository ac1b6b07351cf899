// What the streaming server asks of the runtime behind it, the way a CRI runtime implements Exec, Attach and
// PortForward: the server speaks the wire protocols and hands the runtime plain Node streams. `Container` and
// `Pod` are whatever the runtime uses to name its targets (a pod and container name in a node, a VM for operators).
import { EventEmitter } from 'node:events';
import type { Duplex, Readable, Writable } from 'node:stream';

export interface TerminalSize {
  width: number;
  height: number;
}

/** Terminal sizes as the client reports them ('size' events); the last one stays readable for late listeners. */
export class TerminalSizes extends EventEmitter<{ size: [TerminalSize] }> {
  last: TerminalSize | undefined;

  report(size: TerminalSize): void {
    this.last = size;
    this.emit('size', size);
  }
}

export interface StreamOptions {
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

export interface CommandIO {
  stdin: Readable | undefined;
  stdout: Writable | undefined;
  stderr: Writable | undefined;
  tty: boolean;
  resize: TerminalSizes;
  /** Aborted when the client goes away: the runtime ends what it started for this session. */
  signal: AbortSignal;
}

export interface StreamingRuntime<Container, Pod> {
  /** Runs `cmd` in the container; resolves with its exit code once it ended and its output was written. */
  exec(container: Container, cmd: string[], io: CommandIO): Promise<number>;
  /** Joins the container's main process until it ends or the client leaves. */
  attach(container: Container, io: CommandIO): Promise<void>;
  /** Connects `stream` to `port` inside the pod's network namespace until either side ends. */
  portForward(pod: Pod, port: number, stream: Duplex, signal: AbortSignal): Promise<void>;
}
