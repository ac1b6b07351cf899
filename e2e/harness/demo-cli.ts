// `kvcloud demo` run as a user runs it, for the suites that prove the main job: the CLI in a child process, its
// output collected, and a wait for its ready line that ends as soon as the command exits instead of at a timeout.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '../../localcloud/wait.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const TSX = join(ROOT, 'node_modules', '.bin', 'tsx');
export const CLI = join(ROOT, 'localcloud', 'cli', 'kvcloud.ts');

export interface DemoRun {
  readonly child: ChildProcess;
  /** Resolves with the exit code once the command has exited. */
  readonly exited: Promise<number | null>;
  /** Everything it printed so far, stdout and stderr interleaved. */
  output(): string;
  /** Waits for `kvcloud demo: ready`; fails at once, with the output, if the command exits first. */
  ready(timeoutMs: number): Promise<void>;
}

export function startDemo(args: string[]): DemoRun {
  const child = spawn(TSX, [CLI, 'demo', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code); }));
  const ready = async (timeoutMs: number) => {
    // waitFor retries a probe that throws, so an exit is a value here and the failure is raised after the wait.
    const outcome = await waitFor<'ready' | 'exited'>(
      () => (child.exitCode !== null ? 'exited' : /^kvcloud demo: ready$/m.test(output) ? 'ready' : undefined),
      { timeoutMs, intervalMs: 1000, what: 'the ready line of `kvcloud demo`' },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n--- kvcloud demo printed:\n${output}`, { cause: err });
    });
    if (outcome === 'exited') throw new Error(`kvcloud demo exited with code ${String(child.exitCode)} before it was ready; it printed:\n${output}`);
  };
  return { child, exited, output: () => output, ready };
}
