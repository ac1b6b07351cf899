// The operator endpoint's Unix socket: connections are accepted here and handed to the gRPC server, after the
// peer process behind each was looked up, so every call knows who made it. grpc-js names a call's peer by its
// socket's remote address, which a Unix socket does not have: each connection gets a unique one for the lookup.
import { chmod, mkdir, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { unixPeer, type Caller } from './caller.js';

const PEER_PREFIX = 'unix-peer-';

export interface UnixSocketEndpoint {
  /** The caller of a call that came in on this socket, if it did. */
  callerOf(peer: string): Caller | undefined;
  close(): Promise<void>;
}

export async function serveUnixSocket(server: grpc.Server, path: string, mode: number, lookup: (socket: Socket) => Promise<Caller> = unixPeer): Promise<UnixSocketEndpoint> {
  const injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  const callers = new Map<string, Caller>();
  const open = new Set<Socket>();
  let next = 0;
  const listener: Server = createServer((socket) => {
    const peer = `${PEER_PREFIX}${String(++next)}`;
    Object.defineProperty(socket, 'remoteAddress', { value: peer });
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      callers.delete(peer);
    });
    socket.on('error', () => undefined);
    // The lookup runs before gRPC reads a byte, so no call of this connection starts unnamed.
    void lookup(socket).then((caller) => {
      if (socket.destroyed) return;
      callers.set(peer, caller);
      injector.injectConnection(socket);
    });
  });
  await mkdir(dirname(path), { recursive: true });
  await rm(path, { force: true }); // left by a previous run
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(path, () => {
      listener.off('error', reject);
      resolve();
    });
  });
  await chmod(path, mode);
  return {
    callerOf: (peer) => callers.get(peer),
    async close() {
      const closed = new Promise<void>((resolve) => listener.close(() => { resolve(); }));
      injector.destroy();
      for (const socket of open) socket.destroy();
      await closed;
      await rm(path, { force: true });
    },
  };
}
