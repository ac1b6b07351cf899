// The channel between the node (the KubeVirt simulator, in virt-handler's place) and the guest: a unix socket in
// the launcher's private directory taking one JSON command per connection and answering one JSON line, QEMU guest
// agent style ({"execute": ..., "arguments": ...} -> {"return": ...} or {"error": {"class", "desc"}}). It carries
// the guest agent's reports and the hot-plug of disks, which a real VM learns from its virtual hardware.
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import { guestInfo, filesystems } from './guest-agent.js';
import { GuestDevices } from './guest-devices.js';

export const LAUNCHER_PRIVATE_DIR = '/run/kubevirt-private';
export const COMMAND_SOCKET = `${LAUNCHER_PRIVATE_DIR}/launcher.sock`;
/** Where the private overlays' upper layers live: a directory of the guest's own (the kubelet emptyDir). */
const DEVICE_SCRATCH = '/var/lib/kubelet/kvcloud-guest-devices';

interface Command {
  execute?: string;
  arguments?: Record<string, unknown>;
}

export interface LauncherChannel {
  close(): Promise<void>;
}

async function answer(command: Command, devices: GuestDevices | undefined): Promise<unknown> {
  const args = command.arguments ?? {};
  switch (command.execute) {
    case 'guest-ping':
      return {};
    case 'guest-info':
      return guestInfo();
    case 'guest-get-users':
      return [];
    case 'guest-get-fsinfo':
      return filesystems();
    case 'kvcloud-device-add':
      if (!devices) throw new Error('the guest could not prepare private /dev and /run: no disk can be hot-plugged');
      return devices.add({
        device: String(args.device),
        major: Number(args.major),
        minor: Number(args.minor),
        bus: args.bus === 'virtio' ? 'virtio' : 'scsi',
        serial: typeof args.serial === 'string' ? args.serial : undefined,
      });
    case 'kvcloud-device-del':
      await devices?.remove(String(args.target));
      return {};
    default:
      throw new Error(`unknown command ${String(command.execute)}`);
  }
}

function serve(socket: Socket, devices: GuestDevices | undefined, log: Logger): void {
  let buffer = '';
  socket.setEncoding('utf8');
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: string) => {
    buffer += chunk;
    const end = buffer.indexOf('\n');
    if (end < 0) return;
    const line = buffer.slice(0, end);
    void (async () => {
      let reply: object;
      try {
        reply = { return: await answer(JSON.parse(line) as Command, devices) };
      } catch (err) {
        log.warn({ err, command: line.slice(0, 200) }, 'guest command failed');
        reply = { error: { class: 'GenericError', desc: (err as Error).message } };
      }
      socket.end(`${JSON.stringify(reply)}\n`);
    })();
  });
}

/** Prepares the guest's device directories, then serves the channel; a guest that cannot do either still boots. */
export async function startLauncherChannel(log: Logger): Promise<LauncherChannel | undefined> {
  let devices: GuestDevices | undefined;
  try {
    devices = await GuestDevices.prepare(DEVICE_SCRATCH);
  } catch (err) {
    log.warn({ err }, 'cannot make /dev and /run private: disks cannot be hot-plugged into this guest');
  }
  await rm(COMMAND_SOCKET, { force: true });
  const server: Server = createServer((socket) => {
    serve(socket, devices, log);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(COMMAND_SOCKET, resolve);
    });
  } catch (err) {
    log.warn({ err, socket: COMMAND_SOCKET }, 'cannot serve the launcher channel (no kubevirt-private directory?)');
    return undefined;
  }
  log.info({ socket: COMMAND_SOCKET }, 'serving the launcher channel');
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}
