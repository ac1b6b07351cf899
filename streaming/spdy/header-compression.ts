// SPDY/3 header compression: one zlib stream per direction for the whole connection, primed with the SPDY/3
// dictionary, each header block ending in a sync flush so the peer can decode it on its own. Calls are queued,
// because every block continues the stream the previous one left.
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary.js';
import { FrameError } from './frames.js';

/** Bounds what a compressed header block may expand to (a zlib bomb in a SYN_STREAM). */
const MAX_HEADER_BLOCK = 256 * 1024;

function flushed(stream: Deflate | Inflate, input: Buffer, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        reject(new FrameError(`header block expands beyond ${String(limit)} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onError = (err: Error) => {
      cleanup();
      reject(new FrameError(`header block: ${err.message}`));
    };
    const cleanup = () => {
      stream.off('data', onData);
      stream.off('error', onError);
    };
    stream.on('data', onData);
    stream.once('error', onError);
    stream.write(input);
    stream.flush(constants.Z_SYNC_FLUSH, () => {
      // Output of a flush is pushed before its callback, but 'data' for it may follow on the same tick.
      setImmediate(() => {
        cleanup();
        if (size <= limit) resolve(Buffer.concat(chunks));
      });
    });
  });
}

export class HeaderCompressor {
  private readonly deflate = createDeflate({ dictionary: SPDY3_DICTIONARY, level: constants.Z_BEST_COMPRESSION });
  private queue: Promise<unknown> = Promise.resolve();

  compress(block: Buffer): Promise<Buffer> {
    const next = this.queue.then(() => flushed(this.deflate, block, Number.POSITIVE_INFINITY));
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.deflate.destroy();
  }
}

export class HeaderDecompressor {
  private readonly inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
  private broken: Error | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  decompress(block: Buffer): Promise<Buffer> {
    const next = this.queue.then(async () => {
      // A failed block leaves the shared stream undefined: the connection cannot decode anything after it.
      if (this.broken) throw this.broken;
      try {
        return await flushed(this.inflate, block, MAX_HEADER_BLOCK);
      } catch (err) {
        this.broken = err as Error;
        throw err;
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  close(): void {
    this.inflate.destroy();
  }
}
