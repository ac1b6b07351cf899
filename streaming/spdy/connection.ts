// The server side of a SPDY/3.1 connection as Kubernetes' streaming clients use it (moby/spdystream under
// client-go): the client opens every stream with SYN_STREAM and waits for our SYN_REPLY; data flows both ways
// until each side sends FIN; RST_STREAM ends a stream at once; PINGs from the client are echoed. Like
// spdystream, neither side enforces flow-control windows, so WINDOW_UPDATE and SETTINGS are read and ignored.
import { Duplex } from 'node:stream';
import {
  decodeFrame,
  decodeHeaderBlock,
  encodeData,
  encodeDataHead,
  encodeGoAway,
  encodePing,
  encodeRstStream,
  encodeSynReply,
  encodeHeaderBlock,
  FLAG_FIN,
  FrameError,
  RstStatus,
  type Frame,
} from './frames.js';
import { HeaderCompressor, HeaderDecompressor } from './header-compression.js';

/** Data frames we send stay well below the 16 MiB limit so one stream cannot starve the others. */
const MAX_DATA_CHUNK = 32 * 1024;
/** Incoming bytes buffered per stream before the connection stops reading from the socket. */
const STREAM_HIGH_WATER = 256 * 1024;

export class SpdyStream extends Duplex {
  /** Set once our FIN went out (or the stream was reset). */
  private localClosed = false;
  /** Set once the peer's FIN came. */
  private remoteClosed = false;

  constructor(
    private readonly conn: SpdyConnection,
    readonly id: number,
    readonly headers: ReadonlyMap<string, string>,
  ) {
    super({ readableHighWaterMark: STREAM_HIGH_WATER, allowHalfOpen: true });
    // Writes after the client vanished fail here; the session learns of it from the connection's close.
    this.on('error', () => undefined);
  }

  header(name: string): string | undefined {
    return this.headers.get(name.toLowerCase());
  }

  /** Sends RST_STREAM and ends the stream both ways. */
  reset(status: RstStatus = RstStatus.Cancel): void {
    if (this.destroyed) return;
    this.localClosed = true;
    // A reset on a connection that is gone needs no delivery.
    this.conn.send(encodeRstStream(this.id, status)).catch(() => undefined);
    this.destroy();
  }

  override _read(): void {
    this.conn.resumeReading();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.localClosed) {
      cb(new Error(`stream ${String(this.id)} is closed`));
      return;
    }
    // The chunk's frames go out in one write (heads and payloads, none copied): one syscall on a socket, one
    // message in the WebSocket tunnel. The write completes when the socket's does, once it holds none of the
    // chunk's bytes, so a writer may reuse its buffer then (streaming/read-buffers.ts).
    const parts: Buffer[] = [];
    for (let at = 0; at < chunk.length; at += MAX_DATA_CHUNK) {
      const data = chunk.subarray(at, at + MAX_DATA_CHUNK);
      parts.push(encodeDataHead(this.id, data.length, false), data);
    }
    this.conn.sendParts(parts, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.localClosed) {
      cb();
      return;
    }
    this.localClosed = true;
    this.conn.send(encodeData(this.id, Buffer.alloc(0), true)).then(() => {
      cb();
      this.conn.maybeForget(this);
    }, cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    // Destroyed before our FIN: the peer must not wait for more, so the stream is reset.
    if (!this.localClosed && !this.conn.isClosed) {
      this.localClosed = true;
      this.conn.send(encodeRstStream(this.id, RstStatus.Cancel)).catch(() => undefined);
    }
    this.conn.forget(this);
    cb(err);
  }

  /** Called by the connection for frames of this stream. */
  receive(data: Buffer, fin: boolean): boolean {
    if (this.remoteClosed) return true;
    let more = true;
    if (data.length > 0) more = this.push(data);
    if (fin) {
      this.remoteClosed = true;
      this.push(null);
    }
    return more;
  }

  get finishedRemotely(): boolean {
    return this.remoteClosed;
  }

  get finishedLocally(): boolean {
    return this.localClosed;
  }
}

export interface SpdyConnectionOptions {
  /** A new stream from the client; the connection replies SYN_REPLY once this returns true, RST_STREAM on false. */
  onStream(stream: SpdyStream): boolean;
  /** The connection ended (either side, or a protocol error, given as `err`). */
  onClose?(err?: Error): void;
}

