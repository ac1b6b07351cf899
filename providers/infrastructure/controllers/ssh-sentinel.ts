// CAPK's `ssh` bootstrap check: log in as the bootstrap user with the cluster's private key and read Cluster
// API's sentinel file, which the bootstrap script writes when kubeadm finished. The SSH client runs in-process
// (ssh2, pure JS), as CAPK's runs Go's x/crypto/ssh: a manager image needs no OpenSSH client.
import ssh2 from 'ssh2';
import { BOOTSTRAP_USER } from '../vm/userdata.js';

export const SENTINEL_FILE = '/run/cluster-api/bootstrap-success.complete';
/** CAPK's command: it reads the sentinel and wants exactly "success" (trailing newlines dropped). */
export const SENTINEL_COMMAND = `cat ${SENTINEL_FILE}`;
const SSH_PORT = 22;
const TIMEOUT_MS = 15_000;

/** What the check found: only `succeeded` marks the machine bootstrapped; the others are retried. */
export type SentinelOutcome = 'succeeded' | 'not-yet' | 'auth-failed' | 'unreachable';

export interface SentinelCheck {
  ok: boolean;
  outcome: SentinelOutcome;
  detail: string;
}

const result = (outcome: SentinelOutcome, detail: string): SentinelCheck => ({ ok: outcome === 'succeeded', outcome, detail });

/** Runs CAPK's sentinel command on address:port as the bootstrap user; never throws. */
export function checkSentinelOverSSH(address: string, privateKey: string, port = SSH_PORT): Promise<SentinelCheck> {
  const target = `${BOOTSTRAP_USER}@${address}:${String(port)}`;
  return new Promise((resolve) => {
    const conn = new ssh2.Client();
    let settled = false;
    const finish = (check: SentinelCheck) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      conn.end();
      resolve(check);
    };
    const timer = setTimeout(() => {
      finish(result('unreachable', `ssh ${target}: no answer within ${String(TIMEOUT_MS / 1000)}s`));
    }, TIMEOUT_MS);
    conn.on('error', (err: Error & { level?: string }) => {
      // ssh2 tags a rejected key with level "client-authentication".
      if (err.level === 'client-authentication') finish(result('auth-failed', `ssh ${target}: the guest rejected the cluster key`));
      else finish(result('unreachable', `ssh ${target}: ${err.message}`));
    });
    conn.on('ready', () => {
      conn.exec(SENTINEL_COMMAND, (err, stream) => {
        if (err) {
          finish(result('unreachable', `ssh ${target}: ${err.message}`));
          return;
        }
        let stdout = '';
        let stderr = '';
        stream.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
        stream.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
        stream.on('close', (code: number | null) => {
          const output = stdout.replace(/^\n+|\n+$/g, '');
          if (code === 0 && output === 'success') finish(result('succeeded', 'sentinel reports success'));
          else if (code === 0) finish(result('not-yet', `sentinel says "${output}"`));
          else finish(result('not-yet', `no sentinel yet (${SENTINEL_COMMAND} exited ${String(code)}: ${stderr.trim()})`));
        });
      });
    });
    conn.connect({
      host: address,
      port,
      username: BOOTSTRAP_USER,
      privateKey,
      readyTimeout: TIMEOUT_MS,
      // Host keys are deliberately not verified, as CAPK does not verify them (its callback accepts any key): a
      // VM's host key is generated at first boot and reaches us through no trusted channel. The check only reads
      // a file, and the key authenticates us to the guest, not the guest to us.
      hostVerifier: () => true,
    });
  });
}
