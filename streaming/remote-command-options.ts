// The query of an exec or attach request, read as the kubelet does: `command` repeated, and the input, output,
// error and tty flags, which the apiserver sends as "1" (the pod subresource's stdin, stdout, stderr names are
// accepted too, for clients that call the kubelet directly). A tty merges stderr into stdout, so stderr is dropped
// when both are asked for.
import type { StreamOptions } from './runtime.js';

export class BadRequestError extends Error {}

const flag = (query: URLSearchParams, ...names: string[]) =>
  names.some((name) => {
    const v = query.get(name);
    return v === '1' || v === 'true';
  });

export function streamOptions(query: URLSearchParams): StreamOptions {
  const tty = flag(query, 'tty');
  const stderr = flag(query, 'error', 'stderr');
  const opts = { stdin: flag(query, 'input', 'stdin'), stdout: flag(query, 'output', 'stdout'), stderr: stderr && !tty, tty };
  if (!opts.stdin && !opts.stdout && !stderr) throw new BadRequestError('you must specify at least 1 of stdin, stdout, stderr');
  return opts;
}

export function commandOf(query: URLSearchParams): string[] {
  const cmd = query.getAll('command');
  if (cmd.length === 0) throw new BadRequestError('no command given: add command=<argv element> per element');
  return cmd;
}