export class SpdyConnection {
  private readonly streams = new Map<number, SpdyStream>();
  private readonly compressor = new HeaderCompressor();
  private readonly decompressor = new HeaderDecompressor();
  private buffered: Buffer = Buffer.alloc(0);
  private lastClientStreamId = 0;
  /** Frames waiting behind one whose header block is still being compressed (a SYN_REPLY's)... */
  private queued = 0;
  /** ...and the last of them; frames queued before a close still go out, the socket ends after them. */
  private writes: Promise<void> = Promise.resolve();
  /** Resolves when the socket drains (or closes); set while some sender waits for that. */
  private drained: Promise<void> | undefined;
  private closed = false;
  private paused = false;
  private pumping = false;
  /** Input arrived while frames were being handled: look at the buffer again once they are. */
  private pumpAgain = false;
  /** The peer sent its FIN: once the frames before it are handled, the connection closes. */
  private peerEnded = false;

  constructor(
    private readonly socket: Duplex,
    private readonly opts: SpdyConnectionOptions,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
      this.pump();
    });
    socket.on('end', () => {
      this.peerEnded = true;
      this.pump();
    });
    socket.on('error', (err: Error) => {
      this.close(err);
    });
    socket.on('close', () => {
      this.close();
    });
  }

  /**
   * Sends raw frame bytes in order. A ready frame goes straight to the socket, which keeps the order of what it is
   * given, unless an earlier frame still waits for its compressed header block; then it queues behind that one.
   * Resolves at once while the socket buffers little, else once it drained: the backpressure streams pass on.
   * `written` (a stream's data) is called once the socket holds none of the bytes, or with the error that lost them.
   */
  send(frame: Buffer | Buffer[] | Promise<Buffer>, written?: (err?: Error | null) => void): Promise<void> {
    if (this.closed) {
      const err = new Error('SPDY connection closed');
      written?.(err);
      return Promise.reject(err);
    }
    if (this.queued === 0 && !(frame instanceof Promise)) return this.write(frame, written) ?? Promise.resolve();
    this.queued++;
    const next = this.writes.then(async () => {
      let bytes: Buffer | Buffer[];
      try {
        bytes = await frame;
      } catch (err) {
        written?.(err as Error);
        throw err;
      } finally {
        this.queued--;
      }
      return this.write(bytes, written);
    });
    this.writes = next.catch(() => undefined);
    return next;
  }

  /**
   * `send` for a stream's data frames: `cb` once the socket holds none of their bytes (the kernel took them), which
   * with a socket that takes them at once is in the next tick, so whatever pipes into the stream never waits long.
   */
  sendParts(parts: Buffer[], cb: (err?: Error | null) => void): void {
    if (this.closed || this.queued > 0) {
      // Behind a frame whose header block is still being compressed.
      this.send(parts, cb).catch(() => undefined);
      return;
    }
    this.write(parts, cb)?.catch(() => undefined);
  }

  /**
   * Writes a frame, or frames in parts (data frames' heads and payloads) in one corked write that copies none;
   * `written` as the socket's write callback of the last part. Returns undefined while the socket buffers little,
   * else a promise of its drain.
   */
  private write(bytes: Buffer | Buffer[], written?: (err?: Error | null) => void): Promise<void> | undefined {
    if (this.socket.destroyed || this.socket.writableEnded) {
      const err = new Error('SPDY connection closed');
      written?.(err);
      return Promise.reject(err);
    }
    if (Buffer.isBuffer(bytes)) this.socket.write(bytes, written);
    else {
      const last = bytes.length - 1;
      this.socket.cork();
      for (let i = 0; i <= last; i++) this.socket.write(bytes[i], i === last ? written : undefined);
      this.socket.uncork();
    }
    // What is still buffered decides, not what write() said: corked writes that add up to the high-water mark all
    // say no, though the uncork may have handed every byte to the kernel.
    if (this.socket.writableLength < this.socket.writableHighWaterMark) return undefined;
    // A failed write closes the connection ('error', then 'close'), which ends the wait as well.
    this.drained ??= new Promise<void>((resolve) => {
      const done = () => {
        this.drained = undefined;
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
    return this.drained;
  }

  /** Says GOAWAY, lets queued frames out, and ends the socket; the client closes its side when it has read all. */
  async goAway(): Promise<void> {
    if (this.closed) return;
    await this.send(encodeGoAway(this.lastClientStreamId)).catch(() => undefined);
    this.socket.end();
    // A client that never closes does not hold the socket forever.
    setTimeout(() => {
      this.socket.destroy();
    }, 5_000).unref();
  }

  close(err?: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const stream of this.streams.values()) stream.destroy();
    this.streams.clear();
    this.compressor.close();
    this.decompressor.close();
    // What was queued (a GOAWAY, an error message) still goes out, then our side ends too: a peer that half-closed
    // (its FIN brought us here) would otherwise wait on an open socket until the idle timeout. A peer that does not
    // close its side loses the socket soon.
    void this.writes.then(() => {
      this.socket.end();
    });
    setTimeout(
      () => {
        this.socket.destroy();
      },
      err ? 1_000 : 5_000,
    ).unref();
    this.opts.onClose?.(err);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  resumeReading(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
    this.pump();
  }

  forget(stream: SpdyStream): void {
    this.streams.delete(stream.id);
  }

  /** A stream both sides finished no longer needs routing. */
  maybeForget(stream: SpdyStream): void {
    if (stream.finishedLocally && stream.readableEnded) this.streams.delete(stream.id);
  }

  private pump(): void {
    if (this.closed) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    this.pumpAgain = false;
    void this.drainFrames()
      .catch((err: unknown) => {
        const why = err instanceof FrameError ? err : new FrameError(`SPDY: ${(err as Error).message}`);
        // A protocol error ends the connection with GOAWAY(PROTOCOL_ERROR), never an exception on the socket.
        if (!this.closed && !this.socket.destroyed) this.socket.end(encodeGoAway(this.lastClientStreamId, 1));
        this.close(why);
      })
      .finally(() => {
        this.pumping = false;
        // Without this a complete frame that came in during the last await would wait for the next input (a ping).
        if (this.pumpAgain) this.pump();
        else if (this.peerEnded && !this.paused) this.close();
      });
  }

  private async drainFrames(): Promise<void> {
    while (!this.closed && !this.paused) {
      const decoded = decodeFrame(this.buffered);
      if (!decoded) return;
      this.buffered = this.buffered.subarray(decoded.size);
      await this.handle(decoded.frame);
    }
  }

  private async handle(frame: Frame): Promise<void> {
    switch (frame.type) {
      case 'syn_stream': {
        const headers = decodeHeaderBlock(await this.decompressor.decompress(frame.headerBlock));
        if (frame.streamId % 2 === 0 || frame.streamId <= this.lastClientStreamId) {
          throw new FrameError(`SYN_STREAM with stream id ${String(frame.streamId)} after ${String(this.lastClientStreamId)}`);
        }
        this.lastClientStreamId = frame.streamId;
        const map = new Map<string, string>();
        for (const [name, value] of headers) map.set(name, map.has(name) ? `${map.get(name) ?? ''}\0${value}` : value);
        const stream = new SpdyStream(this, frame.streamId, map);
        this.streams.set(frame.streamId, stream);
        if (!this.opts.onStream(stream)) {
          stream.reset(RstStatus.RefusedStream);
          return;
        }
        await this.send(this.compressor.compress(encodeHeaderBlock([])).then((block) => encodeSynReply(frame.streamId, block, false)));
        if (frame.flags & FLAG_FIN) stream.receive(Buffer.alloc(0), true);
        return;
      }
      case 'data': {
        const stream = this.streams.get(frame.streamId);
        if (!stream) {
          // Data for a stream we reset or never saw: tell the client once more instead of failing the connection.
          void this.send(encodeRstStream(frame.streamId, RstStatus.InvalidStream)).catch(() => undefined);
          return;
        }
        if (stream.finishedRemotely) {
          // Data after the client's own FIN on that stream: SPDY/3.1 resets the stream (STREAM_ALREADY_CLOSED) and
          // the connection goes on. Pushed past its end, the stream would report backpressure for good and pause
          // the whole connection.
          stream.reset(RstStatus.StreamAlreadyClosed);
          return;
        }
        const fin = (frame.flags & FLAG_FIN) !== 0;
        if (!stream.receive(frame.data, fin)) {
          this.paused = true;
          this.socket.pause();
        }
        if (fin) this.maybeForget(stream);
        return;
      }
      case 'rst_stream':
        this.streams.get(frame.streamId)?.destroy();
        this.streams.delete(frame.streamId);
        return;
      case 'ping':
        // Client pings have odd ids; we never ping, so an even id is not an answer to anything of ours.
        if (frame.id % 2 === 1) await this.send(encodePing(frame.id));
        return;
      case 'goaway':
        this.close();
        this.socket.end();
        return;
      case 'headers':
        // Trailing headers carry nothing the streaming protocols use, but the shared zlib stream must see them.
        await this.decompressor.decompress(frame.headerBlock);
        if (frame.flags & FLAG_FIN) this.streams.get(frame.streamId)?.receive(Buffer.alloc(0), true);
        return;
      case 'syn_reply':
        throw new FrameError('SYN_REPLY from the client, which opens every stream itself');
      case 'settings':
      case 'window_update':
      case 'unknown':
        return;
    }
  }
}
