import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex, Writable } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { outputSocketPair, ReadsInto } from './read-buffers.js';
import type { CommandIO, StreamingRuntime } from './runtime.js';
import { StreamingServer } from './server.js';
import { decodeFrame, encodeHeaderBlock, encodeSynStream, FLAG_FIN } from './spdy/frames.js';
import { HeaderCompressor } from './spdy/header-compression.js';

/** More than loopback socket buffers hold, so writes wait for a reader that stalls. */
const SIZE = 24 * 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Runs `cat file` with its stdout read into `dest` through the reused buffers; resolves once all of it was read. */
async function catInto(file: string, dest: Writable): Promise<void> {
  const reads = new ReadsInto(dest);
  const { reader, child } = await outputSocketPair(reads.onread);
  reads.from(reader);
  spawn('cat', [file], { stdio: ['ignore', child, 'ignore'] });
  child.destroy();
  await new Promise((resolve) => reader.once('end', resolve));
}

/** Reads `socket` to its end, stalling now and then so that the writer's socket fills up. */
function readStalling(socket: Socket, onData: (chunk: Buffer) => void): Promise<void> {
  let chunks = 0;
  socket.on('data', (chunk: Buffer) => {
    onData(chunk);
    if (++chunks % 40 !== 0) return;
    socket.pause();
    setTimeout(() => socket.resume(), 20);
  });
  return new Promise((resolve) => socket.once('end', resolve));
}

describe('reused read buffers', function () {
  this.timeout(30_000);
  let dir: string;
  let file: string;
  let data: Buffer;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'read-buffers-test-'));
    file = join(dir, 'data');
    data = randomBytes(SIZE);
    writeFileSync(file, data);
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('copies a command\'s output intact to a socket whose reader stalls, and ends', async () => {
    const tcp = createTcpServer();
    await new Promise<void>((resolve) => tcp.listen(0, '127.0.0.1', resolve));
    const accepted = new Promise<Socket>((resolve) => tcp.once('connection', resolve));
    const client = connect((tcp.address() as AddressInfo).port, '127.0.0.1');
    const socket = await accepted;
    const got: Buffer[] = [];
    const read = readStalling(client, (c) => got.push(c));
    await catInto(file, socket);
    socket.end();
    await read;
    tcp.close();
    expect(sha(Buffer.concat(got))).to.equal(sha(data));
  });

  describe('through the server, whose streams let go of a chunk when its write calls back', () => {
    let http: Server;
    let server: StreamingServer<string, string>;
    const upgraded: Duplex[] = [];

    beforeEach(async () => {
      const runtime: StreamingRuntime<string, string> = {
        async exec(_c, cmd, io: CommandIO) {
          if (io.stdout) await catInto(cmd[0] ?? '', io.stdout);
          return 0;
        },
        attach: () => Promise.resolve(),
        portForward: () => Promise.resolve(),
      };
      http = createServer();
      http.on('upgrade', (req, socket: Duplex, head: Buffer) => {
        upgraded.push(socket);
        server.handleUpgrade(req, socket, head);
      });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      server = new StreamingServer({ runtime, baseURL: `http://127.0.0.1:${String((http.address() as AddressInfo).port)}`, log: pino({ level: 'silent' }) });
    });

    afterEach(async () => {
      for (const socket of upgraded.splice(0)) socket.destroy();
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    });

    const opts = { stdin: false, stdout: true, stderr: false, tty: false };

    it('over SPDY', async () => {
      const { pathname } = new URL(server.getExec('c', [file], opts));
      const socket = connect((http.address() as AddressInfo).port, '127.0.0.1');
      socket.write(`POST ${pathname} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v4.channel.k8s.io\r\n\r\n`);
      const deflate = new HeaderCompressor();
      socket.write(encodeSynStream(1, await deflate.compress(encodeHeaderBlock([['streamtype', 'error']])), true));
      socket.write(encodeSynStream(3, await deflate.compress(encodeHeaderBlock([['streamtype', 'stdout']])), true));
      deflate.close();
      let buf = Buffer.alloc(0);
      let headDone = false;
      let fin = false;
      const got: Buffer[] = [];
      const read = readStalling(socket, (chunk) => {
        buf = Buffer.concat([buf, chunk]);
        if (!headDone) {
          const end = buf.indexOf('\r\n\r\n');
          if (end < 0) return;
          headDone = true;
          buf = buf.subarray(end + 4);
        }
        for (let d = decodeFrame(buf); d; d = decodeFrame(buf)) {
          buf = buf.subarray(d.size);
          if (d.frame.type !== 'data' || d.frame.streamId !== 3) continue;
          got.push(d.frame.data);
          if (d.frame.flags & FLAG_FIN) fin = true;
        }
      });
      await read;
      expect(fin, 'stdout ended').to.be.true;
      expect(sha(Buffer.concat(got))).to.equal(sha(data));
    });

    it('over WebSocket', async () => {
      const ws = new WebSocket(server.getExec('c', [file], opts).replace(/^http/, 'ws'), ['v5.channel.k8s.io']);
      const got: Buffer[] = [];
      let stalled = 0;
      ws.on('message', (m: Buffer) => {
        if (m[0] === 1) got.push(m.subarray(1));
        if (++stalled % 40 !== 0) return;
        ws.pause();
        setTimeout(() => {
          ws.resume();
        }, 20);
      });
      await new Promise((resolve) => ws.once('close', resolve));
      expect(sha(Buffer.concat(got))).to.equal(sha(data));
    });
  });
});
