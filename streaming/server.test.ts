import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { expect } from 'chai';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import type { CommandIO, StreamingRuntime } from './runtime.js';
import { StreamingServer } from './server.js';
import { decodeFrame, encodeData, encodeHeaderBlock, encodePing, encodeSynStream, FLAG_FIN, type Frame } from './spdy/frames.js';
import { HeaderCompressor, HeaderDecompressor } from './spdy/header-compression.js';

/** A runtime whose command `cat <code>` copies stdin to stdout and exits with <code>; port-forward upper-cases. */
const runtime: StreamingRuntime<string, string> = {
  async exec(_c, cmd, io: CommandIO) {
    if (io.stdin && io.stdout) {
      const out = io.stdout;
      for await (const chunk of io.stdin) out.write(chunk as Buffer);
    }
    io.stderr?.write('to stderr');
    return Number(cmd[1] ?? 0);
  },
  attach() {
    return Promise.resolve();
  },
  portForward(_pod, port, stream: Duplex) {
    if (port === 1) return Promise.reject(new Error('connection refused'));
    stream.on('data', (chunk: Buffer) => stream.write(Buffer.from(chunk.toString().toUpperCase())));
    return new Promise((resolve) => stream.once('end', resolve));
  },
};

/**
 * A runtime whose exec starts the real process `cmd` (stdin and stdout piped to the session) and kills it when the
 * session's signal aborts, as a runtime must: the tests see whether a session that ends early frees its process.
 */
class ProcessRuntime implements StreamingRuntime<string, string> {
  readonly children: ChildProcess[] = [];
  running = 0;

  async exec(_container: string, cmd: string[], io: CommandIO): Promise<number> {
    const [command = '', ...args] = cmd;
    const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'ignore'] });
    this.children.push(child);
    this.running++;
    child.stdin.on('error', () => undefined);
    if (io.stdin) io.stdin.pipe(child.stdin);
    else child.stdin.end();
    if (io.stdout) child.stdout.pipe(io.stdout, { end: false });
    else child.stdout.resume();
    const kill = () => {
      child.kill('SIGKILL');
      child.stdout.unpipe();
      child.stdout.resume();
    };
    io.signal.addEventListener('abort', kill);
    try {
      return await new Promise<number>((resolve) => child.once('close', (code) => {
        resolve(code ?? 137);
      }));
    } finally {
      this.running--;
      io.signal.removeEventListener('abort', kill);
    }
  }

  attach(): Promise<void> {
    return Promise.reject(new Error('no attach here'));
  }

  portForward(): Promise<void> {
    return Promise.reject(new Error('no port-forward here'));
  }
}

