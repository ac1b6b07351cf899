// How the simulator, in virt-handler's place, reaches into a running virt-launcher pod: the guest's process (its
// mount namespace holds the launcher's private directory with the guest's command socket and serial port) and the
// container log (what the guest printed while it booted). The local cluster's pod runner provides both; without it
// the subresources that need the guest answer as virt-api does when virt-handler cannot reach the VM.
import { createConnection } from 'node:net';

/** What the pod runner knows about a container's current run; PodRunner.containerRun satisfies it. */
export interface LauncherRuntime {
  containerRun(namespace: string, pod: string, container: string): { process: { pid: number }; logFile: string } | undefined;
}

/** The launcher's private emptyDir, where the guest serves its command socket (KubeVirt's kubevirt-private). */
export const LAUNCHER_PRIVATE_DIR = '/var/run/kubevirt-private';
export const GUEST_COMMAND_SOCKET = 'launcher.sock';
/** The first serial port's socket, which virt-handler dials for the console subresource. */
export const GUEST_SERIAL_SOCKET = 'virt-serial0';

/** A file of the launcher's private directory as the node reaches it: through the launcher process's root. */
export function launcherPrivatePath(pid: number, name: string): string {
  return `/proc/${String(pid)}/root${LAUNCHER_PRIVATE_DIR.replace(/^\/var\/run/, '/run')}/${name}`;
}

const REQUEST_TIMEOUT_MS = 10_000;

/** The guest's answer to a command: `return` on success, `error.desc` when it refused (QEMU guest agent style). */
export interface GuestReply<T> {
  return?: T;
  error?: { class: string; desc: string };
}

export class GuestCommandError extends Error {}

/**
 * One command to the guest over its socket, reached through the launcher process's root (so the path resolves in
 * the pod's mount namespace): a JSON line out, a JSON line back.
 */
export function guestCommand<T>(pid: number, execute: string, args?: object): Promise<T> {
  const path = launcherPrivatePath(pid, GUEST_COMMAND_SOCKET);
  return new Promise<T>((resolve, reject) => {
    const socket = createConnection(path);
    let buffer = '';
    const fail = (err: Error) => {
      socket.destroy();
      reject(new GuestCommandError(`guest command ${execute}: ${err.message}`, { cause: err }));
    };
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => {
      fail(new Error(`no answer in ${String(REQUEST_TIMEOUT_MS)} ms`));
    });
    socket.on('error', fail);
    socket.on('connect', () => socket.write(`${JSON.stringify({ execute, ...(args ? { arguments: args } : {}) })}\n`));
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      const end = buffer.indexOf('\n');
      if (end < 0) return;
      socket.end();
      let reply: GuestReply<T>;
      try {
        reply = JSON.parse(buffer.slice(0, end)) as GuestReply<T>;
      } catch (err) {
        fail(err as Error);
        return;
      }
      if (reply.error) reject(new GuestCommandError(`guest command ${execute}: ${reply.error.desc}`));
      else resolve(reply.return as T);
    });
  });
}
