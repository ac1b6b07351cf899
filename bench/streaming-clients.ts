// The throughput benchmark's streaming clients: one implementation for every server it measures (kvcloud's and
// the Go library's), so a difference in the numbers is a difference of servers. Each call is one session bringing
// `bytes` of payload, timed from the TCP connect to the last payload byte, then checked: every byte arrived, and
// the session said it succeeded (a Success exec status, an empty port-forward error stream).
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { encodeHeaderBlock, encodeSynStream, type Frame } from '../streaming/spdy/frames.js';
import { HeaderCompressor } from '../streaming/spdy/header-compression.js';
import { SpdyReader, WebSocketReader, WS_OPCODE } from './streaming-wire.js';

export interface Transfer {
  bytes: number;
  ms: number;
}

/** Slower than this, a transfer fails rather than hold the benchmark. */
const SLOWEST_BYTES_PER_MS = 5 * 1024; // 5 MiB/s
const MIN_TIMEOUT_MS = 30_000;
const CHANNEL_STDOUT = 1;
const CHANNEL_ERROR = 3;

/** Counts a session's payload and settles it: on success once it ended with every byte, on the first error else. */
class Tracker {
  readonly started = performance.now();
  private received = 0;
  private lastByteAt = 0;
  private settled = false;
  private resolve!: (t: Transfer) => void;
  private reject!: (err: Error) => void;
  readonly result = new Promise<Transfer>((resolve, reject) => {
    this.resolve = resolve;
    this.reject = reject;
  });
  private readonly timer: NodeJS.Timeout;
  /** The session's own success signal, checked when it ends. */
  endCheck: () => void = () => undefined;

  constructor(
    private readonly socket: Socket,
    private readonly expected: number,
    private readonly what: string,
  ) {
    this.timer = setTimeout(() => {
      this.fail(new Error(`timed out with ${String(this.received)} of ${String(expected)} bytes`));
    }, Math.max(MIN_TIMEOUT_MS, expected / SLOWEST_BYTES_PER_MS));
    socket.on('error', (err) => {
      this.fail(err);
    });
    socket.on('close', () => {
      this.finish();
    });
    // The server ends a remote command session after its status; the client's side then closes as well.
    socket.on('end', () => {
      this.finish();
    });
  }

  get complete(): boolean {
    return this.received === this.expected;
  }

  count(n: number): void {
    this.received += n;
    if (this.received === this.expected) this.lastByteAt = performance.now();
    else if (this.received > this.expected) this.fail(new Error(`more than the ${String(this.expected)} bytes expected`));
  }

  /** The session ended: it succeeded if every byte came and its end check does not throw. */
  finish(): void {
    if (this.settled) return;
    if (!this.complete) {
      this.fail(new Error(`ended after ${String(this.received)} of ${String(this.expected)} bytes`));
      return;
    }
    try {
      this.endCheck();
    } catch (err) {
      this.fail(err as Error);
      return;
    }
    this.settle();
    this.resolve({ bytes: this.received, ms: this.lastByteAt - this.started });
  }

  fail(err: Error): void {
    if (this.settled) return;
    this.settle();
    this.reject(new Error(`${this.what}: ${err.message}`, { cause: err }));
  }

  private settle(): void {
    this.settled = true;
    clearTimeout(this.timer);
    this.socket.destroy();
  }
}

interface Upgrade {
  url: string;
  method: string;
  headers: Record<string, string>;
  what: string;
  bytes: number;
  /** After the 101: the protocol starts (the client opens its streams only now, as client-go does). */
  onOpen: () => void;
  /** Every byte after the response head. */
  onBytes: (chunk: Buffer) => void;
}

