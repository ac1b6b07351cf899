// The gRPC server the CO and the sidecars talk to: one endpoint (a unix socket as kubelet and the sidecars
// expect, or tcp for tests) serving Identity plus the Controller and/or Node service, each RPC an async function
// whose failures become the status toStatus chooses. RPCs left out answer UNIMPLEMENTED, as grpc-js does for
// methods without a handler.
import { rm } from 'node:fs/promises';
import { Server, ServerCredentials, type ServerUnaryCall, type sendUnaryData, type UntypedServiceImplementation } from '@grpc/grpc-js';
import type { Logger } from '../lib/observability/logger.js';
import type { CsiServices } from './spec.js';
import { toStatus } from './status.js';

/** An RPC implementation: request message in, response message out; throw a CsiError for a precise code. */
export type Rpc = (request: never) => Promise<object>;
export type RpcTable = Record<string, Rpc>;

/** "unix:///csi/csi.sock", "unix:/csi/csi.sock" or "/csi/csi.sock" -> the socket path; "tcp://h:p" -> h:p. */
export function parseEndpoint(endpoint: string): { kind: 'unix'; path: string } | { kind: 'tcp'; address: string } {
  const tcp = /^tcp:\/\/(.+)$/.exec(endpoint);
  if (tcp?.[1]) return { kind: 'tcp', address: tcp[1] };
  const path = endpoint.replace(/^unix:(\/\/)?/, '');
  if (!path.startsWith('/')) throw new Error(`endpoint ${JSON.stringify(endpoint)}: want unix:///absolute/path.sock or tcp://host:port`);
  return { kind: 'unix', path };
}

function adapt(name: string, rpc: Rpc, log: Logger) {
  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>): void => {
    const started = Date.now();
    rpc(call.request as never).then(
      (response) => {
        log.debug({ rpc: name, ms: Date.now() - started }, 'served rpc');
        callback(null, response);
      },
      (err: unknown) => {
        const { code, details } = toStatus(err);
        log.info({ rpc: name, code, ms: Date.now() - started, err: details }, 'failed rpc');
        callback({ code, details });
      },
    );
  };
}

export interface CsiServer {
  /** The address bound: the socket path, or host:port with the port chosen. */
  readonly address: string;
  stop(): Promise<void>;
}

export async function serveCsi(opts: { endpoint: string; services: CsiServices; identity: RpcTable; controller?: RpcTable | undefined; node?: RpcTable | undefined; log: Logger }): Promise<CsiServer> {
  const server = new Server();
  const add = (definition: CsiServices[keyof CsiServices], table: RpcTable) => {
    const impl: UntypedServiceImplementation = {};
    for (const [name, rpc] of Object.entries(table)) impl[name] = adapt(name, rpc, opts.log);
    server.addService(definition, impl);
  };
  add(opts.services.Identity, opts.identity);
  if (opts.controller) add(opts.services.Controller, opts.controller);
  if (opts.node) add(opts.services.Node, opts.node);

  const target = parseEndpoint(opts.endpoint);
  // A socket left by a previous run would make bind fail with EADDRINUSE.
  if (target.kind === 'unix') await rm(target.path, { force: true });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(target.kind === 'unix' ? `unix://${target.path}` : target.address, ServerCredentials.createInsecure(), (err, p) => {
      if (err) reject(new Error(`bind CSI endpoint ${opts.endpoint}: ${err.message}`, { cause: err }));
      else resolve(p);
    });
  });
  const address = target.kind === 'unix' ? target.path : target.address.replace(/:0$/, `:${String(port)}`);
  opts.log.info({ endpoint: address, controller: opts.controller !== undefined, node: opts.node !== undefined }, 'serving CSI');
  return {
    address,
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          resolve();
        });
      }),
  };
}
