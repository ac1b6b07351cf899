// Running kubectl against a harness cluster, as a user would, with its stderr in the error when it fails.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.js';

const run = promisify(execFile);

export async function kubectl(kubeconfig: string, args: string[], input?: string): Promise<string> {
  const bin = await binaryPath('kubectl');
  const child = run(bin, [`--kubeconfig=${kubeconfig}`, ...args], { maxBuffer: 64 * 1024 * 1024 });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    return (await child).stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`kubectl ${args.join(' ')}: ${e.stderr?.trim() ? e.stderr.trim() : e.message}`, { cause: err });
  }
}
