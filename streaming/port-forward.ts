// Port forwarding on the wire. Over SPDY (also inside the WebSocket tunnel current kubectl uses) every forwarded
// connection is a pair of client streams, an error stream and a data stream, with the same `port` and `requestid`
// headers; the server connects the data stream to the port and writes a failure on the error stream. The
// WebSocket channel form forwards the ports of the `port` query parameters, one connection each, on channel
// pairs (data 2i, error 2i+1), each opened by the port number in two little-endian bytes.
import { Duplex, PassThrough } from 'node:stream';
import type { WebSocket } from 'ws';
import { BadRequestError } from './remote-command-options.js';
import { STREAM_CREATION_TIMEOUT_MS } from './remote-command.js';
import { SpdyConnection, type SpdyStream } from './spdy/connection.js';
import { ChannelWriter, MessageWriter } from './websocket/writer.js';
import { ChannelProtocolError, decodeChannelMessage } from './websocket/channels.js';

/** Forwards one connection to `port`; rejects with a message for the client when the port cannot be reached. */
export type PortForwarder = (port: number, stream: Duplex, signal: AbortSignal) => Promise<void>;

export function parsePort(value: string | undefined): number {
  if (value === undefined || !/^\d{1,5}$/.test(value)) throw new BadRequestError(`invalid port ${JSON.stringify(value ?? '')}: must be a number`);
  const port = Number(value);
  if (port < 1 || port > 65535) throw new BadRequestError(`invalid port ${value}: must be between 1 and 65535`);
  return port;
}

/** The ports of a WebSocket port-forward request (`port` repeated, or comma-separated). */
export function queryPorts(query: URLSearchParams): number[] {
  const values = query.getAll('port').flatMap((v) => v.split(','));
  if (values.length === 0) throw new BadRequestError('query parameter "port" is required');
  return values.map((v) => parsePort(v.trim()));
}

interface Pair {
  error?: SpdyStream;
  data?: SpdyStream;
  timer: NodeJS.Timeout;
}

/** The request a stream belongs to; clients before requestid numbered pairs by stream id (data = error + 2). */
export function requestIdOf(stream: { id: number; header(name: string): string | undefined }): string {
  const given = stream.header('requestid');
  if (given !== undefined) return given;
  return String(stream.header('streamtype') === 'data' ? stream.id - 2 : stream.id);
}

/** Serves port forwarding over an upgraded SPDY connection (or the WebSocket tunnel's byte stream). */
export function servePortForwardSpdy(socket: Duplex, forward: PortForwarder, describe: string): Promise<void> {
  const abort = new AbortController();
  const pairs = new Map<string, Pair>();
  return new Promise((resolve) => {
    const conn = new SpdyConnection(socket, {
      onStream(stream) {
        const type = stream.header('streamtype');
        if (type !== 'error' && type !== 'data') return false;
        const id = requestIdOf(stream);
        let pair = pairs.get(id);
        if (!pair) {
          const timer = setTimeout(() => {
            pairs.delete(id);
            pair?.error?.reset();
            pair?.data?.reset();
          }, STREAM_CREATION_TIMEOUT_MS);
          pair = { timer };
          pairs.set(id, pair);
        }
        if (pair[type]) return false;
        pair[type] = stream;
        const { error, data } = pair;
        if (error && data) {
          clearTimeout(pair.timer);
          pairs.delete(id);
          void forwardPair(error, data, forward, abort.signal, describe);
        }
        return true;
      },
      onClose() {
        abort.abort();
        for (const pair of pairs.values()) clearTimeout(pair.timer);
        resolve();
      },
    });
    abort.signal.addEventListener('abort', () => {
      conn.close();
    });
  });
}

async function forwardPair(error: SpdyStream, data: SpdyStream, forward: PortForwarder, signal: AbortSignal, describe: string): Promise<void> {
  // The error stream carries nothing from the client; reading it lets its FIN through.
  error.resume();
  const pairAbort = new AbortController();
  const stop = () => {
    pairAbort.abort();
  };
  signal.addEventListener('abort', stop);
  data.once('close', stop);
  try {
    const port = parsePort(data.header('port'));
    await forward(port, data, pairAbort.signal);
  } catch (err) {
    const message = `error forwarding port ${data.header('port') ?? '?'} to ${describe}: ${(err as Error).message}`;
    if (!error.destroyed) error.write(message);
  } finally {
    signal.removeEventListener('abort', stop);
    if (!data.destroyed) data.end();
    if (!error.destroyed) error.end();
  }
}

/** Serves the WebSocket channel form of port forwarding (on `socket`); resolves when every port's connection ended. */
export async function servePortForwardWebSocket(
  ws: WebSocket,
  socket: Duplex,
  protocol: string,
  ports: number[],
  forward: PortForwarder,
  describe: string,
): Promise<void> {
  const abort = new AbortController();
  const inputs = ports.map(() => new PassThrough());
  ws.once('close', () => {
    abort.abort();
    for (const input of inputs) input.end();
  });
  const channels = new ChannelWriter(ws, new MessageWriter(ws, socket), protocol);
  const { send } = channels;
  ws.on('message', (message: Buffer) => {
    try {
      const m = decodeChannelMessage(protocol, message);
      if (m.kind !== 'data') return;
      // Only data channels (even) carry client bytes; the rest are ignored as the kubelet does.
      if (m.channel % 2 === 0) inputs[m.channel / 2]?.write(m.data);
    } catch (err) {
      ws.close(1002, err instanceof ChannelProtocolError ? err.message.slice(0, 120) : 'protocol error');
    }
  });
  const portBytes = (port: number) => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(port);
    return b;
  };
  await Promise.all(
    ports.map(async (port, i) => {
      await send(2 * i, portBytes(port));
      await send(2 * i + 1, portBytes(port));
      const input = inputs[i] ?? new PassThrough();
      const stream = new Duplex({
        read() {
          input.resume();
        },
        write(chunk: Buffer, _enc, cb) {
          channels.write(2 * i, chunk, cb);
        },
      });
      input.on('data', (chunk: Buffer) => {
        if (!stream.push(chunk)) input.pause();
      });
      input.once('end', () => stream.push(null));
      try {
        await forward(port, stream, abort.signal);
      } catch (err) {
        await send(2 * i + 1, Buffer.from(`error forwarding port ${String(port)} to ${describe}: ${(err as Error).message}`)).catch(() => undefined);
      }
    }),
  ).catch(() => undefined);
  if (ws.readyState === ws.OPEN) ws.close(1000);
}
