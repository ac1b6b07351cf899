import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { WebSocket, WebSocketServer } from 'ws';
import { PLAIN_STREAM_PROTOCOL, virtApi } from './virt-api.js';

describe('streaming/operator/virt-api', () => {
  let http: Server;
  let wss: WebSocketServer;
  let base: string;
  const seen: { path: string; protocol: string }[] = [];

  before(async () => {
    http = createServer();
    wss = new WebSocketServer({ server: http });
    // virt-api's plain.kubevirt.io: binary messages carry the bytes; this one echoes them upper-cased.
    wss.on('connection', (ws, req) => {
      seen.push({ path: req.url ?? '', protocol: ws.protocol });
      ws.on('message', (m: Buffer) => {
        ws.send(Buffer.from(m.toString().toUpperCase()));
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    base = `ws://127.0.0.1:${String((http.address() as AddressInfo).port)}`;
  });

  after(async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise((resolve) => http.close(resolve));
  });

  const dial = (path: string, protocols: string[]) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(`${base}${path}`, protocols);
      ws.once('open', () => {
        resolve(ws);
      });
      ws.once('error', reject);
    });

  it('opens the console and a TCP port-forward of a VMI as byte streams over plain.kubevirt.io', async () => {
    const api = virtApi(dial);
    const serial = await api.console('tenant ns', 'vm-1');
    const forward = await api.portForward('tenants', 'vm-1', 22);
    const reply = (s: typeof serial) => new Promise<string>((resolve) => s.once('data', (c: Buffer) => { resolve(c.toString()); }));
    serial.write('hello');
    expect(await reply(serial)).to.equal('HELLO');
    forward.write('ssh');
    expect(await reply(forward)).to.equal('SSH');
    serial.destroy();
    forward.destroy();
    expect(seen).to.deep.equal([
      { path: '/apis/subresources.kubevirt.io/v1/namespaces/tenant%20ns/virtualmachineinstances/vm-1/console', protocol: PLAIN_STREAM_PROTOCOL },
      { path: '/apis/subresources.kubevirt.io/v1/namespaces/tenants/virtualmachineinstances/vm-1/portforward/22/tcp', protocol: PLAIN_STREAM_PROTOCOL },
    ]);
  });
});
