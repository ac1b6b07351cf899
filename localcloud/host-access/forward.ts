// Reaching the local cloud's private network from the host shell without nsenter. Unix domain sockets are named by
// a path in the filesystem, not bound to a network namespace, so they cross the boundary:
//
//   kubectl -> 127.0.0.1:<port> (forwarder, caller's namespace) -> <state dir>/sockets/<name>.sock
//           -> relay (inside the cluster's namespace) -> apiserver address
//
// Both ends copy bytes only; TLS stays end to end between kubectl and the apiserver.
import { rm } from 'node:fs/promises';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { ApiServerAddress } from './kubeconfig.js';

// sun_path is 108 bytes on Linux, including the terminating NUL.
const MAX_SOCKET_PATH = 107;

export interface Listener {
  close(): Promise<void>;
}

/**
 * Copies bytes both ways; each direction ends on its own (half-open sockets, so a client that finishes sending still
 * gets the answer), and an error or a full close on one side ends the other.
 */
function splice(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = () => {
    a.destroy();
    b.destroy();
  };
  a.once('error', end);
  b.once('error', end);
  a.once('close', end);
  b.once('close', end);
}

function closeServer(server: Server, sockets: Set<Socket>): Promise<void> {
  for (const s of sockets) s.destroy();
  return new Promise((resolve) => server.close(() => { resolve(); }));
}

function track(server: Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (s) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  return sockets;
}

/** Inside the cluster's namespace: each connection to `socketPath` is relayed to `target`. */
export async function startRelay(socketPath: string, target: ApiServerAddress): Promise<Listener> {
  if (Buffer.byteLength(socketPath) > MAX_SOCKET_PATH) throw new Error(`relay socket path ${socketPath} is longer than ${MAX_SOCKET_PATH} bytes: choose a shorter --state-dir`);
  await rm(socketPath, { force: true });
  const server = createServer({ allowHalfOpen: true }, (client) => {
    splice(client, connect({ host: target.host, port: target.port, allowHalfOpen: true }));
  });
  const sockets = track(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => { reject(new Error(`relay ${socketPath} -> ${target.host}:${String(target.port)}: ${err.message}`, { cause: err })); });
    server.listen(socketPath, resolve);
  });
  return {
    async close() {
      await closeServer(server, sockets);
      await rm(socketPath, { force: true });
    },
  };
}

/** In the caller's namespace: a port on 127.0.0.1 whose connections go to the relay at `socketPath`. */
export async function startForwarder(socketPath: string): Promise<Listener & { port: number }> {
  const server = createServer({ allowHalfOpen: true }, (client) => {
    splice(client, connect({ path: socketPath, allowHalfOpen: true }));
  });
  const sockets = track(server);
  const port = await new Promise<number>((resolve, reject) => {
    server.once('error', (err) => { reject(new Error(`forwarder for ${socketPath}: ${err.message}`, { cause: err })); });
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      if (addr && typeof addr === 'object') resolve(addr.port);
      else reject(new Error(`forwarder for ${socketPath}: no port assigned`));
    });
  });
  return { port, close: () => closeServer(server, sockets) };
}
