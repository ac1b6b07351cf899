import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { expect } from 'chai';
import { WebSocket, WebSocketServer } from 'ws';
import { binaryFrameHead, ChannelWriter, MessageWriter } from './writer.js';

/** A server frame's head as RFC 6455 section 5.2 spells it: FIN, binary, no mask, the shortest length form. */
function rfcHead(length: number): Buffer {
  if (length < 126) return Buffer.from([0x82, length]);
  if (length < 65536) return Buffer.from([0x82, 126, length >> 8, length & 0xff]);
  const head = Buffer.alloc(10);
  head[0] = 0x82;
  head[1] = 127;
  head.writeBigUInt64BE(BigInt(length), 2);
  return head;
}

describe('WebSocket message writer', () => {
  for (const length of [0, 1, 125, 126, 127, 65535, 65536, 70_000, 2 ** 32 + 5]) {
    it(`frames ${String(length)} payload bytes with the shortest length form`, () => {
      expect(binaryFrameHead(length)).to.deep.equal(rfcHead(length));
      expect(binaryFrameHead(length, 1).subarray(0, -1)).to.deep.equal(rfcHead(length));
    });
  }

  describe('on a real connection', () => {
    let http: Server;
    let server: { ws: WebSocket; socket: Duplex };
    let client: WebSocket;
    const received: (Buffer | string)[] = [];

    beforeEach(async () => {
      received.length = 0;
      const wss = new WebSocketServer({ noServer: true });
      http = createServer();
      const accepted = new Promise<{ ws: WebSocket; socket: Duplex }>((resolve) => {
        http.on('upgrade', (req, socket: Duplex, head: Buffer) => {
          wss.handleUpgrade(req, socket, head, (ws) => {
            resolve({ ws, socket });
          });
        });
      });
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
      client = new WebSocket(`ws://127.0.0.1:${String((http.address() as AddressInfo).port)}`);
      client.on('message', (m: Buffer, isBinary: boolean) => received.push(isBinary ? m : m.toString()));
      [server] = await Promise.all([accepted, new Promise((resolve) => client.once('open', resolve))]);
    });

    afterEach(async () => {
      client.terminate();
      server.ws.terminate();
      await new Promise((resolve) => http.close(resolve));
    });

    async function receivedCount(n: number): Promise<void> {
      const deadline = Date.now() + 5_000;
      while (received.length < n && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
    }

    it('sends each message whole, channel byte first, in order with what ws itself sends', async () => {
      const { ws, socket } = server;
      const messages = new MessageWriter(ws, socket);
      const big = Buffer.alloc(70_000, 0x62);
      const done: string[] = [];
      messages.send([Buffer.from('ab'), Buffer.from('cd')], 1, () => done.push('first'));
      ws.send('text from ws');
      messages.send([big.subarray(0, 30_000), big.subarray(30_000)], undefined, () => done.push('second'));
      messages.send([], 3, () => done.push('third'));
      await receivedCount(4);
      expect(received).to.deep.equal([Buffer.from([1, 0x61, 0x62, 0x63, 0x64]), 'text from ws', big, Buffer.from([3])]);
      expect(done).to.deep.equal(['first', 'second', 'third'], 'each completes once the socket let go of it, in order');
    });

    it('sends channels as binary messages, and as text with a digit in the base64 protocols', async () => {
      const { ws, socket } = server;
      const messages = new MessageWriter(ws, socket);
      await new ChannelWriter(ws, messages, 'v4.channel.k8s.io').send(2, Buffer.from('err'));
      await new ChannelWriter(ws, messages, 'v4.base64.channel.k8s.io').send(1, Buffer.from('foo\n'));
      await new Promise<void>((resolve, reject) => {
        new ChannelWriter(ws, messages, 'channel.k8s.io').write(1, Buffer.from('out'), (err) => {
          if (err) reject(err);
          else resolve();
        });
      });
      await receivedCount(3);
      expect(received).to.deep.equal([Buffer.from([2, 0x65, 0x72, 0x72]), '1Zm9vCg==', Buffer.from([1, 0x6f, 0x75, 0x74])]);
    });

    it('fails writes once the WebSocket is closing', async () => {
      const { ws, socket } = server;
      ws.close(1000);
      const err = await new Promise<Error | null | undefined>((resolve) => {
        new MessageWriter(ws, socket).send([Buffer.from('late')], 1, resolve);
      });
      expect(err?.message).to.equal('WebSocket closed');
    });
  });
});
