import { inflateSync } from 'node:zlib';
import { expect } from 'chai';
import { SPDY3_DICTIONARY } from './dictionary.js';
import { decodeHeaderBlock, encodeHeaderBlock } from './frames.js';
import { HeaderCompressor, HeaderDecompressor } from './header-compression.js';

describe('SPDY/3 header compression', () => {
  it('has the 1423-byte SPDY/3 dictionary Go clients prime zlib with', () => {
    expect(SPDY3_DICTIONARY.length).to.equal(1423);
    expect(SPDY3_DICTIONARY.subarray(0, 11).toString('latin1')).to.equal('\0\0\0\x07options');
    expect(SPDY3_DICTIONARY.subarray(-6).toString('latin1')).to.equal('enq=0.');
  });

  it('compresses with the dictionary so a plain zlib inflate primed with it decodes the first block', async () => {
    const c = new HeaderCompressor();
    const block = encodeHeaderBlock([['streamtype', 'stdout']]);
    const out = await c.compress(block);
    // A sync flush ends with the empty stored block 00 00 ff ff.
    expect(out.subarray(-4).toString('hex')).to.equal('0000ffff');
    expect(inflateSync(out, { dictionary: SPDY3_DICTIONARY, finishFlush: 2 })).to.deep.equal(block);
    c.close();
  });

  it('keeps one zlib stream per direction across blocks, each decodable as it arrives', async () => {
    const c = new HeaderCompressor();
    const d = new HeaderDecompressor();
    const blocks = [[['streamtype', 'error']], [['streamtype', 'stdin']], [['streamtype', 'stdout'], ['x', 'y'.repeat(1000)]]] as [string, string][][];
    for (const headers of blocks) {
      const compressed = await c.compress(encodeHeaderBlock(headers));
      expect(decodeHeaderBlock(await d.decompress(compressed))).to.deep.equal(headers);
    }
    c.close();
    d.close();
  });

  it('rejects garbage and every block after it, since the shared stream is lost', async () => {
    const d = new HeaderDecompressor();
    const failed = await d.decompress(Buffer.from('not zlib at all')).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failed?.message).to.match(/header block/);
    const c = new HeaderCompressor();
    const next = await d.decompress(await c.compress(encodeHeaderBlock([]))).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(next).to.be.instanceOf(Error);
    c.close();
    d.close();
  });
});
