import { expect } from 'chai';
import {
  decodeFrame,
  decodeHeaderBlock,
  encodeData,
  encodeGoAway,
  encodeHeaderBlock,
  encodePing,
  encodeRstStream,
  encodeSettings,
  encodeSynReply,
  encodeSynStream,
  encodeWindowUpdate,
  FrameError,
  RstStatus,
} from './frames.js';

describe('SPDY/3.1 frames', () => {
  const cases = [
    { name: 'a data frame with FIN', bytes: encodeData(3, Buffer.from('hi'), true), want: { type: 'data', streamId: 3, flags: 1, data: Buffer.from('hi') } },
    { name: 'an empty data frame', bytes: encodeData(5, Buffer.alloc(0), false), want: { type: 'data', streamId: 5, flags: 0, data: Buffer.alloc(0) } },
    {
      name: 'SYN_STREAM keeps its header block and priority',
      bytes: encodeSynStream(7, Buffer.from([1, 2, 3]), true, 2),
      want: { type: 'syn_stream', streamId: 7, associatedId: 0, priority: 2, flags: 1, headerBlock: Buffer.from([1, 2, 3]) },
    },
    { name: 'SYN_REPLY', bytes: encodeSynReply(1, Buffer.from([9]), false), want: { type: 'syn_reply', streamId: 1, flags: 0, headerBlock: Buffer.from([9]) } },
    { name: 'RST_STREAM', bytes: encodeRstStream(9, RstStatus.Cancel), want: { type: 'rst_stream', streamId: 9, status: 5 } },
    { name: 'PING', bytes: encodePing(0xffff_ffff), want: { type: 'ping', id: 0xffff_ffff } },
    { name: 'GOAWAY', bytes: encodeGoAway(11, 1), want: { type: 'goaway', lastGoodStreamId: 11, status: 1 } },
    { name: 'WINDOW_UPDATE', bytes: encodeWindowUpdate(0, 65536), want: { type: 'window_update', streamId: 0, delta: 65536 } },
    {
      name: 'SETTINGS with entries',
      bytes: encodeSettings([{ flags: 1, id: 7, value: 1 << 20 }]),
      want: { type: 'settings', flags: 0, entries: [{ flags: 1, id: 7, value: 1 << 20 }] },
    },
  ];
  for (const tc of cases) {
    it(`round-trips ${tc.name}`, () => {
      const decoded = decodeFrame(Buffer.concat([tc.bytes, Buffer.from('next')]));
      expect(decoded?.frame).to.deep.equal(tc.want);
      expect(decoded?.size).to.equal(tc.bytes.length);
    });
  }

  it('lays out a data frame as the spec says: stream id, flags, 24-bit length', () => {
    expect(encodeData(0x01020304, Buffer.from('ab'), true).toString('hex')).to.equal('0102030401000002' + '6162');
  });

  it('lays out a control frame header: control bit and version 3, type, flags, length', () => {
    expect(encodePing(1).toString('hex')).to.equal('8003000600000004' + '00000001');
  });

  it('waits for a frame that has not fully arrived', () => {
    const bytes = encodeData(1, Buffer.alloc(100), false);
    expect(decodeFrame(bytes.subarray(0, 7))).to.equal(undefined);
    expect(decodeFrame(bytes.subarray(0, 50))).to.equal(undefined);
  });

  const malformed = [
    { name: 'a frame over the size limit', bytes: encodeData(1, Buffer.alloc(64), false), max: 32, error: /exceeds the limit/ },
    { name: 'another SPDY version', bytes: Buffer.from('8002000600000004000000001', 'hex'), max: undefined, error: /unsupported SPDY version 2/ },
    { name: 'a short RST_STREAM', bytes: Buffer.from('80030003000000040000000a', 'hex'), max: undefined, error: /RST_STREAM frame too short/ },
    { name: 'SETTINGS whose count lies', bytes: Buffer.from('800300040000000400000009', 'hex'), max: undefined, error: /announces 9 entries/ },
  ];
  for (const tc of malformed) {
    it(`rejects ${tc.name} with a FrameError`, () => {
      expect(() => decodeFrame(tc.bytes, tc.max)).to.throw(FrameError, tc.error);
    });
  }

  it('ignores control frame types it does not know, as the spec asks', () => {
    expect(decodeFrame(Buffer.from('800300ff00000000', 'hex'))?.frame).to.deep.equal({ type: 'unknown', controlType: 0xff });
  });

  describe('header blocks', () => {
    it('round-trips name/value pairs, lowercasing names', () => {
      const block = encodeHeaderBlock([
        ['StreamType', 'data'],
        ['port', '8080'],
      ]);
      expect(decodeHeaderBlock(block)).to.deep.equal([
        ['streamtype', 'data'],
        ['port', '8080'],
      ]);
    });
    const bad = [
      { name: 'no count', block: Buffer.alloc(2), error: /no pair count/ },
      { name: 'more pairs than bytes', block: Buffer.from('7fffffff', 'hex'), error: /pairs announced/ },
      { name: 'a truncated string', block: Buffer.from('00000001000000ff61000000', 'hex'), error: /truncated string/ },
      { name: 'an empty name', block: Buffer.from('000000010000000000000000', 'hex'), error: /empty header name/ },
    ];
    for (const tc of bad) {
      it(`rejects ${tc.name}`, () => {
        expect(() => decodeHeaderBlock(tc.block)).to.throw(FrameError, tc.error);
      });
    }
  });
});
