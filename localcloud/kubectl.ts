// Running kubectl against a harness cluster, as a user would, with its stderr in the error when it fails.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { binaryPath } from './binaries.js';
import { waitFor } from './wait.js';

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

/**
 * Waits until each CRD (by name, "<plural>.<group>") is Established. `kubectl wait` fails at once instead of waiting
 * on a CRD whose status has no conditions yet, as it has in the moment after it is created, before the apiextensions
 * controller has looked at it: that answer is asked again.
 */
export async function waitForCRDsEstablished(kubeconfig: string, crds: string[], timeoutMs = 90_000): Promise<void> {
  await waitFor(() => kubectl(kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', ...crds.map((c) => `crd/${c}`)]), {
    timeoutMs,
    intervalMs: 200,
    what: `CRDs ${crds.join(', ')} to be Established`,
  });
}
