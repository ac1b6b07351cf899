// Writing to a server's WebSocket, for remote command and port-forward sessions. A stream that writes to it (a
// command's stdout channel, a forwarded port's data, the port-forward tunnel's SPDY bytes) gets backpressure from
// the WebSocket's buffer instead of waiting for each message to reach the socket, which would cost a turn of the
// event loop per chunk.
import type { Duplex } from 'node:stream';
import { createWebSocketStream, type WebSocket } from 'ws';
import { encodeChannelMessage } from './channels.js';

/** Bytes a WebSocket may hold unsent before a stream's write waits for its message to reach the socket. */
const WS_HIGH_WATER = 256 * 1024;

/** Sends one message; resolves once the socket took it. */
function sendMessage(ws: WebSocket, message: Buffer | string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (ws.readyState !== ws.OPEN) {
      reject(new Error('WebSocket closed'));
      return;
    }
    ws.send(message, (err) => {
      if (err) reject(err);
      else resolve();
    });
  });
}

/**
 * Completes a stream's write of a message being sent: at once while the WebSocket buffers little, else once the
 * message reached the socket, so a slow client slows the writer down. A failed send closes the WebSocket, which
 * ends the session, and later writes fail.
 */
function completeWrite(ws: WebSocket, sent: Promise<void>, cb: (err?: Error | null) => void): void {
  if (ws.readyState === ws.OPEN && ws.bufferedAmount < WS_HIGH_WATER) {
    sent.catch(() => undefined);
    cb();
    return;
  }
  sent.then(() => {
    cb();
  }, cb);
}

export type ChannelSend = (channel: number, data: Buffer) => Promise<void>;

/** Messages on channels of `protocol`; each resolves once the socket took it. */
export function channelSender(ws: WebSocket, protocol: string): ChannelSend {
  return (channel, data) => sendMessage(ws, encodeChannelMessage(protocol, channel, data));
}

/** A stream's write of `chunk` to `channel` (see completeWrite). */
export function writeChannel(ws: WebSocket, send: ChannelSend, channel: number, chunk: Buffer, cb: (err?: Error | null) => void): void {
  completeWrite(ws, send(channel, chunk), cb);
}

/**
 * The byte stream of a tunnel (binary messages both ways), as ws's createWebSocketStream gives it, with writes
 * completed as above; parts written together (a SPDY data frame's head and payload, corked) go out as one message.
 */
export function tunnelStream(ws: WebSocket): Duplex {
  const tunnel = createWebSocketStream(ws);
  tunnel._write = (chunk: Buffer, _enc, cb) => {
    completeWrite(ws, sendMessage(ws, chunk), cb);
  };
  tunnel._writev = (chunks, cb) => {
    completeWrite(ws, sendMessage(ws, Buffer.concat(chunks.map((c) => c.chunk as Buffer))), cb);
  };
  return tunnel;
}
