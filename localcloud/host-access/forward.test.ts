import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { startForwarder, startRelay } from './forward.js';

/** Writes `text` to 127.0.0.1:port and resolves with everything read until the other side ends. */
function exchange(port: number, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString()));
    socket.once('error', reject);
    socket.once('end', () => { resolve(got); });
    socket.end(text);
  });
}

describe('localcloud/host-access/forward', () => {
  let dir: string;
  let echo: Server;
  let echoPort: number;
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvcloud-forward-'));
    // Answers each connection with what it received, upper-cased, once the client has finished sending.
    echo = createServer((s) => {
      let got = '';
      s.on('data', (d: Buffer) => (got += d.toString()));
      s.once('end', () => s.end(got.toUpperCase()));
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const addr = echo.address();
    echoPort = addr && typeof addr === 'object' ? addr.port : 0;
  });
  afterEach(async () => {
    await new Promise<void>((resolve) => echo.close(() => { resolve(); }));
    rmSync(dir, { recursive: true, force: true });
  });

  it('carries a connection to 127.0.0.1:<port> through the Unix socket to the target, both ways', async () => {
    const socket = join(dir, 'management.sock');
    const relay = await startRelay(socket, { host: '127.0.0.1', port: echoPort });
    const forwarder = await startForwarder(socket);
    try {
      expect(await exchange(forwarder.port, 'hello apiserver')).to.equal('HELLO APISERVER');
      expect(await exchange(forwarder.port, 'second connection')).to.equal('SECOND CONNECTION');
    } finally {
      await forwarder.close();
      await relay.close();
    }
  });

  it('removes its socket file when closed, and replaces a stale one a killed relay left', async () => {
    const socket = join(dir, 'tenant.sock');
    writeFileSync(socket, '');
    const relay = await startRelay(socket, { host: '127.0.0.1', port: echoPort });
    const forwarder = await startForwarder(socket);
    expect(await exchange(forwarder.port, 'after a restart')).to.equal('AFTER A RESTART');
    await forwarder.close();
    await relay.close();
    expect(existsSync(socket)).to.equal(false);
  });

  it('refuses a socket path longer than a Unix socket address holds', async () => {
    const long = join(dir, 'x'.repeat(120), 'a.sock');
    const err = await startRelay(long, { host: '127.0.0.1', port: echoPort }).then(() => undefined, (e: unknown) => e as Error);
    expect(err?.message).to.match(/longer than 107 bytes: choose a shorter --state-dir/);
  });
});
