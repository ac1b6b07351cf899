// Writing to a server's WebSocket, for remote command and port-forward sessions. Binary messages are framed here
// and written to the upgraded socket itself (the one ws was handed): the frame's head (with the channel byte, if
// any) and the payload's parts go out in one corked write, so no message is copied to put its channel number in
// front or to join its parts, and the bytes are those ws would send (one unmasked final frame per message). ws
// writes its own frames (control frames, text messages, the close) to the same socket synchronously, so the order
// of messages holds: ws queues nothing while it neither compresses nor sends Blobs, and this server does neither.
// A stream that writes here (a command's stdout channel, a forwarded port's data, the port-forward tunnel's SPDY
// bytes) has its write completed by the socket's own write callback, as a write to the socket would be.
import type { Duplex } from 'node:stream';
import { createWebSocketStream, type WebSocket } from 'ws';
import { encodeChannelMessage, isBase64Protocol } from './channels.js';

/** Bytes a WebSocket may hold unsent before a stream's write of base64 text waits for it to reach the socket. */
const WS_HIGH_WATER = 256 * 1024;
/** FIN and the binary opcode (RFC 6455 section 5.2). */
const FINAL_BINARY = 0x82;

type WriteCallback = (err?: Error | null) => void;

/**
 * The head of an unmasked final binary frame of `length` payload bytes (RFC 6455 section 5.2), with room for
 * `prefix` payload bytes after it that the caller fills in (a channel number).
 */
export function binaryFrameHead(length: number, prefix = 0): Buffer {
  const size = length < 126 ? 2 : length < 0x1_0000 ? 4 : 10;
  const head = Buffer.allocUnsafe(size + prefix);
  head[0] = FINAL_BINARY;
  if (size === 2) head[1] = length;
  else if (size === 4) {
    head[1] = 126;
    head.writeUInt16BE(length, 2);
  } else {
    head[1] = 127;
    head.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
    head.writeUInt32BE(length >>> 0, 6);
  }
  return head;
}

/** Binary messages of a server's WebSocket, written to its socket. */
export class MessageWriter {
  constructor(
    private readonly ws: WebSocket,
    private readonly socket: Duplex,
  ) {}

  /**
   * Sends one binary message, `channel` (a byte, if given) followed by `parts`; `cb` once the socket holds none of
   * its bytes: in the next tick while the kernel takes them at once, so a stream writing here never waits long, a
   * slow client slows it down, and it may reuse its buffer then (streaming/read-buffers.ts). A failed write closes
   * the WebSocket, which ends the session, and later writes fail.
   */
  send(parts: readonly Buffer[], channel: number | undefined, cb: WriteCallback): void {
    if (this.closed(cb)) return;
    this.frame(parts, channel, cb);
  }

  private closed(cb: WriteCallback): boolean {
    if (this.ws.readyState === this.ws.OPEN && !this.socket.destroyed) return false;
    cb(new Error('WebSocket closed'));
    return true;
  }

  /** Writes the frame, its head and parts corked; `cb` once the socket took the last. */
  private frame(parts: readonly Buffer[], channel: number | undefined, cb: WriteCallback | undefined): void {
    const prefix = channel === undefined ? 0 : 1;
    let length = prefix;
    for (const part of parts) length += part.length;
    const head = binaryFrameHead(length, prefix);
    if (channel !== undefined) head[head.length - 1] = channel;
    const last = parts.length - 1;
    this.socket.cork();
    this.socket.write(head, last < 0 ? cb : undefined);
    for (let i = 0; i <= last; i++) this.socket.write(parts[i], i === last ? cb : undefined);
    this.socket.uncork();
  }
}

export type ChannelSend = (channel: number, data: Buffer) => Promise<void>;

/** Sends one ws message (a base64 protocol's text); resolves once the socket took it. */
function sendText(ws: WebSocket, message: string): Promise<void> {
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

/** Channels of `protocol` on a WebSocket: messages that resolve once the socket took them, and streams' writes. */
export class ChannelWriter {
  private readonly base64: boolean;

  constructor(
    private readonly ws: WebSocket,
    private readonly messages: MessageWriter,
    private readonly protocol: string,
  ) {
    this.base64 = isBase64Protocol(protocol);
  }

  readonly send: ChannelSend = (channel, data) => {
    if (this.base64) return sendText(this.ws, encodeChannelMessage(this.protocol, channel, data) as string);
    return new Promise((resolve, reject) => {
      this.messages.send([data], channel, (err) => {
        if (err) reject(err);
        else resolve();
      });
    });
  };

  /**
   * A stream's write of `chunk` to `channel`, completed as MessageWriter's `send`; a base64 protocol's text is a
   * copy, so its write completes at once while less than WS_HIGH_WATER bytes of the WebSocket's wait to be sent.
   */
  write(channel: number, chunk: Buffer, cb: WriteCallback): void {
    if (!this.base64) {
      this.messages.send([chunk], channel, cb);
      return;
    }
    const sent = this.send(channel, chunk);
    if (this.ws.readyState === this.ws.OPEN && this.ws.bufferedAmount < WS_HIGH_WATER) {
      sent.catch(() => undefined);
      cb();
    } else
      sent.then(() => {
        cb();
      }, cb);
  }
}

/**
 * The byte stream of a tunnel (binary messages both ways), as ws's createWebSocketStream gives it, with writes
 * completed as above; parts written together (a SPDY chunk's frame heads and payloads, corked) go out as one
 * message, none of them copied.
 */
export function tunnelStream(ws: WebSocket, messages: MessageWriter): Duplex {
  const tunnel = createWebSocketStream(ws);
  tunnel._write = (chunk: Buffer, _enc, cb) => {
    messages.send([chunk], undefined, cb);
  };
  tunnel._writev = (chunks, cb) => {
    messages.send(
      chunks.map((c) => c.chunk as Buffer),
      undefined,
      cb,
    );
  };
  return tunnel;
}
