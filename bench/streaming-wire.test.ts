import { expect } from 'chai';
import { seededRandom } from '../lib/testing/seeded-random.js';
import { encodeData, encodeGoAway, encodePing, encodeSynReply } from '../streaming/spdy/frames.js';
import { SpdyReader, WebSocketReader, WS_OPCODE } from './streaming-wire.js';

/** `bytes` cut into chunks of random sizes (1 byte up to 3 KiB), as a socket might deliver them. */
function chunked(bytes: Buffer, seed: number): Buffer[] {
  const random = seededRandom(seed);
  const out: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + Math.floor(random() * 3072);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

const payload = (n: number, fill: number) => Buffer.alloc(n, fill);

/** A server's (unmasked) WebSocket frame. */
function serverFrame(opcode: number, data: Buffer, fin = true): Buffer {
  const first = (fin ? 0x80 : 0) | opcode;
  if (data.length < 126) return Buffer.concat([Buffer.from([first, data.length]), data]);
  if (data.length < 65536) return Buffer.concat([Buffer.from([first, 126, data.length >> 8, data.length & 0xff]), data]);
  const head = Buffer.alloc(10);
  head[0] = first;
  head[1] = 127;
  head.writeBigUInt64BE(BigInt(data.length), 2);
  return Buffer.concat([head, data]);
}

describe('the streaming benchmark wire readers', () => {
  for (const seed of [1, 2, 3]) {
    it(`reads SPDY data and control frames however the bytes are split (seed ${String(seed)})`, () => {
      const wire = Buffer.concat([
        encodeSynReply(1, Buffer.from([1, 2, 3]), false),
        encodeData(3, payload(40_000, 0x61), false),
        encodePing(7),
        encodeData(1, Buffer.from('{"status":"Success"}'), true),
        encodeData(3, Buffer.alloc(0), true),
        encodeGoAway(3),
      ]);
      const data = new Map<number, Buffer[]>();
      const events: string[] = [];
      const reader = new SpdyReader({
        data: (id, bytes) => data.set(id, [...(data.get(id) ?? []), Buffer.from(bytes)]),
        fin: (id) => events.push(`fin ${String(id)}`),
        control: (frame) => events.push(frame.type),
      });
      for (const chunk of chunked(wire, seed)) reader.push(chunk);
      expect(Buffer.concat(data.get(3) ?? []).equals(payload(40_000, 0x61))).to.be.true;
      expect(Buffer.concat(data.get(1) ?? []).toString()).to.equal('{"status":"Success"}');
      expect(events).to.deep.equal(['syn_reply', 'ping', 'fin 1', 'fin 3', 'goaway']);
    });

    it(`reads WebSocket messages of every length form, fragmented or not, between control frames (seed ${String(seed)})`, () => {
      const wire = Buffer.concat([
        serverFrame(WS_OPCODE.binary, Buffer.from([1])),
        serverFrame(WS_OPCODE.binary, Buffer.concat([Buffer.from([1]), payload(70_000, 0x62)])),
        serverFrame(WS_OPCODE.binary, Buffer.concat([Buffer.from([1]), payload(300, 0x63)]), false),
        serverFrame(WS_OPCODE.ping, Buffer.from('p')),
        serverFrame(WS_OPCODE.continuation, payload(200, 0x63)),
        serverFrame(WS_OPCODE.binary, Buffer.from([3, 0x7b, 0x7d])),
        serverFrame(WS_OPCODE.close, Buffer.from([0x03, 0xe8])),
      ]);
      const messages: Buffer[][] = [];
      const controls: [number, string][] = [];
      const reader = new WebSocketReader({
        payload(bytes, messageStart) {
          if (messageStart) messages.push([]);
          messages.at(-1)?.push(Buffer.from(bytes));
        },
        control: (opcode, bytes) => controls.push([opcode, bytes.toString('hex')]),
      });
      for (const chunk of chunked(wire, seed)) reader.push(chunk);
      expect(messages.map((m) => Buffer.concat(m))).to.deep.equal([
        Buffer.from([1]),
        Buffer.concat([Buffer.from([1]), payload(70_000, 0x62)]),
        Buffer.concat([Buffer.from([1]), payload(500, 0x63)]),
        Buffer.from([3, 0x7b, 0x7d]),
      ]);
      expect(controls).to.deep.equal([
        [WS_OPCODE.ping, '70'],
        [WS_OPCODE.close, '03e8'],
      ]);
    });
  }

  it('refuses a masked frame from a server', () => {
    const reader = new WebSocketReader({ payload: () => undefined, control: () => undefined });
    expect(() => {
      reader.push(Buffer.from([0x82, 0x81, 0, 0, 0, 0, 1]));
    }).to.throw(/masked/);
  });
});
