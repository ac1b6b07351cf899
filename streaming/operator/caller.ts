// Who is calling the operator endpoint, as far as its Unix socket can tell: the peer process the kernel records for
// the connection (its uid, pid and command, read through sock_diag with `ss` and /proc, since Node exposes no
// SO_PEERCRED). The socket's file mode decides who may connect at all; this names who did, for the audit trail.
import { execFile } from 'node:child_process';
import { readFile, readlink } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Caller {
  /** How the caller is shown in logs and Events: "uid 0 (pid 4242 crictl)". */
  readonly name: string;
}

export const UNKNOWN_UNIX_CALLER: Caller = { name: 'unix socket peer (process unknown)' };

/**
 * A peer whose process the operator cannot see: it runs as another user (past a 0600 socket only with
 * CAP_DAC_OVERRIDE, i.e. root on the node) or outside the operator's pid or network namespace. Either way it did not
 * come through `kubectl exec` into the pod, which runs as the container's user in the pod's namespaces.
 */
export const UNSEEN_UNIX_CALLER: Caller = { name: 'unix socket peer from outside the pod or as another user (process not visible)' };

/** One `ss -xpnH` line: the socket's inode, its peer's inode, and the first process holding it. */
export interface UnixSocketLine {
  inode: number;
  peer: number;
  pid: number | undefined;
  command: string | undefined;
}

/** Parses `ss -xpnH` (netid state recv-q send-q local inode peer inode [users:(("cmd",pid=N,fd=M),...)]). */
export function parseUnixSockets(text: string): UnixSocketLine[] {
  const lines: UnixSocketLine[] = [];
  for (const line of text.split('\n')) {
    const fields = line.trim().split(/\s+/);
    if (fields.length < 8) continue;
    const inode = Number(fields[5]);
    const peer = Number(fields[7]);
    if (!Number.isInteger(inode) || !Number.isInteger(peer)) continue;
    const user = /users:\(\("((?:[^"\\]|\\.)*)",pid=(\d+)/.exec(line);
    lines.push({ inode, peer, pid: user ? Number(user[2]) : undefined, command: user?.[1] });
  }
  return lines;
}

/** The real uid from /proc/<pid>/status. */
export function uidOf(status: string): number | undefined {
  const m = /^Uid:\s+(\d+)/m.exec(status);
  return m ? Number(m[1]) : undefined;
}

/**
 * The process holding the other end of socket `inode`, from `ss`'s listing: undefined when the socket itself is not
 * listed (the lookup failed), 'unseen' when it is but no process we may look into holds its peer (ss names a
 * socket's holders from /proc/<pid>/fd, which only the process's own user and the privileged may read).
 */
export function peerProcess(sockets: readonly UnixSocketLine[], inode: number): { pid: number; command: string | undefined } | 'unseen' | undefined {
  const own = sockets.find((s) => s.inode === inode);
  if (!own) return undefined;
  const peer = sockets.find((s) => s.inode === own.peer && s.pid !== undefined);
  return peer?.pid === undefined ? 'unseen' : { pid: peer.pid, command: peer.command };
}

/** The file descriptor of an accepted Unix socket (libuv's pipe handle keeps it). */
function fdOf(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: number } })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

/** The process at the other end of an accepted Unix socket connection. */
export async function unixPeer(socket: Socket): Promise<Caller> {
  try {
    const fd = fdOf(socket);
    if (fd === undefined) return UNKNOWN_UNIX_CALLER;
    const inode = Number(/^socket:\[(\d+)\]$/.exec(await readlink(`/proc/self/fd/${String(fd)}`))?.[1]);
    const sockets = parseUnixSockets((await run('ss', ['-xpnH'], { maxBuffer: 64 * 1024 * 1024 })).stdout);
    const peer = peerProcess(sockets, inode);
    if (peer === 'unseen') return UNSEEN_UNIX_CALLER;
    if (peer === undefined) return UNKNOWN_UNIX_CALLER;
    const uid = uidOf(await readFile(`/proc/${String(peer.pid)}/status`, 'utf8'));
    return { name: `uid ${uid === undefined ? '?' : String(uid)} (pid ${String(peer.pid)} ${peer.command ?? '?'})` };
  } catch {
    // No ss, no /proc, or the client already left: the connection still counts, unnamed.
    return UNKNOWN_UNIX_CALLER;
  }
}
