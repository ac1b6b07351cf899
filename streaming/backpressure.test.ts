import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import type { CommandIO, StreamingRuntime } from './runtime.js';
import { StreamingServer } from './server.js';
import { encodeHeaderBlock, encodeSynStream } from './spdy/frames.js';
import { HeaderCompressor } from './spdy/header-compression.js';

/** Far above what loopback socket buffers hold for a client that reads nothing, far below a runaway's output. */
const BOUND = 32 * 1024 * 1024;
const CHUNK = Buffer.alloc(64 * 1024);

/** An exec that writes stdout as fast as the session takes it, honouring backpressure, until the client leaves. */
class FloodRuntime implements StreamingRuntime<string, string> {
  written = 0;
  ended = false;

  async exec(_c: string, _cmd: string[], io: CommandIO): Promise<number> {
    const out = io.stdout;
    if (!out) throw new Error('no stdout');
    while (!io.signal.aborted) {
      this.written += CHUNK.length;
      out.write(CHUNK);
      // Timers run between writes, so a session that never pushes back shows as a runaway count, not a hang.
      await new Promise((resolve) => setImmediate(resolve));
      if (!out.writableNeedDrain) continue;
      await new Promise<void>((resolve) => {
        out.once('drain', resolve);
        io.signal.addEventListener('abort', () => {
          resolve();
        });
      });
    }
    this.ended = true;
    return 0;
  }

  attach(): Promise<void> {
    return Promise.reject(new Error('not used'));
  }

  portForward(): Promise<void> {
    return Promise.reject(new Error('not used'));
  }
}

/** The count once it stopped growing; fails as soon as it passes BOUND. */
async function settled(read: () => number, what: string): Promise<number> {
  const deadline = Date.now() + 10_000;
  let last = -1;
  for (;;) {
    const now = read();
    if (now === last && now > 0) return now;
    if (now >= BOUND || Date.now() > deadline) throw new Error(`${what} never stopped growing (at ${String(now)} bytes)`);
    last = now;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('streaming backpressure', () => {
  let http: Server;
  let runtime: FloodRuntime;
  let server: StreamingServer<string, string>;
  const sockets: Duplex[] = [];

  beforeEach(async () => {
    runtime = new FloodRuntime();
    http = createServer();
    http.on('upgrade', (req, socket: Duplex, head: Buffer) => {
      sockets.push(socket);
      server.handleUpgrade(req, socket, head);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    server = new StreamingServer({ runtime, baseURL: `http://127.0.0.1:${String((http.address() as AddressInfo).port)}`, log: pino({ level: 'silent' }) });
  });

  afterEach(async () => {
    for (const socket of sockets.splice(0)) socket.destroy();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });

  /** Upgrades a raw connection and resolves once the 101 is in; the caller decides when to read more. */
  async function upgrade(url: string, headers: Record<string, string>, method: string): Promise<Socket> {
    const socket = connect((http.address() as AddressInfo).port, '127.0.0.1');
    sockets.push(socket);
    socket.write(`${method} ${new URL(url).pathname} HTTP/1.1\r\nHost: x\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    let got = '';
    await new Promise<void>((resolve) => {
      const onData = (chunk: Buffer) => {
        got += chunk.toString('latin1');
        if (!got.includes('\r\n\r\n')) return;
        socket.off('data', onData);
        socket.pause();
        resolve();
      };
      socket.on('data', onData);
    });
    expect(got).to.match(/^HTTP\/1.1 101/);
    return socket;
  }

  const opts = { stdin: false, stdout: true, stderr: false, tty: false };
  const transports: { name: string; open: () => Promise<Socket> }[] = [
    {
      name: 'SPDY',
      async open() {
        const socket = await upgrade(server.getExec('c', ['flood'], opts), { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': 'v4.channel.k8s.io' }, 'POST');
        const deflate = new HeaderCompressor();
        socket.write(encodeSynStream(1, await deflate.compress(encodeHeaderBlock([['streamtype', 'error']])), false));
        socket.write(encodeSynStream(3, await deflate.compress(encodeHeaderBlock([['streamtype', 'stdout']])), false));
        deflate.close();
        return socket;
      },
    },
    {
      name: 'WebSocket',
      open: () =>
        upgrade(
          server.getExec('c', ['flood'], opts),
          { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64'), 'Sec-WebSocket-Protocol': 'v5.channel.k8s.io' },
          'GET',
        ),
    },
  ];

  for (const transport of transports) {
    it(`holds a command's output back while a ${transport.name} client reads nothing, and lets it go once the client reads`, async function () {
      this.timeout(30_000);
      const socket = await transport.open();
      const held = await settled(() => runtime.written, 'the output of a client that reads nothing');
      expect(held, 'bytes the runtime could write').to.be.below(BOUND);
      socket.on('data', () => undefined);
      socket.resume();
      const deadline = Date.now() + 10_000;
      while (runtime.written < held + BOUND && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(runtime.written, 'output once the client reads').to.be.at.least(held + BOUND);
      socket.destroy();
      const gone = Date.now() + 5_000;
      while (!runtime.ended && Date.now() < gone) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(runtime.ended, 'the runtime stopped once the client left').to.be.true;
    });
  }
});
