// CAPK's `ssh` bootstrap check: log in as the bootstrap user with the cluster's private key and read Cluster
// API's sentinel file, which the bootstrap script writes when kubeadm finished. Uses the OpenSSH client.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BOOTSTRAP_USER } from '../vm/userdata.js';

const run = promisify(execFile);
export const SENTINEL_FILE = '/run/cluster-api/bootstrap-success.complete';

/** True when the sentinel says success; false (with the reason) when it does not or the VM is unreachable. */
export async function checkSentinelOverSSH(address: string, privateKey: string): Promise<{ ok: boolean; detail: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'kvcloud-ssh-'));
  const keyFile = join(dir, 'id');
  try {
    await writeFile(keyFile, privateKey, { mode: 0o600 });
    const { stdout } = await run(
      'ssh',
      [
        '-i', keyFile,
        '-o', 'BatchMode=yes',
        '-o', 'StrictHostKeyChecking=no',
        '-o', 'UserKnownHostsFile=/dev/null',
        '-o', 'ConnectTimeout=5',
        '-o', 'LogLevel=ERROR',
        `${BOOTSTRAP_USER}@${address}`,
        `cat ${SENTINEL_FILE}`,
      ],
      { timeout: 15_000 },
    );
    const ok = stdout.trim() === 'success';
    return { ok, detail: ok ? 'sentinel reports success' : `sentinel says "${stdout.trim()}"` };
  } catch (err) {
    return { ok: false, detail: `ssh ${BOOTSTRAP_USER}@${address}: ${(err as Error).message.split('\n')[0] ?? ''}` };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
