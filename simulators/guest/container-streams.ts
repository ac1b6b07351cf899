// The guest runtime's side of exec, attach and port-forward for the node streaming server: exec enters the
// namespaces of the container's process (nsenter: mount, UTS, network, its root and working directory) with the
// process's own environment, under `script` when a tty is asked for (resizes go to that pty with stty); attach
// follows the container's output file from its current end, since the pod runner writes a container's stdout and
// stderr there, and writes its input to the container's stdin pipe (containers with stdin: true); port-forward
// connects to 127.0.0.1:<port> in the pod's network namespace with bash's /dev/tcp.
import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { ContainerRun } from '../../localcloud/cluster/container-record.js';
import type { Pod } from '../../localcloud/cluster/pod-api.js';
import type { CommandIO, StreamingRuntime, TerminalSize } from '../../streaming/runtime.js';
import { ScriptPtyResizer } from './pty-size.js';

export interface ContainerRef {
  namespace: string;
  pod: string;
  container: string;
}

export interface PodRef {
  namespace: string;
  pod: string;
}

/** What the runtime reads from the kubelet's pod runner. */
export interface RunningContainers {
  pods(): Pod[];
  containerRun(namespace: string, pod: string, container: string): ContainerRun | undefined;
}

/** A program of the machine by absolute path: container environments bring their own PATH. */
function program(name: string): string {
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(':')) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not in this directory
    }
  }
  throw new Error(`${name} not found on PATH: the guest runtime needs it for exec and port-forward`);
}

/** One argument for `sh -c`, quoted so the shell passes it through unchanged. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./=:,+@%-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The NUL-separated environment of /proc/<pid>/environ as a map. */
export function parseEnviron(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const entry of text.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return env;
}

/** The argv that runs `cmd` in the namespaces of process `pid`, under a pty when `tty`. */
export function execArgv(pid: number, cmd: string[], tty: boolean, tools: { nsenter: string; script: string }): string[] {
  const enter = [tools.nsenter, '-t', String(pid), '-m', '-u', '-n', '-r', '-w', '--', ...cmd];
  // script gives the command a pty on its stdio and returns its exit code (-e); -q keeps its own notes out.
  return tty ? [tools.script, '-qefc', enter.map(shellQuote).join(' '), '/dev/null'] : enter;
}

function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGPIPE: 13, SIGTERM: 15 };
  return 128 + (signal ? (signals[signal] ?? 0) : 0);
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

export class GuestContainerStreams implements StreamingRuntime<ContainerRef, PodRef> {
  private readonly tools = { nsenter: program('nsenter'), script: program('script'), stty: program('stty'), bash: program('bash') };

  constructor(private readonly containers: RunningContainers) {}

  async exec(ref: ContainerRef, cmd: string[], io: CommandIO): Promise<number> {
    const { pid } = this.running(ref).process;
    const env: Record<string, string | undefined> = parseEnviron(await readFile(`/proc/${String(pid)}/environ`, 'utf8'));
    if (io.tty && env.TERM === undefined) env.TERM = 'xterm';
    const [command = '', ...args] = execArgv(pid, cmd, io.tty, this.tools);
    const child = spawn(command, args, { env, stdio: [io.stdin ? 'pipe' : 'ignore', io.stdout ? 'pipe' : 'ignore', io.stderr ? 'pipe' : 'ignore'], detached: true });
    const exited = new Promise<number>((resolve, reject) => {
      child.once('error', (err) => {
        reject(new Error(`exec in ${ref.namespace}/${ref.pod}/${ref.container}: ${err.message}`, { cause: err }));
      });
      // 'close': the process ended and its output pipes are drained into the session.
      child.once('close', (code, signal) => {
        resolve(exitCodeOf(code, signal));
      });
    });
    if (io.stdin && child.stdin) {
      child.stdin.on('error', () => undefined); // the command may exit without reading its input
      io.stdin.pipe(child.stdin);
    }
    if (io.stdout && child.stdout) child.stdout.pipe(io.stdout, { end: false });
    if (io.stderr && child.stderr) child.stderr.pipe(io.stderr, { end: false });
    const onAbort = () => {
      killGroup(child);
      // The session's streams are gone: drain what the process wrote so its pipes end and 'close' comes.
      for (const out of [child.stdout, child.stderr]) {
        out?.unpipe();
        out?.resume();
      }
    };
    io.signal.addEventListener('abort', onAbort);
    if (io.tty && child.pid !== undefined) {
      const resizer = new ScriptPtyResizer(child.pid, this.tools.stty);
      const resize = (size: TerminalSize) => {
        resizer.resize({ rows: size.height, cols: size.width });
      };
      if (io.resize.last) resize(io.resize.last);
      io.resize.on('size', resize);
    }
    try {
      return await exited;
    } finally {
      io.signal.removeEventListener('abort', onAbort);
      io.stdin?.unpipe();
    }
  }

