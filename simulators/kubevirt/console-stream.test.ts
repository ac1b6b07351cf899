// The console stream between a client's WebSocket and a guest's serial port socket: the boot output first, typed
// bytes to the port and its answers back, and either side closing ends both.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { WebSocket, WebSocketServer } from 'ws';
import { waitFor } from '../../localcloud/wait.js';
import { streamConsole } from './console-stream.js';

describe('console stream', () => {
  let dir: string;
  let bootLog: string;
  let serialPath: string;
  let serial: Server;
  let port: Socket | undefined;
  let wss: WebSocketServer;

  /** A client on a fresh console stream; what it received so far, and its close. */
  async function client(target: { bootLog: string; serial: string }): Promise<{ ws: WebSocket; received: () => string; closed: Promise<number> }> {
    wss.once('connection', (ws) => void streamConsole(target, ws));
    const ws = new WebSocket(`ws://127.0.0.1:${String((wss.address() as AddressInfo).port)}`);
    let received = '';
    ws.on('message', (m: Buffer) => (received += m.toString()));
    const closed = new Promise<number>((resolve) => ws.once('close', resolve));
    await new Promise((resolve) => ws.once('open', resolve));
    return { ws, received: () => received, closed };
  }

  beforeEach(async () => {
    port = undefined;
    dir = await mkdtemp(join(tmpdir(), 'kvcloud-console-'));
    bootLog = join(dir, 'compute.log');
    await writeFile(bootLog, 'booted\n');
    serialPath = join(dir, 'virt-serial0');
    // A serial port that answers every line with "got <line>".
    serial = createServer((socket) => {
      port = socket;
      socket.on('data', (d: Buffer) => socket.write(`got ${d.toString()}`));
    });
    await new Promise<void>((resolve) => serial.listen(serialPath, resolve));
    wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise((resolve) => wss.once('listening', resolve));
  });

  afterEach(async () => {
    for (const ws of wss.clients) ws.terminate();
    port?.destroy();
    await new Promise((resolve) => { wss.close(resolve); });
    await new Promise((resolve) => serial.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('sends the boot output, then carries typed bytes to the serial port and its answers back', async () => {
    const c = await client({ bootLog, serial: serialPath });
    c.ws.send(Buffer.from('ls\r'), { binary: true });
    await waitFor(() => Promise.resolve(c.received().includes('got ls') || undefined), { timeoutMs: 5_000, what: 'the answer' });
    expect(c.received()).to.equal('booted\ngot ls\r');
    c.ws.close();
    await waitFor(() => Promise.resolve(port?.destroyed === true || port?.readableEnded === true || undefined), { timeoutMs: 5_000, what: 'the port connection to end' });
  });

  it('closes the client when the serial port goes away', async () => {
    const c = await client({ bootLog, serial: serialPath });
    await waitFor(() => Promise.resolve(port !== undefined || undefined), { timeoutMs: 5_000, what: 'the port connection' });
    port?.destroy();
    expect(await c.closed).to.equal(1005);
  });

  it('closes the client with an internal error when the serial port cannot be dialed', async () => {
    const c = await client({ bootLog, serial: join(dir, 'nothing-here') });
    expect(await c.closed).to.equal(1011);
    expect(c.received()).to.equal('');
  });
});
