import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { WebSocketServer } from 'ws';
import { ApiError } from './api-error.js';
import { kubeConfigFromString } from './kubeconfig.js';
import { RestTransport } from './rest-transport.js';

describe('lib/kube/rest-transport WebSocket streams', () => {
  let http: Server;
  let transport: RestTransport;
  const seen: { path: string; auth: string; protocol: string }[] = [];

  before(async () => {
    http = createServer();
    const wss = new WebSocketServer({ noServer: true });
    http.on('upgrade', (req, socket, head) => {
      if (req.url?.endsWith('/forbidden')) {
        const body = JSON.stringify({ kind: 'Status', status: 'Failure', reason: 'Forbidden', message: 'no console for you', code: 403 });
        socket.end(`HTTP/1.1 403 Forbidden\r\nContent-Type: application/json\r\nContent-Length: ${String(body.length)}\r\n\r\n${body}`);
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        seen.push({ path: req.url ?? '', auth: req.headers.authorization ?? '', protocol: ws.protocol });
        ws.close();
      });
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const server = `http://127.0.0.1:${String((http.address() as AddressInfo).port)}`;
    const kubeconfig = `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "${server}", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: secret-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;
    transport = await RestTransport.fromKubeConfig(kubeConfigFromString(kubeconfig, 'test'));
  });

  after(async () => {
    transport.close();
    http.closeAllConnections();
    await new Promise((resolve) => http.close(resolve));
  });

  it('opens a WebSocket on an API path with the kubeconfig’s credentials and the protocol asked for', async () => {
    const ws = await transport.webSocket('/apis/subresources.kubevirt.io/v1/namespaces/t/virtualmachineinstances/vm/console', ['plain.kubevirt.io']);
    ws.close();
    expect(seen).to.deep.equal([{ path: '/apis/subresources.kubevirt.io/v1/namespaces/t/virtualmachineinstances/vm/console', auth: 'Bearer secret-token', protocol: 'plain.kubevirt.io' }]);
  });

  it('rejects a refused upgrade with the apiserver’s status', async () => {
    let err: unknown;
    try {
      await transport.webSocket('/forbidden', ['plain.kubevirt.io']);
    } catch (e) {
      err = e;
    }
    expect(err).to.be.instanceOf(ApiError);
    expect([(err as ApiError).status, (err as ApiError).reason, (err as ApiError).body?.message]).to.deep.equal([403, 'Forbidden', 'no console for you']);
  });
});