  async attach(ref: ContainerRef, io: CommandIO): Promise<void> {
    const current = this.running(ref);
    const out = io.stdout ?? io.stderr;
    const handle = await open(current.logFile, 'r');
    try {
      let offset = (await stat(current.logFile)).size;
      // Input goes to the container's stdin pipe when its spec asked for one, and only now that the output is
      // followed from here, so the answer to it is never before the offset; otherwise input is read and dropped.
      if (io.stdin && current.stdin) current.stdin.connect(io.stdin, io.signal);
      else io.stdin?.resume();
      const chunk = Buffer.alloc(64 * 1024);
      while (!io.signal.aborted) {
        const alive = current.process.running;
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
        if (bytesRead > 0) {
          offset += bytesRead;
          if (out && !out.write(Buffer.from(chunk.subarray(0, bytesRead)))) await new Promise((resolve) => out.once('drain', resolve));
          continue;
        }
        if (!alive) return;
        await delay(100);
      }
    } finally {
      await handle.close();
    }
  }

  async portForward(ref: PodRef, port: number, stream: Duplex, signal: AbortSignal): Promise<void> {
    const pid = this.podProcess(ref);
    // The output side replaces bash, so the child ends (and the client sees EOF) once the pod's side closes. The
    // input side reads a copy of stdin (fd 4): bash gives a background command /dev/null as its stdin otherwise.
    const script = 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; exec 4<&0; cat <&4 >&3 & exec cat <&3';
    const child = spawn(this.tools.nsenter, ['-t', String(pid), '-n', '--', this.tools.bash, '-c', script, 'port-forward', String(port)], {
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdin.on('error', () => undefined);
    stream.pipe(child.stdin);
    child.stdout.pipe(stream, { end: false });
    const onAbort = () => {
      killGroup(child);
    };
    signal.addEventListener('abort', onAbort);
    try {
      const { code, signal: killed } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, sig) => {
          resolve({ code, signal: sig });
        });
      });
      if (code !== 0 && killed === null) throw new Error(stderr.trim().replace(/^.*?: /, '') || `connect to port ${String(port)} failed`);
    } finally {
      signal.removeEventListener('abort', onAbort);
      stream.unpipe(child.stdin);
      killGroup(child);
    }
  }

  private running(ref: ContainerRef): ContainerRun {
    const current = this.containers.containerRun(ref.namespace, ref.pod, ref.container);
    if (!current?.process.running) throw new Error(`container ${ref.container} in pod ${ref.namespace}/${ref.pod} is not running`);
    return current;
  }

  /** A process in the pod's network namespace: any running container's. */
  private podProcess(ref: PodRef): number {
    const pod = this.containers.pods().find((p) => p.metadata.namespace === ref.namespace && p.metadata.name === ref.pod);
    for (const c of pod?.spec.containers ?? []) {
      const current = this.containers.containerRun(ref.namespace, ref.pod, c.name);
      if (current?.process.running) return current.process.pid;
    }
    throw new Error(`pod ${ref.namespace}/${ref.pod} has no running container`);
  }
}
