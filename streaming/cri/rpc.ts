// The gRPC side every kvcloud CRI endpoint shares: handlers as promise-returning functions of the request (and the
// call, for who is asking), errors with precise status codes, UNIMPLEMENTED with a reason for the RPCs an endpoint
// does not serve, and the checks CRI runtimes make on Exec, Attach and ExecSync requests.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { StreamOptions } from '../runtime.js';
import { TooManyInFlightError } from '../token-cache.js';
import { AmbiguousIdError } from './objects.js';

export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

export type CriCall = grpc.ServerUnaryCall<Record<string, unknown>, unknown>;
export type CriHandler = (request: Record<string, unknown>, call: CriCall) => Promise<unknown>;

export interface ServiceOptions {
  /** The full service name for messages and logs: runtime.v1.RuntimeService. */
  name: string;
  /** The status details of an RPC without a handler; `served` lists the RPCs that have one. */
  unimplemented: (rpc: string, served: string) => string;
  log: Logger;
}

/** A thrown error as the call's status: RpcError keeps its code, an ambiguous id is the caller's mistake. */
export function statusOf(err: unknown): { code: grpc.status; details: string } {
  const code = err instanceof RpcError ? err.code : err instanceof AmbiguousIdError ? grpc.status.INVALID_ARGUMENT : grpc.status.INTERNAL;
  return { code, details: (err as Error).message };
}

/** Every RPC of `service`: the handlers given, UNIMPLEMENTED (with the endpoint's reason) for the others. */
export function implementService(service: grpc.ServiceDefinition, handlers: Record<string, CriHandler>, opts: ServiceOptions): grpc.UntypedServiceImplementation {
  const served = Object.keys(handlers).join(', ');
  const impl: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(service)) {
    const handler = handlers[name];
    const unimplemented = { code: grpc.status.UNIMPLEMENTED, details: opts.unimplemented(name, served) };
    if (method.responseStream) {
      impl[name] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
        call.emit('error', unimplemented);
      };
      continue;
    }
    impl[name] = (call: CriCall, callback: grpc.sendUnaryData<unknown>) => {
      if (!handler) {
        callback(unimplemented);
        return;
      }
      // Handlers that check their request before any await throw synchronously: both become the call's status.
      Promise.resolve()
        .then(() => handler(call.request, call))
        .then(
          (response) => {
            callback(null, response);
          },
          (err: unknown) => {
            const status = statusOf(err);
            if (status.code === grpc.status.INTERNAL) opts.log.warn({ err, rpc: `${opts.name}/${name}` }, 'CRI request failed');
            callback(status);
          },
        );
    };
  }
  return impl;
}

export interface Filter {
  id?: string;
  state?: { state?: string } | null;
  pod_sandbox_id?: string;
  label_selector?: Record<string, string>;
}

/** A request's filter message; proto-loader gives an unset one as null. */
export const filterOf = (v: unknown): Filter | undefined => (v !== null && typeof v === 'object' ? v : undefined);
export const str = (v: unknown): string => (typeof v === 'string' ? v : '');
export const bool = (v: unknown): boolean => v === true;

/** A request's `cmd`, which must name a command. */
export function commandOf(cmd: unknown): string[] {
  const argv = Array.isArray(cmd) ? cmd.filter((a): a is string => typeof a === 'string') : [];
  if (argv.length === 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'cmd is required: give the command and its arguments');
  return argv;
}

/** The streams of an Exec or Attach, checked as a CRI runtime checks them. */
export function streamOptionsOf(req: Record<string, unknown>): StreamOptions {
  const opts = { stdin: bool(req.stdin), stdout: bool(req.stdout), stderr: bool(req.stderr), tty: bool(req.tty) };
  if (!opts.stdin && !opts.stdout && !opts.stderr) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'one of stdin, stdout, or stderr must be set');
  if (opts.tty && opts.stderr) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'tty and stderr cannot both be true: a tty merges stderr into stdout');
  return opts;
}

/** Version and Status of a runtime that is up: what CRI clients ask first. */
export function readyRuntime(runtimeName: string, runtimeVersion: string, runtimeHandlers: object[]): Record<string, CriHandler> {
  return {
    Version: () => Promise.resolve({ version: '0.1.0', runtime_name: runtimeName, runtime_version: runtimeVersion, runtime_api_version: 'v1' }),
    Status: () =>
      Promise.resolve({
        status: {
          conditions: [
            { type: 'RuntimeReady', status: true, reason: '', message: '' },
            { type: 'NetworkReady', status: true, reason: '', message: '' },
          ],
        },
        info: {},
        runtime_handlers: runtimeHandlers,
      }),
  };
}

/** A streaming URL from the server's token cache; a full cache is RESOURCE_EXHAUSTED, so the client backs off. */
export function issueStreamURL(get: () => string): string {
  try {
    return get();
  } catch (err) {
    if (err instanceof TooManyInFlightError) throw new RpcError(grpc.status.RESOURCE_EXHAUSTED, err.message);
    throw err;
  }
}
