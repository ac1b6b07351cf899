// Exec and attach sessions on the wire: over SPDY the client opens one stream per role (streamtype error, stdin,
// stdout, stderr, resize) and the server waits for all it expects; over WebSocket the roles are channels of one
// connection. Either way the runtime gets plain streams, and when it is done the server ends stdout and stderr,
// writes the outcome on the error stream, and closes the connection.
import { PassThrough, Writable, type Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { ResizeDecoder } from './resize.js';
import { TerminalSizes, type CommandIO, type StreamOptions } from './runtime.js';
import { SpdyConnection, type SpdyStream } from './spdy/connection.js';
import { statusBytes, type Outcome } from './status.js';
import {
  CHANNEL_ERROR,
  CHANNEL_RESIZE,
  CHANNEL_STDERR,
  CHANNEL_STDIN,
  CHANNEL_STDOUT,
  ChannelProtocolError,
  decodeChannelMessage,
} from './websocket/channels.js';
import { ChannelWriter, MessageWriter } from './websocket/writer.js';

/** How long a SPDY client has to open the streams it asked for (the kubelet's default). */
export const STREAM_CREATION_TIMEOUT_MS = 30_000;

export type CommandRunner = (io: CommandIO) => Promise<Outcome>;

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';
const STREAM_TYPES: readonly string[] = ['error', 'stdin', 'stdout', 'stderr', 'resize'];

/** The SPDY streams a client with these options opens under `protocol`. */
export function expectedStreams(protocol: string, opts: StreamOptions): Set<StreamType> {
  const want = new Set<StreamType>(['error']);
  if (opts.stdin) want.add('stdin');
  if (opts.stdout) want.add('stdout');
  if (opts.stderr) want.add('stderr');
  // Resizing came with v3; older clients never open the stream.
  if (opts.tty && /^v[3-9]\./.test(protocol)) want.add('resize');
  return want;
}

function finish(stream: Writable | undefined): Promise<void> {
  if (!stream || stream.writableFinished || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('finish', resolve);
    stream.once('close', resolve);
    stream.once('error', () => {
      resolve();
    });
    stream.end();
  });
}

async function runSession(io: CommandIO, run: CommandRunner): Promise<Outcome> {
  try {
    return await run(io);
  } catch (err) {
    return { kind: 'error', message: (err as Error).message };
  }
}

/** Serves one exec or attach session over an upgraded SPDY connection; resolves when it is over. */
export async function serveRemoteCommandSpdy(socket: Duplex, protocol: string, opts: StreamOptions, run: CommandRunner): Promise<void> {
  const want = expectedStreams(protocol, opts);
  const streams = new Map<StreamType, SpdyStream>();
  const abort = new AbortController();
  let arrived: () => void = () => undefined;
  const allArrived = new Promise<void>((resolve) => {
    arrived = resolve;
  });
  const conn = new SpdyConnection(socket, {
    onStream(stream) {
      const type = stream.header('streamtype') ?? '';
      // An unknown or repeated stream type is refused on its own; the session goes on.
      if (!STREAM_TYPES.includes(type) || streams.has(type as StreamType)) return false;
      streams.set(type as StreamType, stream);
      if ([...want].every((t) => streams.has(t))) arrived();
      return true;
    },
    onClose() {
      abort.abort();
    },
  });
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      resolve('timeout');
    }, STREAM_CREATION_TIMEOUT_MS);
  });
  const gone = new Promise<'gone'>((resolve) => {
    abort.signal.addEventListener('abort', () => {
      resolve('gone');
    });
  });
  const ready = await Promise.race([allArrived.then(() => 'ready' as const), timedOut, gone]);
  clearTimeout(timer);
  if (ready !== 'ready') {
    if (ready === 'timeout') conn.close(new Error('timed out waiting for the client to create streams'));
    return;
  }
  const resize = new TerminalSizes();
  const resizeStream = streams.get('resize');
  if (resizeStream) {
    const decoder = new ResizeDecoder();
    resizeStream.on('data', (chunk: Buffer) => {
      try {
        for (const size of decoder.push(chunk)) resize.report(size);
      } catch {
        resizeStream.reset();
      }
    });
  }
  const outcome = await runSession(
    { stdin: streams.get('stdin'), stdout: streams.get('stdout'), stderr: streams.get('stderr'), tty: opts.tty, resize, signal: abort.signal },
    run,
  );
  if (conn.isClosed) return;
  await Promise.all([finish(streams.get('stdout')), finish(streams.get('stderr'))]);
  const errorStream = streams.get('error');
  const status = statusBytes(protocol, outcome);
  if (errorStream && status.length > 0) errorStream.write(status);
  await finish(errorStream);
  await conn.goAway();
}

/** Serves one exec or attach session over an accepted WebSocket (on `socket`); resolves when it is over. */
export async function serveRemoteCommandWebSocket(ws: WebSocket, socket: Duplex, protocol: string, opts: StreamOptions, run: CommandRunner): Promise<void> {
  const abort = new AbortController();
  const stdin = opts.stdin ? new PassThrough() : undefined;
  const resize = new TerminalSizes();
  const decoder = new ResizeDecoder();
  const channels = new ChannelWriter(ws, new MessageWriter(ws, socket), protocol);
  const { send } = channels;
  const channelWriter = (channel: number) =>
    new Writable({
      write(chunk: Buffer, _enc, cb) {
        channels.write(channel, chunk, cb);
      },
    });
  const stdout = opts.stdout ? channelWriter(CHANNEL_STDOUT) : undefined;
  const stderr = opts.stderr ? channelWriter(CHANNEL_STDERR) : undefined;
  // A client that vanishes fails the write in flight (EPIPE, ECONNRESET); the close that follows ends the session
  // and aborts the runtime, so the failed write must not become an uncaught 'error' of the process.
  for (const writer of [stdout, stderr]) writer?.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => {
    ws.once('close', () => {
      abort.abort();
      stdin?.end();
      resolve();
    });
  });
  ws.on('message', (message: Buffer) => {
    try {
      const m = decodeChannelMessage(protocol, message);
      if (m.kind === 'close' && m.channel === CHANNEL_STDIN) stdin?.end();
      if (m.kind !== 'data') return;
      if (m.channel === CHANNEL_STDIN && stdin && !stdin.writableEnded) stdin.write(m.data);
      else if (m.channel === CHANNEL_RESIZE && opts.tty) for (const size of decoder.push(m.data)) resize.report(size);
    } catch (err) {
      // A malformed message ends the session with a protocol error (1002), not an exception.
      ws.close(1002, err instanceof ChannelProtocolError ? err.message.slice(0, 120) : 'protocol error');
    }
  });
  // The first message tells the client the session is set up: an empty one on the lowest channel it reads.
  await send(opts.stdout ? CHANNEL_STDOUT : opts.stderr ? CHANNEL_STDERR : CHANNEL_ERROR, Buffer.alloc(0)).catch(() => undefined);
  const outcome = await runSession({ stdin, stdout, stderr, tty: opts.tty, resize, signal: abort.signal }, run);
  if (ws.readyState === ws.OPEN) {
    await Promise.all([finish(stdout), finish(stderr)]);
    const status = statusBytes(protocol, outcome);
    if (status.length > 0) await send(CHANNEL_ERROR, status).catch(() => undefined);
    ws.close(1000);
    // A client that never answers the close does not hold the socket.
    setTimeout(() => {
      ws.terminate();
    }, 5_000).unref();
  }
  await closed;
}