async function until(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Just enough of a SPDY client (client-go's role) to drive the server. */
class SpdyClient {
  private buf = Buffer.alloc(0);
  private readonly deflate = new HeaderCompressor();
  private readonly inflate = new HeaderDecompressor();
  readonly frames: Frame[] = [];
  readonly data = new Map<number, string>();
  readonly fin = new Set<number>();
  private nextId = 1;
  private waiters: (() => void)[] = [];

  constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buf = Buffer.concat([this.buf, chunk]);
      for (let d = decodeFrame(this.buf); d; d = decodeFrame(this.buf)) {
        this.buf = this.buf.subarray(d.size);
        const f = d.frame;
        this.frames.push(f);
        if (f.type === 'syn_reply') void this.inflate.decompress(f.headerBlock);
        if (f.type === 'data') {
          this.data.set(f.streamId, (this.data.get(f.streamId) ?? '') + f.data.toString());
          if (f.flags & FLAG_FIN) this.fin.add(f.streamId);
        }
      }
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async open(headers: [string, string][], fin = false): Promise<number> {
    const id = this.nextId;
    this.nextId += 2;
    this.socket.write(encodeSynStream(id, await this.deflate.compress(encodeHeaderBlock(headers)), fin));
    return id;
  }

  send(id: number, text: string, fin = false): void {
    this.socket.write(encodeData(id, Buffer.from(text), fin));
  }

  async until(check: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + 5_000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; frames: ${JSON.stringify(this.frames.map((f) => f.type))}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  close(): void {
    this.deflate.close();
    this.inflate.close();
    this.socket.destroy();
  }
}

describe('streaming server', () => {
  let http: Server;
  let server: StreamingServer<string, string>;
  let base: string;
  const upgraded: Duplex[] = [];
  // The ProcessRuntime of the test running; what it started is killed afterwards even when the test failed.
  let processes: ProcessRuntime | undefined;

  beforeEach(async () => {
    http = createServer((req, res) => {
      server.handleRequest(req, res);
    });
    http.on('upgrade', (req, socket: Duplex, head: Buffer) => {
      upgraded.push(socket);
      server.handleUpgrade(req, socket, head);
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${String((http.address() as AddressInfo).port)}`;
    server = new StreamingServer({ runtime, baseURL: base, log: pino({ level: 'silent' }) });
  });

  afterEach(async () => {
    for (const child of processes?.children ?? []) child.kill('SIGKILL');
    processes = undefined;
    for (const socket of upgraded.splice(0)) socket.destroy();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });

  /** Sends an upgrade request on a raw socket; resolves with the response head and the socket. */
  async function upgrade(url: string, headers: Record<string, string>, method = 'POST'): Promise<{ head: string; socket: Socket; rest: Buffer }> {
    const { pathname } = new URL(url);
    const socket = connect((http.address() as AddressInfo).port, '127.0.0.1');
    socket.write(`${method} ${pathname} HTTP/1.1\r\nHost: x\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`);
    return new Promise((resolve, reject) => {
      let got = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        got = Buffer.concat([got, chunk]);
        const end = got.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        socket.pause();
        const rest = got.subarray(end + 4);
        if (rest.length > 0) socket.unshift(rest);
        resolve({ head: got.subarray(0, end).toString(), socket, rest });
      };
      socket.on('data', onData);
      socket.once('error', reject);
    });
  }

  const spdyHeaders = (protocols: string) => ({ Connection: 'Upgrade', Upgrade: 'SPDY/3.1', 'X-Stream-Protocol-Version': protocols });

  it('runs an exec over SPDY v4: stdin to its FIN, stdout and stderr ended, the exit code as a v4 Status, a pong, then GOAWAY', async () => {
    const url = server.getExec('c', ['cat', '3'], { stdin: true, stdout: true, stderr: true, tty: false });
    expect(url).to.match(new RegExp(`^${base}/exec/[A-Za-z0-9_-]{8}$`));
    const { head, socket } = await upgrade(url, spdyHeaders('v4.channel.k8s.io, v3.channel.k8s.io'));
    expect(head).to.match(/^HTTP\/1.1 101/).and.include('x-stream-protocol-version: v4.channel.k8s.io');
    const c = new SpdyClient(socket);
    socket.resume();
    const error = await c.open([['streamtype', 'error']]);
    const stdin = await c.open([['streamtype', 'stdin']]);
    const stdout = await c.open([['streamtype', 'stdout']]);
    const stderr = await c.open([['streamtype', 'stderr']]);
    await c.until(() => c.frames.filter((f) => f.type === 'syn_reply').length === 4, 'four SYN_REPLYs');
    socket.write(encodePing(7));
    c.send(stdin, 'hello ');
    c.send(stdin, 'world', true);
    await c.until(() => c.fin.has(error) && c.frames.some((f) => f.type === 'goaway'), 'the status and GOAWAY');
    expect(c.frames.some((f) => f.type === 'ping' && f.id === 7), 'pong').to.be.true;
    expect(c.data.get(stdout)).to.equal('hello world');
    expect(c.data.get(stderr)).to.equal('to stderr');
    expect([stdout, stderr].every((id) => c.fin.has(id)), 'stdout and stderr ended').to.be.true;
    const status = JSON.parse(c.data.get(error) ?? '') as { reason: string; details: { causes: { reason: string; message: string }[] } };
    expect(status.reason).to.equal('NonZeroExitCode');
    expect(status.details.causes).to.deep.equal([{ reason: 'ExitCode', message: '3' }]);
    c.close();
  });

  it('refuses a SPDY client with no common protocol (403, listing ours) and a second use of the token (404)', async () => {
    const url = server.getExec('c', ['cat'], { stdin: false, stdout: true, stderr: false, tty: false });
    const first = await upgrade(url, spdyHeaders('v9.channel.k8s.io'));
    expect(first.head).to.match(/^HTTP\/1.1 403/).and.include('x-accepted-stream-protocol-versions: v4.channel.k8s.io');
    first.socket.destroy();
    const again = await upgrade(url, spdyHeaders('v4.channel.k8s.io'));
    expect(again.head).to.match(/^HTTP\/1.1 404/);
    again.socket.destroy();
  });

  it('answers a malformed SPDY frame with GOAWAY and stays up for the next session', async () => {
    const url = server.getExec('c', ['cat'], { stdin: false, stdout: true, stderr: false, tty: false });
    const { socket } = await upgrade(url, spdyHeaders('v4.channel.k8s.io'));
    const c = new SpdyClient(socket);
    socket.resume();
    socket.write(Buffer.from('8002000100000000', 'hex'));
    await c.until(() => c.frames.some((f) => f.type === 'goaway'), 'GOAWAY');
    c.close();
    const next = await upgrade(server.getExec('c', ['cat'], { stdin: false, stdout: true, stderr: false, tty: false }), spdyHeaders('v4.channel.k8s.io'));
    expect(next.head).to.match(/^HTTP\/1.1 101/);
    next.socket.destroy();
  });

  it('forwards SPDY port-forward pairs by requestid, reporting a refused port on its error stream', async () => {
    const url = server.getPortForward('pod', 'pod default/p');
    const { socket } = await upgrade(url, spdyHeaders('portforward.k8s.io'));
    const c = new SpdyClient(socket);
    socket.resume();
    const err0 = await c.open([['streamtype', 'error'], ['port', '80'], ['requestid', '0']]);
    const data0 = await c.open([['streamtype', 'data'], ['port', '80'], ['requestid', '0']]);
    const err1 = await c.open([['streamtype', 'error'], ['port', '1'], ['requestid', '1']]);
    await c.open([['streamtype', 'data'], ['port', '1'], ['requestid', '1']]);
    c.send(data0, 'abc', true);
    await c.until(() => c.fin.has(data0) && c.fin.has(err0) && c.fin.has(err1), 'both pairs to end');
    expect(c.data.get(data0)).to.equal('ABC');
    expect(c.data.get(err0) ?? '').to.equal('');
    expect(c.data.get(err1)).to.equal('error forwarding port 1 to pod default/p: connection refused');
    c.close();
  });

  it('handles the frames before a SPDY client half-closes, answers them, then ends its own side', async () => {
    const { socket } = await upgrade(server.getPortForward('pod', 'pod default/p'), spdyHeaders('portforward.k8s.io'));
    const c = new SpdyClient(socket);
    const closed = new Promise((resolve) => socket.once('close', resolve));
    socket.resume();
    const err = await c.open([['streamtype', 'error'], ['port', '1e3'], ['requestid', '0']]);
    await c.open([['streamtype', 'data'], ['port', '1e3'], ['requestid', '0']]);
    socket.end();
    await closed;
    expect(c.data.get(err)).to.match(/^error forwarding port 1e3 to pod default\/p: /);
    expect(server.sessions).to.equal(0);
  });

  it('resets a stream that gets data after its FIN (STREAM_ALREADY_CLOSED) and goes on serving the connection', async () => {
    const { socket } = await upgrade(server.getPortForward('pod', 'pod default/p'), spdyHeaders('portforward.k8s.io'));
    const c = new SpdyClient(socket);
    socket.resume();
    await c.open([['streamtype', 'error'], ['port', '80'], ['requestid', '0']]);
    const ended = await c.open([['streamtype', 'data'], ['port', '80'], ['requestid', '0']], true);
    c.send(ended, 'after the FIN');
    await c.until(() => c.frames.some((f) => f.type === 'rst_stream' && f.streamId === ended), 'RST_STREAM');
    expect(c.frames.find((f) => f.type === 'rst_stream' && f.streamId === ended)).to.deep.include({ status: 9 });
    await c.open([['streamtype', 'error'], ['port', '80'], ['requestid', '1']]);
    const data = await c.open([['streamtype', 'data'], ['port', '80'], ['requestid', '1']]);
    c.send(data, 'still here', true);
    await c.until(() => c.fin.has(data), 'the second pair to end');
    expect(c.data.get(data)).to.equal('STILL HERE');
    c.close();
  });

  async function wsSession(url: string, protocol: string, onOpen: (ws: WebSocket) => void): Promise<{ protocol: string; messages: Buffer[]; code: number }> {
    const ws = new WebSocket(url.replace(/^http/, 'ws'), [protocol]);
    const messages: Buffer[] = [];
    ws.on('message', (m: Buffer) => messages.push(m));
    ws.on('open', () => {
      onOpen(ws);
    });
    const code = await new Promise<number>((resolve, reject) => {
      ws.on('close', resolve);
      ws.on('error', reject);
    });
    return { protocol: ws.protocol, messages, code };
  }

  it('runs an exec over WebSocket v5: stdin closed by the close signal, output and Status on their channels', async () => {
    const url = server.getExec('c', ['cat', '0'], { stdin: true, stdout: true, stderr: false, tty: false });
    const got = await wsSession(url, 'v5.channel.k8s.io', (ws) => {
      ws.send(Buffer.from([0, ...Buffer.from('hi')]));
      ws.send(Buffer.from([255, 0]));
    });
    expect(got.protocol).to.equal('v5.channel.k8s.io');
    expect(got.code).to.equal(1000);
    expect(got.messages[0], 'the ready message: empty on stdout').to.deep.equal(Buffer.from([1]));
    expect(Buffer.concat(got.messages.filter((m) => m[0] === 1).map((m) => m.subarray(1))).toString()).to.equal('hi');
    expect(JSON.parse(got.messages.find((m) => m[0] === 3)?.subarray(1).toString() ?? '')).to.deep.equal({ metadata: {}, status: 'Success' });
  });

  it('speaks base64.channel.k8s.io in text messages, with a plain-text failure status before v4', async () => {
    const url = server.getExec('c', ['cat', '2'], { stdin: false, stdout: false, stderr: true, tty: false });
    const got = await wsSession(url, 'base64.channel.k8s.io', () => undefined);
    const texts = got.messages.map((m) => m.toString());
    expect(texts).to.include(`2${Buffer.from('to stderr').toString('base64')}`);
    const status = texts.find((t) => t.startsWith('3') && t.length > 1) ?? '';
    expect(Buffer.from(status.slice(1), 'base64').toString()).to.match(/non-zero exit code.*exit code 2/);
  });

  it('forwards WebSocket v4 channel port-forward: the port on each channel first, then the data', async () => {
    const url = `${server.getPortForward('pod', 'pod default/p')}?port=80`;
    const got = await wsSession(url, 'v4.channel.k8s.io', (ws) => {
      ws.send(Buffer.from([0, ...Buffer.from('xyz')]));
      setTimeout(() => {
        ws.close();
      }, 200);
    });
    expect(got.messages.slice(0, 2)).to.deep.equal([Buffer.from([0, 80, 0]), Buffer.from([1, 80, 0])]);
    expect(Buffer.concat(got.messages.slice(2).filter((m) => m[0] === 0).map((m) => m.subarray(1))).toString()).to.equal('XYZ');
  });

  it('carries SPDY port-forward inside the SPDY/3.1+portforward.k8s.io WebSocket tunnel', async () => {
    // ws refuses a '/' in a subprotocol as a client, so this test frames WebSocket by hand (masked, as clients must).
    const url = server.getPortForward('pod', 'pod default/p');
    const { head, socket } = await upgrade(url, {
      Connection: 'Upgrade',
      Upgrade: 'websocket',
      'Sec-WebSocket-Version': '13',
      'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
      'Sec-WebSocket-Protocol': 'SPDY/3.1+portforward.k8s.io',
    }, 'GET');
    expect(head).to.match(/^HTTP\/1.1 101/).and.match(/sec-websocket-protocol: SPDY\/3.1\+portforward.k8s.io/i);
    const wsFrame = (payload: Buffer) => {
      const mask = randomBytes(4);
      const len = payload.length < 126 ? Buffer.from([0x80 | payload.length]) : Buffer.from([0x80 | 126, payload.length >> 8, payload.length & 0xff]);
      return Buffer.concat([Buffer.from([0x82]), len, mask, Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] ?? 0)))]);
    };
    const deflate = new HeaderCompressor();
    const syn = async (id: number, type: string) => encodeSynStream(id, await deflate.compress(encodeHeaderBlock([['streamtype', type], ['port', '80'], ['requestid', '0']])), false);
    socket.write(wsFrame(await syn(1, 'error')));
    socket.write(wsFrame(await syn(3, 'data')));
    socket.write(wsFrame(encodeData(3, Buffer.from('tunnel'), true)));
    let raw = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => (raw = Buffer.concat([raw, chunk])));
    socket.resume();
    const spdyBytes = () => {
      // Server frames are unmasked binary messages; their payloads concatenated are the SPDY byte stream.
      const parts: Buffer[] = [];
      for (let at = 0; at + 2 <= raw.length; ) {
        let len = (raw[at + 1] ?? 0) & 0x7f;
        let start = at + 2;
        if (len === 126) {
          len = raw.readUInt16BE(at + 2);
          start = at + 4;
        }
        if (start + len > raw.length) break;
        parts.push(raw.subarray(start, start + len));
        at = start + len;
      }
      return Buffer.concat(parts);
    };
    const echoed = () => {
      let buf = spdyBytes();
      let text = '';
      for (let d = decodeFrame(buf); d; d = decodeFrame(buf)) {
        buf = buf.subarray(d.size);
        if (d.frame.type === 'data' && d.frame.streamId === 3) text += d.frame.data.toString();
      }
      return text;
    };
    const deadline = Date.now() + 5_000;
    while (echoed() !== 'TUNNEL' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(echoed()).to.equal('TUNNEL');
    deflate.close();
    socket.destroy();
  });

  it('serves 60 exec sessions at once, 50 over WebSocket and 10 over SPDY, each with its own process and output', async function () {
    this.timeout(30_000);
    const started = new ProcessRuntime();
    processes = started;
    server = new StreamingServer({ runtime: started, baseURL: base, log: pino({ level: 'silent' }) });
    const opts = { stdin: true, stdout: true, stderr: false, tty: false };
    const sockets: WebSocket[] = [];
    const wsDone = Array.from({ length: 50 }, (_, i) =>
      wsSession(server.getExec('c', ['cat'], opts), 'v5.channel.k8s.io', (ws) => {
        sockets.push(ws);
      }).then((got) => ({ i, got })),
    );
    const spdy = await Promise.all(
      Array.from({ length: 10 }, async () => {
        const { socket } = await upgrade(server.getExec('c', ['cat'], opts), spdyHeaders('v4.channel.k8s.io'));
        const c = new SpdyClient(socket);
        socket.resume();
        const ids = { error: await c.open([['streamtype', 'error']]), stdin: await c.open([['streamtype', 'stdin']]), stdout: await c.open([['streamtype', 'stdout']]) };
        return { c, ids };
      }),
    );
    // Every session is up with its process running before any of them gets input: they are concurrent.
    await until(() => started.running === 60 && server.sessions === 60, `60 running sessions (saw ${String(started.running)} processes)`, 20_000);
    sockets.forEach((ws, i) => {
      ws.send(Buffer.from([0, ...Buffer.from(`ws ${String(i)}`)]));
      ws.send(Buffer.from([255, 0]));
    });
    spdy.forEach(({ c, ids }, i) => {
      c.send(ids.stdin, `spdy ${String(i)}`, true);
    });
    const outputs = (await Promise.all(wsDone)).map(({ i, got }) => {
      expect(got.code, `session ${String(i)}`).to.equal(1000);
      return Buffer.concat(got.messages.filter((m) => m[0] === 1).map((m) => m.subarray(1))).toString();
    });
    // Each session echoed exactly what its own client sent: no output crossed over.
    expect(outputs.sort()).to.deep.equal(sockets.map((_, i) => `ws ${String(i)}`).sort());
    for (const [i, { c, ids }] of spdy.entries()) {
      await c.until(() => c.fin.has(ids.error), `SPDY session ${String(i)} to end`);
      expect(c.data.get(ids.stdout)).to.equal(`spdy ${String(i)}`);
      c.close();
    }
    await until(() => server.sessions === 0, 'no session left');
    expect(started.running).to.equal(0);
  });

  it('frees the session, its process and its token when the client vanishes mid-stream, over SPDY and WebSocket', async () => {
    const started = new ProcessRuntime();
    processes = started;
    server = new StreamingServer({ runtime: started, baseURL: base, log: pino({ level: 'silent' }) });
    const opts = { stdin: false, stdout: true, stderr: false, tty: false };
    const { socket } = await upgrade(server.getExec('c', ['yes', 'spdy'], opts), spdyHeaders('v4.channel.k8s.io'));
    const c = new SpdyClient(socket);
    socket.resume();
    await c.open([['streamtype', 'error']]);
    const stdout = await c.open([['streamtype', 'stdout']]);
    await c.until(() => (c.data.get(stdout) ?? '').length > 0, 'output flowing');
    socket.destroy();
    let streamed = 0;
    const ws = new WebSocket(server.getExec('c', ['yes', 'ws'], opts).replace(/^http/, 'ws'), ['v5.channel.k8s.io']);
    ws.on('message', (m: Buffer) => (streamed += m.length));
    ws.on('error', () => undefined);
    await until(() => streamed > 0, 'WebSocket output flowing');
    ws.terminate();
    await until(() => server.sessions === 0, `no session left (saw ${String(server.sessions)})`);
    expect(started.children.map((p) => p.signalCode)).to.deep.equal(['SIGKILL', 'SIGKILL']);
    expect(server.pendingRequests, 'tokens left').to.equal(0);
  });

  it('closes a connection idle for the configured timeout and keeps one that carries traffic', async function () {
    this.timeout(15_000);
    const started = new ProcessRuntime();
    processes = started;
    server = new StreamingServer({ runtime: started, baseURL: base, log: pino({ level: 'silent' }), idleTimeoutMs: 300 });
    const opened = Date.now();
    const { socket } = await upgrade(server.getExec('c', ['sleep', '60'], { stdin: false, stdout: true, stderr: false, tty: false }), spdyHeaders('v4.channel.k8s.io'));
    const c = new SpdyClient(socket);
    socket.resume();
    await c.open([['streamtype', 'error']]);
    await c.open([['streamtype', 'stdout']]);
    let spdyClosedAt = 0;
    socket.on('close', () => (spdyClosedAt = Date.now()));
    // A WebSocket session whose client types every 100 ms outlives the timeout many times over.
    let echoed = '';
    const ws = new WebSocket(server.getExec('c', ['cat'], { stdin: true, stdout: true, stderr: false, tty: false }).replace(/^http/, 'ws'), ['v5.channel.k8s.io']);
    ws.on('message', (m: Buffer) => (echoed += m.subarray(1).toString()));
    let wsClosedAt = 0;
    ws.on('close', () => (wsClosedAt = Date.now()));
    await new Promise((resolve) => ws.once('open', resolve));
    let typed = 0;
    const typing = setInterval(() => {
      ws.send(Buffer.from([0, 0x78]));
      typed++;
    }, 100);
    await until(() => spdyClosedAt > 0, 'the idle SPDY connection to close');
    expect(spdyClosedAt - opened, 'closed after the timeout').to.be.at.least(300);
    await until(() => typed >= 12, 'typing for 1.2 s');
    clearInterval(typing);
    const stoppedTyping = Date.now();
    expect(wsClosedAt, 'the busy WebSocket session still open').to.equal(0);
    await until(() => wsClosedAt > 0, 'the WebSocket to close once idle');
    expect(wsClosedAt - stoppedTyping).to.be.at.least(200);
    expect(echoed).to.equal('x'.repeat(typed));
    await until(() => server.sessions === 0, 'no session left');
    expect(started.children.map((p) => p.signalCode)).to.deep.equal(['SIGKILL', 'SIGKILL']);
    c.close();
  });

  it('answers a plain request with 400 and an unknown token with 404, under a base URL with a path too', async () => {
    const url = server.getAttach('c', { stdin: false, stdout: true, stderr: false, tty: false });
    expect((await fetch(url)).status).to.equal(400);
    server = new StreamingServer({ runtime, baseURL: `${base}/cri/`, log: pino({ level: 'silent' }) });
    const under = server.getAttach('c', { stdin: false, stdout: true, stderr: false, tty: false });
    expect(under).to.match(new RegExp(`^${base}/cri/attach/[A-Za-z0-9_-]{8}$`));
    expect((await fetch(under)).status).to.equal(400);
    expect((await fetch(`${base}/exec/AAAAAAAA`)).status).to.equal(404);
  });
});
