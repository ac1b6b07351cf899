// SPDY/3.1 frame layout (SPDY Protocol draft 3.1, section 2.2): the frames Kubernetes' streaming clients send
// and the ones the streaming server answers with. Header blocks stay compressed here; header-compression.ts
// turns them into name/value lists. Pure encode/decode, so every malformed input is a FrameError, never a throw
// from a buffer read.

export const SPDY_VERSION = 3;
/** Frame lengths are 24 bits. */
export const MAX_FRAME_LENGTH = 0xff_ffff;

export const FLAG_FIN = 0x01;

export const ControlType = { SynStream: 1, SynReply: 2, RstStream: 3, Settings: 4, Ping: 6, GoAway: 7, Headers: 8, WindowUpdate: 9 } as const;
type ControlTypeValue = (typeof ControlType)[keyof typeof ControlType];

/** RST_STREAM status codes (section 2.6.3). */
export const RstStatus = { ProtocolError: 1, InvalidStream: 2, RefusedStream: 3, Cancel: 5, InternalError: 6, StreamInUse: 8, StreamAlreadyClosed: 9 } as const;
export type RstStatus = (typeof RstStatus)[keyof typeof RstStatus];

export type Frame =
  | { type: 'data'; streamId: number; flags: number; data: Buffer }
  | { type: 'syn_stream'; streamId: number; associatedId: number; priority: number; flags: number; headerBlock: Buffer }
  | { type: 'syn_reply'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; flags: number; entries: { flags: number; id: number; value: number }[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'headers'; streamId: number; flags: number; headerBlock: Buffer }
  | { type: 'window_update'; streamId: number; delta: number }
  /** A control frame type SPDY/3.1 does not define: receivers must ignore it (section 2.2.1). */
  | { type: 'unknown'; controlType: number };

export class FrameError extends Error {}

const STREAM_ID_MASK = 0x7fff_ffff;

/**
 * The first complete frame at the start of `buf` and how many bytes it took, or undefined while it is incomplete.
 * `maxLength` bounds what a peer may make us buffer.
 */
export function decodeFrame(buf: Buffer, maxLength = MAX_FRAME_LENGTH): { frame: Frame; size: number } | undefined {
  if (buf.length < 8) return undefined;
  const length = buf.readUIntBE(5, 3);
  if (length > maxLength) throw new FrameError(`frame of ${String(length)} bytes exceeds the limit of ${String(maxLength)}`);
  if (buf.length < 8 + length) return undefined;
  const flags = buf[4] ?? 0;
  const body = buf.subarray(8, 8 + length);
  const size = 8 + length;
  if ((buf[0] ?? 0) & 0x80) {
    const version = buf.readUInt16BE(0) & 0x7fff;
    if (version !== SPDY_VERSION) throw new FrameError(`unsupported SPDY version ${String(version)}`);
    return { frame: decodeControl(buf.readUInt16BE(2), flags, body), size };
  }
  return { frame: { type: 'data', streamId: buf.readUInt32BE(0) & STREAM_ID_MASK, flags, data: body }, size };
}

function need(body: Buffer, n: number, what: string): void {
  if (body.length < n) throw new FrameError(`${what} frame too short: ${String(body.length)} bytes`);
}

function decodeControl(type: number, flags: number, body: Buffer): Frame {
  switch (type) {
    case ControlType.SynStream:
      need(body, 10, 'SYN_STREAM');
      return {
        type: 'syn_stream',
        streamId: body.readUInt32BE(0) & STREAM_ID_MASK,
        associatedId: body.readUInt32BE(4) & STREAM_ID_MASK,
        priority: (body[8] ?? 0) >> 5,
        flags,
        headerBlock: body.subarray(10),
      };
    case ControlType.SynReply:
      need(body, 4, 'SYN_REPLY');
      return { type: 'syn_reply', streamId: body.readUInt32BE(0) & STREAM_ID_MASK, flags, headerBlock: body.subarray(4) };
    case ControlType.RstStream:
      need(body, 8, 'RST_STREAM');
      return { type: 'rst_stream', streamId: body.readUInt32BE(0) & STREAM_ID_MASK, status: body.readUInt32BE(4) };
    case ControlType.Settings: {
      need(body, 4, 'SETTINGS');
      const count = body.readUInt32BE(0);
      if (body.length !== 4 + count * 8) throw new FrameError(`SETTINGS frame announces ${String(count)} entries in ${String(body.length)} bytes`);
      const entries = [];
      for (let i = 0; i < count; i++) {
        const at = 4 + i * 8;
        entries.push({ flags: body[at] ?? 0, id: body.readUIntBE(at + 1, 3), value: body.readUInt32BE(at + 4) });
      }
      return { type: 'settings', flags, entries };
    }
    case ControlType.Ping:
      need(body, 4, 'PING');
      return { type: 'ping', id: body.readUInt32BE(0) };
    case ControlType.GoAway:
      need(body, 8, 'GOAWAY');
      return { type: 'goaway', lastGoodStreamId: body.readUInt32BE(0) & STREAM_ID_MASK, status: body.readUInt32BE(4) };
    case ControlType.Headers:
      need(body, 4, 'HEADERS');
      return { type: 'headers', streamId: body.readUInt32BE(0) & STREAM_ID_MASK, flags, headerBlock: body.subarray(4) };
    case ControlType.WindowUpdate:
      need(body, 8, 'WINDOW_UPDATE');
      return { type: 'window_update', streamId: body.readUInt32BE(0) & STREAM_ID_MASK, delta: body.readUInt32BE(4) & STREAM_ID_MASK };
    default:
      return { type: 'unknown', controlType: type };
  }
}

function control(type: ControlTypeValue, flags: number, body: Buffer): Buffer {
  if (body.length > MAX_FRAME_LENGTH) throw new FrameError(`control frame body of ${String(body.length)} bytes is too long`);
  const head = Buffer.alloc(8);
  head.writeUInt16BE(0x8000 | SPDY_VERSION, 0);
  head.writeUInt16BE(type, 2);
  head[4] = flags;
  head.writeUIntBE(body.length, 5, 3);
  return Buffer.concat([head, body]);
}

function words(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

/** The 8 bytes before a data frame's payload: senders write them and the payload without joining the two. */
export function encodeDataHead(streamId: number, length: number, fin: boolean): Buffer {
  if (length > MAX_FRAME_LENGTH) throw new FrameError(`data frame of ${String(length)} bytes is too long`);
  const head = Buffer.allocUnsafe(8);
  head.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
  head[4] = fin ? FLAG_FIN : 0;
  head.writeUIntBE(length, 5, 3);
  return head;
}

export function encodeData(streamId: number, data: Buffer, fin: boolean): Buffer {
  return Buffer.concat([encodeDataHead(streamId, data.length, fin), data]);
}

export function encodeSynStream(streamId: number, headerBlock: Buffer, fin: boolean, priority = 0): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt32BE(streamId & STREAM_ID_MASK, 0);
  fixed[8] = (priority & 0x7) << 5;
  return control(ControlType.SynStream, fin ? FLAG_FIN : 0, Buffer.concat([fixed, headerBlock]));
}

export function encodeSynReply(streamId: number, headerBlock: Buffer, fin: boolean): Buffer {
  return control(ControlType.SynReply, fin ? FLAG_FIN : 0, Buffer.concat([words(streamId & STREAM_ID_MASK), headerBlock]));
}

export function encodeRstStream(streamId: number, status: RstStatus): Buffer {
  return control(ControlType.RstStream, 0, words(streamId & STREAM_ID_MASK, status));
}

export function encodePing(id: number): Buffer {
  return control(ControlType.Ping, 0, words(id));
}

export function encodeGoAway(lastGoodStreamId: number, status = 0): Buffer {
  return control(ControlType.GoAway, 0, words(lastGoodStreamId & STREAM_ID_MASK, status));
}

export function encodeSettings(entries: { flags: number; id: number; value: number }[]): Buffer {
  const body = Buffer.alloc(4 + entries.length * 8);
  body.writeUInt32BE(entries.length, 0);
  entries.forEach((e, i) => {
    body[4 + i * 8] = e.flags;
    body.writeUIntBE(e.id, 5 + i * 8, 3);
    body.writeUInt32BE(e.value, 8 + i * 8);
  });
  return control(ControlType.Settings, 0, body);
}

export function encodeWindowUpdate(streamId: number, delta: number): Buffer {
  return control(ControlType.WindowUpdate, 0, words(streamId & STREAM_ID_MASK, delta & STREAM_ID_MASK));
}

/** Name/value pairs of a decompressed header block (section 2.6.10): names lowercase, repeated values NUL-joined. */
export type HeaderList = [name: string, value: string][];

export function encodeHeaderBlock(headers: HeaderList): Buffer {
  const parts: Buffer[] = [words(headers.length)];
  for (const [name, value] of headers) {
    const n = Buffer.from(name.toLowerCase());
    const v = Buffer.from(value);
    parts.push(words(n.length), n, words(v.length), v);
  }
  return Buffer.concat(parts);
}

export function decodeHeaderBlock(block: Buffer): HeaderList {
  const fail = (why: string) => new FrameError(`malformed header block: ${why}`);
  if (block.length < 4) throw fail('no pair count');
  const count = block.readUInt32BE(0);
  // Each pair takes at least 8 bytes: a count beyond that is a lie we need not allocate for.
  if (count > (block.length - 4) / 8) throw fail(`${String(count)} pairs announced in ${String(block.length)} bytes`);
  const out: HeaderList = [];
  let at = 4;
  const take = (): string => {
    if (at + 4 > block.length) throw fail('truncated length');
    const len = block.readUInt32BE(at);
    at += 4;
    if (at + len > block.length) throw fail('truncated string');
    const s = block.toString('utf8', at, at + len);
    at += len;
    return s;
  };
  for (let i = 0; i < count; i++) {
    const name = take();
    const value = take();
    if (name === '') throw fail('empty header name');
    out.push([name.toLowerCase(), value]);
  }
  return out;
}
