// Exec into a VM: the command runs over SSH as the cluster's bootstrap user with the cluster's key, on a byte
// stream the caller opened (a port-forward to the VM's port 22 through virt-api, so the operator needs no network
// path to the VM). The session's stdio, tty, resizes and exit code map onto the SSH channel's.
import { createHash } from 'node:crypto';
import type { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { CommandIO } from '../runtime.js';

// ssh2 is CommonJS: Node's ESM loader gives its exports only as the default import.
const { Client } = ssh2;

/** CAPK's bootstrap user, which holds the cluster's key in every VM it makes. */
export const DEFAULT_SSH_USER = 'capk';
const READY_TIMEOUT_MS = 20_000;
/** What OpenSSH's client exits with when the remote side gave no exit status. */
const NO_EXIT_STATUS = 255;
const SIGNAL_NUMBERS: Record<string, number> = { HUP: 1, INT: 2, QUIT: 3, KILL: 9, PIPE: 13, TERM: 15 };

export interface SSHLogin {
  username: string;
  privateKey: string;
}

export interface SSHCommandResult {
  exitCode: number;
  /** SHA256:<base64> of the host key the VM presented, for the audit trail. */
  hostKey: string;
}

/** One argument as the remote shell must see it: SSH carries a command line, not an argv. */
export function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_./=:,+@%-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`;
}

export function commandLine(cmd: readonly string[]): string {
  return cmd.map(shellQuote).join(' ');
}

function exitCodeOf(code: number | null | undefined, signal: string | undefined): number {
  if (typeof code === 'number') return code;
  if (signal !== undefined) return 128 + (SIGNAL_NUMBERS[signal] ?? 0);
  return NO_EXIT_STATUS;
}

/**
 * Runs `cmd` on the SSH server at the other end of `sock` and resolves with its exit code once its output was
 * handed to `io`; rejects when the login fails. Ends the connection when `io.signal` aborts.
 */
export function runOverSSH(sock: Duplex, login: SSHLogin, cmd: readonly string[], io: CommandIO): Promise<SSHCommandResult> {
  return new Promise((resolve, reject) => {
    const conn = new Client();
    let hostKey = '';
    let settled = false;
    const finish = (err: Error | undefined, exitCode = NO_EXIT_STATUS) => {
      if (settled) return;
      settled = true;
      io.signal.removeEventListener('abort', abort);
      conn.end();
      if (err) reject(err);
      else resolve({ exitCode, hostKey });
    };
    const abort = () => {
      finish(undefined);
    };
    io.signal.addEventListener('abort', abort, { once: true });
    conn.on('error', (err) => {
      finish(new Error(`ssh as ${login.username}: ${err.message}`, { cause: err }));
    });
    conn.on('close', () => {
      finish(new Error('ssh: the connection closed before the command ended'));
    });
    conn.on('ready', () => {
      const size = io.resize.last ?? { width: 80, height: 24 };
      const options = io.tty ? { pty: { rows: size.height, cols: size.width, term: 'xterm' } } : {};
      conn.exec(commandLine(cmd), options, (err, channel) => {
        if (err) {
          finish(new Error(`ssh exec: ${err.message}`, { cause: err }));
          return;
        }
        let code: number | null | undefined;
        let signal: string | undefined;
        channel.on('exit', (c: number | null, s?: string) => {
          code = c;
          signal = s;
        });
        channel.on('data', (chunk: Buffer) => io.stdout?.write(chunk));
        channel.stderr.on('data', (chunk: Buffer) => io.stderr?.write(chunk));
        channel.on('close', () => {
          finish(undefined, exitCodeOf(code, signal));
        });
        // Resizes go to the channel as window-change requests (RFC 4254 6.7), which the VM's sshd applies to the pty.
        const onSize = (s: { width: number; height: number }) => {
          channel.setWindow(s.height, s.width, 0, 0);
        };
        if (io.tty) {
          io.resize.on('size', onSize);
          // A size reported while the channel was being opened has not reached the pty yet.
          const last = io.resize.last;
          if (last && (last.width !== size.width || last.height !== size.height)) onSize(last);
        }
        channel.once('close', () => io.resize.off('size', onSize));
        // No stdin: the command reads end-of-file at once, as with `ssh host cmd </dev/null`.
        if (io.stdin) io.stdin.pipe(channel);
        else channel.end();
      });
    });
    conn.connect({
      sock,
      username: login.username,
      privateKey: login.privateKey,
      readyTimeout: READY_TIMEOUT_MS,
      // The VM's host key is made at its first boot and reaches us through no trusted channel; the stream is
      // virt-api's port-forward to this very VMI, which the apiserver authorized, so the transport names the VM.
      // The key's fingerprint goes into the audit record instead.
      hostVerifier: (key: Buffer) => {
        hostKey = `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
        return true;
      },
    });
  });
}
