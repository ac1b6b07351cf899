// ExecSync on top of a streaming runtime's exec: the command runs with no stdin, its stdout and stderr are kept (at
// most 16 MiB each, as containerd keeps), and a timeout in the request ends it with DEADLINE_EXCEEDED.
import { PassThrough } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { TerminalSizes, type StreamingRuntime } from '../runtime.js';
import { RpcError } from './rpc.js';

export const EXEC_SYNC_OUTPUT_LIMIT = 16 * 1024 * 1024;

export interface ExecSyncResult {
  stdout: Buffer;
  stderr: Buffer;
  exit_code: number;
}

function collect(limit: number): { stream: PassThrough; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  let size = 0;
  const stream = new PassThrough();
  stream.on('data', (c: Buffer) => {
    const room = limit - size;
    if (room <= 0) return;
    const kept = c.length > room ? c.subarray(0, room) : c;
    chunks.push(kept);
    size += kept.length;
  });
  return { stream, bytes: () => Buffer.concat(chunks) };
}

/** Runs `cmd` in `container` through `runtime.exec`; `describe` names the container in errors. */
export async function execSync<C>(
  runtime: Pick<StreamingRuntime<C, unknown>, 'exec'>,
  container: C,
  cmd: string[],
  timeoutSeconds: number,
  describe: string,
  limit = EXEC_SYNC_OUTPUT_LIMIT,
): Promise<ExecSyncResult> {
  const abort = new AbortController();
  const timer =
    timeoutSeconds > 0
      ? setTimeout(() => {
          abort.abort();
        }, timeoutSeconds * 1000)
      : undefined;
  const stdout = collect(limit);
  const stderr = collect(limit);
  try {
    const code = await runtime.exec(container, cmd, { stdin: undefined, stdout: stdout.stream, stderr: stderr.stream, tty: false, resize: new TerminalSizes(), signal: abort.signal });
    if (abort.signal.aborted) throw new RpcError(grpc.status.DEADLINE_EXCEEDED, `command ${JSON.stringify(cmd)} timed out after ${String(timeoutSeconds)}s`);
    return { stdout: stdout.bytes(), stderr: stderr.bytes(), exit_code: code };
  } catch (err) {
    if (err instanceof RpcError) throw err;
    throw new RpcError(grpc.status.UNKNOWN, `exec in ${describe}: ${(err as Error).message}`);
  } finally {
    clearTimeout(timer);
  }
}
