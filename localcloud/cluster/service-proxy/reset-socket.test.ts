import { expect } from 'chai';
import { once } from 'node:events';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { resetSocket } from './reset-socket.js';

describe('resetSocket', () => {
  let server: net.Server;
  const accepted = new Set<net.Socket>();
  beforeEach(async () => {
    server = net.createServer({ allowHalfOpen: true }, (c) => {
      accepted.add(c);
      c.on('error', () => undefined);
      c.resume();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
  });
  afterEach(() => {
    for (const c of accepted) c.destroy();
    accepted.clear();
    server.close();
  });

  async function connected(): Promise<net.Socket> {
    const socket = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    return socket;
  }

  const closesWithin = (socket: net.Socket, ms: number) => Promise.race([once(socket, 'close').then(() => true), sleep(ms).then(() => false)]);

  it('closes a socket whose half-close is still under way, which resetAndDestroy would leave open for good', async () => {
    const socket = await connected();
    socket.end();
    resetSocket(socket);
    expect(await closesWithin(socket, 1000), 'closed').to.be.true;
  });

  it('resets an open socket: the peer sees ECONNRESET', async () => {
    const socket = await connected();
    const [peer] = accepted;
    if (!peer) throw new Error('no accepted connection');
    const peerError = new Promise<string>((resolve) => peer.once('error', (err: NodeJS.ErrnoException) => { resolve(err.code ?? ''); }));
    resetSocket(socket);
    expect(await closesWithin(socket, 1000), 'closed').to.be.true;
    expect(await peerError).to.equal('ECONNRESET');
  });
});
