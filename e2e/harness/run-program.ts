// Running upstream clients (kubectl, crictl) as child processes in suites: once to completion with their output and
// exit code, or until their output says they are ready, while the suite uses them.
import { spawn } from 'node:child_process';
import { waitFor } from '../../localcloud/wait.js';

export interface Ran {
  code: number;
  stdout: string;
  stderr: string;
}

export function runProgram(command: string, args: string[], env: NodeJS.ProcessEnv, input?: string): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      resolve({ code: code ?? -1, stdout, stderr: signal ? `${stderr} (killed by ${signal})` : stderr });
    });
    child.stdin.end(input ?? '');
  });
}

/**
 * Runs `argv` until its output matches `want`, then `use` (given the output so far) while it still runs, then ends
 * it; resolves with what `use` returned, or the output when there is no `use`.
 */
export async function runUntil<T = string>(argv: string[], want: RegExp, use?: (seen: string) => Promise<T>): Promise<T | string> {
  const [command = '', ...args] = argv;
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let seen = '';
  child.stdout.on('data', (d: Buffer) => (seen += d.toString()));
  child.stderr.on('data', (d: Buffer) => (seen += d.toString()));
  try {
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`${argv.join(' ')} exited ${String(child.exitCode)}: ${seen}`);
      return want.test(seen) ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 100, what: `${argv.join(' ')} output (saw: ${seen})` });
    return use ? await use(seen) : seen;
  } finally {
    // Ended for sure: a client left running would keep its session (and the VM's shutdown) waiting.
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill();
    const killer = setTimeout(() => child.kill('SIGKILL'), 2_000);
    if (child.exitCode === null && child.signalCode === null) await exited;
    clearTimeout(killer);
  }
}