/** Sends an HTTP/1.1 upgrade request on a new connection and waits for 101; hands on the bytes after the head. */
function upgrade({ url, method, headers, what, bytes, onOpen, onBytes }: Upgrade): { socket: Socket; tracker: Tracker } {
  const { hostname, port, pathname, search } = new URL(url);
  const socket = connect(Number(port), hostname);
  socket.setNoDelay(true);
  const t = new Tracker(socket, bytes, what);
  socket.write(`${method} ${pathname}${search} HTTP/1.1\r\nHost: ${hostname}:${port}\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
  let head = Buffer.alloc(0);
  const onHead = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    const status = head.subarray(0, end).toString();
    if (!status.startsWith('HTTP/1.1 101')) {
      t.fail(new Error(`upgrade refused: ${status.split('\r\n')[0] ?? ''} ${head.subarray(end + 4).toString().trim()}`));
      return;
    }
    socket.off('data', onHead);
    socket.on('data', onBytes);
    onOpen();
    if (head.length > end + 4) onBytes(head.subarray(end + 4));
  };
  socket.on('data', onHead);
  return { socket, tracker: t };
}

/** The client side of a SPDY/3.1 connection, as client-go's: it opens the streams, the server answers. */
class SpdyClient {
  private readonly deflate = new HeaderCompressor();
  private nextId = 1;

  constructor(private readonly send: (bytes: Buffer) => void) {}

  async open(headers: [string, string][], fin = false): Promise<number> {
    const id = this.nextId;
    this.nextId += 2;
    this.send(encodeSynStream(id, await this.deflate.compress(encodeHeaderBlock(headers)), fin));
    return id;
  }

  close(): void {
    this.deflate.close();
  }
}

/**
 * A failure the server signals: GOAWAY with an error, or a reset of the counted stream before all its bytes came.
 * Other resets are how the Go library tears a finished session down (it resets every stream when it closes).
 */
function spdyControlError(frame: Frame, countedStream: number, tracker: Tracker): Error | undefined {
  if (frame.type === 'rst_stream' && frame.streamId === countedStream && !tracker.complete) return new Error(`server reset stream ${String(frame.streamId)} (status ${String(frame.status)})`);
  if (frame.type === 'goaway' && frame.status !== 0) return new Error(`server sent GOAWAY with status ${String(frame.status)}`);
  return undefined;
}

function expectSuccessStatus(text: string): void {
  const status = JSON.parse(text || '{}') as { status?: string };
  if (status.status !== 'Success') throw new Error(`exec status ${text || '(none)'}`);
}

const spdyUpgradeHeaders = (protocol: string) => ({ Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': protocol });

/** Exec over SPDY v4: an error and a stdout stream; the server ends the connection after the status. */
export function execOverSpdy(url: string, bytes: number): Promise<Transfer> {
  let errorText = '';
  const ids = { error: -1, stdout: -1 };
  const reader = new SpdyReader({
    data(id, chunk) {
      if (id === ids.stdout) tracker.count(chunk.length);
      else if (id === ids.error) errorText += chunk.toString();
    },
    fin: () => undefined, // the connection's end (GOAWAY, then close) settles the session
    control(frame) {
      const err = spdyControlError(frame, ids.stdout, tracker);
      if (err) tracker.fail(err);
    },
  });
  const client = new SpdyClient((b) => socket.write(b));
  const { socket, tracker } = upgrade({
    url,
    method: 'POST',
    headers: spdyUpgradeHeaders('v4.channel.k8s.io'),
    what: `exec over SPDY ${url}`,
    bytes,
    onOpen() {
      void (async () => {
        ids.error = await client.open([['streamType', 'error']]);
        ids.stdout = await client.open([['streamType', 'stdout']]);
      })();
    },
    onBytes(chunk) {
      reader.push(chunk);
    },
  });
  tracker.endCheck = () => {
    expectSuccessStatus(errorText);
  };
  return tracker.result.finally(() => {
    client.close();
  });
}

/**
 * One forwarded connection over SPDY (`send` writes the connection's bytes, on a socket or inside the WebSocket
 * tunnel): the error and data streams of request 0; the data stream's FIN ends it, with nothing on the error stream.
 */
function forwardOverSpdy(client: SpdyClient, tracker: () => Tracker, port: number): { open(): void; reader: SpdyReader } {
  let errorText = '';
  const ids = { error: -1, data: -1 };
  const reader = new SpdyReader({
    data(id, chunk) {
      if (id === ids.data) tracker().count(chunk.length);
      else if (id === ids.error) errorText += chunk.toString();
    },
    fin(id) {
      if (id === ids.data) tracker().finish();
    },
    control(frame) {
      const err = spdyControlError(frame, ids.data, tracker());
      if (err) tracker().fail(err);
    },
  });
  const headers = (type: string): [string, string][] => [
    ['streamType', type],
    ['port', String(port)],
    ['requestID', '0'],
  ];
  return {
    reader,
    open() {
      tracker().endCheck = () => {
        if (errorText !== '') throw new Error(`port-forward error stream: ${errorText}`);
      };
      void (async () => {
        ids.error = await client.open(headers('error'));
        ids.data = await client.open(headers('data'));
      })();
    },
  };
}

/** Port-forward over SPDY (portforward.k8s.io) to `port`. */
export function portForwardOverSpdy(url: string, port: number, bytes: number): Promise<Transfer> {
  const client = new SpdyClient((b) => session.socket.write(b));
  const forward = forwardOverSpdy(client, () => session.tracker, port);
  const session = upgrade({
    url,
    method: 'POST',
    headers: spdyUpgradeHeaders('portforward.k8s.io'),
    what: `port-forward over SPDY ${url}`,
    bytes,
    onOpen: () => {
      forward.open();
    },
    onBytes: (chunk) => {
      forward.reader.push(chunk);
    },
  });
  return session.tracker.result.finally(() => {
    client.close();
  });
}

/** A masked client frame (RFC 6455 section 5.3). */
function wsFrame(opcode: number, payload: Buffer): Buffer {
  const mask = randomBytes(4);
  const len = payload.length;
  const head =
    len < 126
      ? Buffer.from([0x80 | opcode, 0x80 | len])
      : Buffer.from([0x80 | opcode, 0x80 | 126, len >> 8, len & 0xff]);
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] = (masked[i] ?? 0) ^ (mask[i % 4] ?? 0);
  return Buffer.concat([head, mask, masked]);
}

/** A WebSocket session: the handshake, pings answered, the server's close answered; payload to `onPayload`. */
function webSocket(
  url: string,
  protocol: string,
  bytes: number,
  onOpen: () => void,
  onPayload: (chunk: Buffer, messageStart: boolean) => void,
): { socket: Socket; tracker: Tracker } {
  const reader = new WebSocketReader({
    payload: onPayload,
    control(opcode, payload) {
      if (opcode === WS_OPCODE.ping) session.socket.write(wsFrame(WS_OPCODE.pong, payload));
      if (opcode !== WS_OPCODE.close) return;
      session.socket.end(wsFrame(WS_OPCODE.close, payload.subarray(0, 2)));
      const code = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
      if (code !== 1000 && code !== 1005) session.tracker.fail(new Error(`closed with ${String(code)} ${payload.subarray(2).toString()}`));
    },
  });
  const session = upgrade({
    url,
    method: 'GET',
    headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Protocol': protocol },
    what: `${protocol} over WebSocket ${url}`,
    bytes,
    onOpen,
    onBytes(chunk) {
      try {
        reader.push(chunk);
      } catch (err) {
        session.tracker.fail(err as Error);
      }
    },
  });
  return session;
}

/** Splits channel messages (channel number first) into their channel's payload. */
function channels(onData: (channel: number, payload: Buffer) => void): (chunk: Buffer, messageStart: boolean) => void {
  let channel = -1;
  return (chunk, messageStart) => {
    if (messageStart) {
      channel = chunk[0] ?? -1;
      onData(channel, chunk.subarray(1));
    } else onData(channel, chunk);
  };
}

/** Exec over WebSocket (`protocol`: v5 on kvcloud, v4 on the Go library; the same framing for stdout alone). */
export function execOverWebSocket(url: string, bytes: number, protocol: string): Promise<Transfer> {
  let statusText = '';
  const { tracker } = webSocket(
    url,
    protocol,
    bytes,
    () => undefined,
    channels((channel, payload) => {
      if (channel === CHANNEL_STDOUT) tracker.count(payload.length);
      else if (channel === CHANNEL_ERROR) statusText += payload.toString();
    }),
  );
  // The server closes after the status, which must say Success.
  tracker.endCheck = () => {
    expectSuccessStatus(statusText);
  };
  return tracker.result;
}

/** Port-forward over the WebSocket channel form (`url` names the port): channel 0 data, 1 errors, each port-prefixed. */
export function portForwardOverWebSocketChannels(url: string, bytes: number, protocol = 'v4.channel.k8s.io'): Promise<Transfer> {
  const prefixLeft = [2, 2];
  let errorText = '';
  const { tracker } = webSocket(
    url,
    protocol,
    bytes,
    () => undefined,
    channels((channel, payload) => {
      if (channel !== 0 && channel !== 1) return;
      const skip = Math.min(prefixLeft[channel] ?? 0, payload.length);
      prefixLeft[channel] = (prefixLeft[channel] ?? 0) - skip;
      const data = payload.subarray(skip);
      if (channel === 1) {
        errorText += data.toString();
        return;
      }
      tracker.count(data.length);
      if (tracker.complete) tracker.finish();
    }),
  );
  tracker.endCheck = () => {
    if (errorText !== '') throw new Error(`port-forward error channel: ${errorText}`);
  };
  return tracker.result;
}

/** Port-forward over the WebSocket tunnel kubectl uses: SPDY port-forward inside binary messages. */
export function portForwardOverTunnel(url: string, port: number, bytes: number): Promise<Transfer> {
  const client = new SpdyClient((b) => session.socket.write(wsFrame(WS_OPCODE.binary, b)));
  const forward = forwardOverSpdy(client, () => session.tracker, port);
  const session = webSocket(
    url,
    'SPDY/3.1+portforward.k8s.io',
    bytes,
    () => {
      forward.open();
    },
    (chunk) => {
      forward.reader.push(chunk);
    },
  );
  return session.tracker.result.finally(() => {
    client.close();
  });
}

/** Reads a plain loopback TCP connection to its end, after writing `request`: the raw copy sessions are measured against. */
export function rawRead(port: number, bytes: number, request = ''): Promise<Transfer> {
  const socket = connect(port, '127.0.0.1');
  socket.setNoDelay(true);
  const tracker = new Tracker(socket, bytes, `raw read from port ${String(port)}`);
  socket.on('data', (chunk: Buffer) => {
    tracker.count(chunk.length);
  });
  if (request !== '') socket.write(request);
  return tracker.result;
}
