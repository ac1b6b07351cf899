// The console subresource's stream, virt-handler's part: the guest's serial port (its virt-serial0 socket in the
// launcher pod) joined to the client's plain.kubevirt.io WebSocket, after the boot output the guest printed so far.
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createConnection, type Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { GUEST_SERIAL_SOCKET } from './launcher-runtime.js';

/** A console stream's two sources: the boot output so far and the serial port's socket. */
export interface ConsoleTarget {
  bootLog: string;
  serial: string;
}

function dialUnix(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(path);
    socket.once('error', reject);
    socket.once('connect', () => {
      socket.off('error', reject);
      socket.on('error', () => socket.destroy());
      resolve(socket);
    });
  });
}

/**
 * Sends the boot output the guest printed so far, then joins the WebSocket to the serial port both ways until either
 * side closes. The port's output waits (the socket is not read) until the boot output is out, so nothing interleaves.
 */
export async function streamConsole(target: ConsoleTarget, ws: WebSocket): Promise<void> {
  // Typing goes through as soon as the port is dialed (held until then); only the answer waits behind the boot output.
  const typed: Buffer[] = [];
  let serial: Socket | undefined;
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
    if (serial) serial.write(bytes);
    else typed.push(bytes);
  });
  try {
    serial = await dialUnix(target.serial);
  } catch (err) {
    ws.close(1011, `dial ${GUEST_SERIAL_SOCKET}: ${(err as Error).message}`.slice(0, 120));
    return;
  }
  const port = serial;
  for (const bytes of typed.splice(0)) port.write(bytes);
  if (ws.readyState !== ws.OPEN) port.destroy();
  ws.on('close', () => port.destroy());
  port.once('close', () => {
    ws.close();
  });
  try {
    const size = (await stat(target.bootLog)).size;
    if (size > 0) for await (const chunk of createReadStream(target.bootLog, { end: size - 1 })) if (ws.readyState === ws.OPEN) ws.send(chunk as Buffer, { binary: true });
  } catch {
    // the log went with its pod: the serial port says the rest
  }
  port.on('data', (out: Buffer) => {
    if (ws.readyState === ws.OPEN) ws.send(out, { binary: true });
  });
}
