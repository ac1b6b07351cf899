// Child processes the harness starts (etcd, kube-apiserver, ...): each in its own process group with its output
// in a log file, stopped with SIGTERM then SIGKILL, and all killed if the test runner itself exits, so a run
// never leaves a process behind.
import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, closeSync, readFileSync, existsSync } from 'node:fs';
import type { Writable } from 'node:stream';

export interface ProcessSpec {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: Record<string, string>;
  cwd?: string;
  /** Give the process a stdin pipe (ManagedProcess.stdin) instead of /dev/null. */
  stdinPipe?: boolean;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

const live = new Set<ManagedProcess>();

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}

process.on('exit', () => {
  for (const p of live) killGroup(p.pid, 'SIGKILL');
});

export class ManagedProcess {
  readonly pid: number;
  readonly exited: Promise<ExitStatus>;
  /** The write end of the process's stdin, when its spec asked for a pipe. */
  readonly stdin: Writable | undefined;
  private status: ExitStatus | undefined;

  private constructor(
    readonly spec: ProcessSpec,
    child: ChildProcess,
  ) {
    if (child.pid === undefined) throw new Error(`start ${spec.name}: no pid`);
    this.pid = child.pid;
    this.stdin = child.stdin ?? undefined;
    // A process that exits (or closes its stdin) makes the next write fail with EPIPE: that is not an error of ours.
    this.stdin?.on('error', () => undefined);
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        this.status = { code, signal };
        live.delete(this);
        resolve(this.status);
      });
    });
  }

  static start(spec: ProcessSpec): Promise<ManagedProcess> {
    const fd = openSync(spec.logFile, 'a');
    try {
      const child = spawn(spec.command, spec.args, {
        cwd: spec.cwd,
        env: { ...process.env, ...spec.env },
        stdio: [spec.stdinPipe ? 'pipe' : 'ignore', fd, fd],
        detached: true,
      });
      return new Promise((resolve, reject) => {
        child.once('error', (err) => {
          reject(new Error(`start ${spec.name} (${spec.command}): ${err.message}`, { cause: err }));
        });
        child.once('spawn', () => {
          const p = new ManagedProcess(spec, child);
          live.add(p);
          resolve(p);
        });
      });
    } finally {
      closeSync(fd);
    }
  }

  get running(): boolean {
    return this.status === undefined;
  }

  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  /** The last lines of the process's log, for error messages. */
  logTail(lines = 20): string {
    if (!existsSync(this.spec.logFile)) return '';
    return readFileSync(this.spec.logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }

  /** SIGTERM to the whole process group, SIGKILL after the grace period. */
  async stop(graceMs = 10_000): Promise<ExitStatus> {
    if (this.status) return this.status;
    killGroup(this.pid, 'SIGTERM');
    const timer = setTimeout(() => {
      killGroup(this.pid, 'SIGKILL');
    }, graceMs);
    try {
      return await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Processes started by this test run that have not exited yet. */
export function liveProcesses(): readonly ManagedProcess[] {
  return [...live];
}
