// Incremental readers of the two wire formats the throughput benchmark's clients receive, written for speed: data
// payloads are handed on as slices of the socket's chunks (never copied or joined), and only frame heads and small
// control frames are assembled. SPDY/3.1 frames (streaming/spdy/frames.ts decodes the control frames) and
// WebSocket frames as a server sends them (unmasked).
import { decodeFrame, type Frame } from '../streaming/spdy/frames.js';

const EMPTY = Buffer.alloc(0);

export interface SpdyEvents {
  data(streamId: number, bytes: Buffer): void;
  fin(streamId: number): void;
  control(frame: Frame): void;
}

export class SpdyReader {
  /** The frame head (and, for a control frame, its body) being assembled. */
  private pending = EMPTY;
  private dataLeft = 0;
  private dataStream = 0;
  private dataFin = false;

  constructor(private readonly on: SpdyEvents) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.dataLeft > 0) {
        const n = Math.min(this.dataLeft, chunk.length - at);
        this.on.data(this.dataStream, chunk.subarray(at, at + n));
        this.dataLeft -= n;
        at += n;
        if (this.dataLeft === 0 && this.dataFin) this.on.fin(this.dataStream);
        continue;
      }
      const want = this.pending.length < 8 ? 8 : 8 + this.pending.readUIntBE(5, 3);
      const take = Math.min(want - this.pending.length, chunk.length - at);
      this.pending = Buffer.concat([this.pending, chunk.subarray(at, at + take)]);
      at += take;
      if (this.pending.length < 8) continue;
      const head = this.pending;
      const length = head.readUIntBE(5, 3);
      if (((head[0] ?? 0) & 0x80) === 0) {
        this.pending = EMPTY;
        this.dataStream = head.readUInt32BE(0) & 0x7fff_ffff;
        this.dataFin = ((head[4] ?? 0) & 0x01) !== 0;
        this.dataLeft = length;
        if (length === 0 && this.dataFin) this.on.fin(this.dataStream);
        continue;
      }
      if (head.length < 8 + length) continue;
      this.pending = EMPTY;
      const decoded = decodeFrame(head);
      if (decoded) this.on.control(decoded.frame);
    }
  }
}

export const WS_OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

export interface WebSocketEvents {
  /** Payload bytes of a data message; `messageStart` marks the first bytes of a new message. */
  payload(bytes: Buffer, messageStart: boolean): void;
  /** A control frame, whole. */
  control(opcode: number, payload: Buffer): void;
}

export class WebSocketReader {
  private pending = EMPTY;
  private payloadLeft = 0;
  private messageStart = false;

  constructor(private readonly on: WebSocketEvents) {}

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.payloadLeft > 0) {
        const n = Math.min(this.payloadLeft, chunk.length - at);
        this.on.payload(chunk.subarray(at, at + n), this.messageStart);
        this.messageStart = false;
        this.payloadLeft -= n;
        at += n;
        continue;
      }
      const want = this.frameHeadLength() + this.controlLength();
      const take = Math.min(want - this.pending.length, chunk.length - at);
      this.pending = Buffer.concat([this.pending, chunk.subarray(at, at + take)]);
      at += take;
      const headLength = this.frameHeadLength();
      if (this.pending.length < headLength) continue;
      const head = this.pending;
      if ((head[1] ?? 0) & 0x80) throw new Error('the server masked a WebSocket frame, which RFC 6455 forbids');
      const opcode = (head[0] ?? 0) & 0x0f;
      const length = this.payloadLength();
      if (opcode >= WS_OPCODE.close) {
        if (head.length < headLength + length) continue;
        this.pending = EMPTY;
        this.on.control(opcode, head.subarray(headLength));
        continue;
      }
      this.pending = EMPTY;
      if (opcode !== WS_OPCODE.continuation) this.messageStart = true;
      this.payloadLeft = length;
    }
  }

  /** Bytes of the frame head being assembled, as far as its first two bytes tell (servers never mask). */
  private frameHeadLength(): number {
    if (this.pending.length < 2) return 2;
    const len7 = (this.pending[1] ?? 0) & 0x7f;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0);
  }

  private payloadLength(): number {
    const len7 = (this.pending[1] ?? 0) & 0x7f;
    if (len7 === 126) return this.pending.readUInt16BE(2);
    if (len7 === 127) return Number(this.pending.readBigUInt64BE(2));
    return len7;
  }

  /** A control frame is assembled whole; data frames only up to their head. */
  private controlLength(): number {
    if (this.pending.length < 2 || ((this.pending[0] ?? 0) & 0x0f) < WS_OPCODE.close) return 0;
    return (this.pending[1] ?? 0) & 0x7f;
  }
}
