// A plain HTTP listener of its own for a streaming server, as a CRI runtime runs its stream server on a loopback
// address without TLS (containerd's default): the URLs its CRI Exec, Attach and PortForward return point here, so
// crictl on the node reaches them without the kubelet API's client certificates. The token in the URL is the only
// authorization, and loopback keeps it on the node.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { StreamingServer } from './server.js';

export interface StreamingListener {
  /** http://<host>:<port>: the base URL to pass to getExec/getAttach/getPortForward. */
  readonly baseURL: string;
  close(): Promise<void>;
}

export async function listenStreaming<C, P>(server: StreamingServer<C, P>, host = '127.0.0.1', port = 0): Promise<StreamingListener> {
  const http = createServer((req, res) => {
    server.handleRequest(req, res);
  });
  // Upgraded connections are the sessions: closing the listener ends them, as a stopping runtime's stream server
  // does, instead of waiting for clients that may never leave (an attach to a container that runs on).
  const upgraded = new Set<Duplex>();
  http.on('upgrade', (req, socket, head: Buffer) => {
    socket.on('error', () => undefined); // a client that resets mid-handshake
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    server.handleUpgrade(req, socket, head);
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  const address = http.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    baseURL: `http://${hostPart}:${String(address.port)}`,
    close: () =>
      new Promise<void>((resolve) => {
        http.close(() => {
          resolve();
        });
        http.closeAllConnections();
        for (const socket of upgraded) socket.destroy();
      }),
  };
}
