// kvcloud's streaming server as bench/streaming-throughput.ts measures it: in a process of its own, as the Go
// baseline runs in its, behind a process runtime that does what the Go baseline's backend does (exec spawns the
// command, attach starts the program the container names, port-forward dials 127.0.0.1), reading output into
// reused buffers as the Go backend's copies do. The same process serves the raw loopback copies the ratio is taken
// against (a command's stdout copied into a TCP connection; a plain TCP relay to a port), read the same way, so that
// ratio holds the protocols' cost alone. The parent asks for URLs over the IPC channel;
// the process exits when that channel closes (so --cpu-prof gets written).
import { spawn } from 'node:child_process';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import type { Duplex, Writable } from 'node:stream';
import { pino } from 'pino';
import { listenStreaming } from '../streaming/listener.js';
import { outputSocketPair, ReadsInto } from '../streaming/read-buffers.js';
import type { CommandIO, StreamingRuntime } from '../streaming/runtime.js';
import { StreamingServer } from '../streaming/server.js';

/** What the parent asks for: the URL of a new session. */
export type ServerAsk = { kind: 'exec'; cmd: string[] } | { kind: 'portforward' };
type ServerRequest = ServerAsk & { id: number };
export interface ServerReady {
  baseURL: string;
  /** Runs the command of the first line (a JSON array) and copies its stdout into the connection. */
  rawExecPort: number;
  /** Relays every connection to the port named on the command line, both ways. */
  rawRelayPort: number;
}

/**
 * Runs a command with the session's streams, killing it when the client goes away; resolves with its exit code once
 * its output was written. Its stdout and stderr are read into reused buffers (streaming/read-buffers.ts), as the Go
 * backend's copies read into theirs.
 */
async function runProcess(cmd: string[], io: CommandIO): Promise<number> {
  const [command = '', ...args] = cmd;
  const outputs = await Promise.all([io.stdout, io.stderr].map((dest) => (dest ? readOutput(dest) : Promise.resolve(undefined))));
  const [stdout, stderr] = outputs;
  const child = spawn(command, args, { stdio: [io.stdin ? 'pipe' : 'ignore', stdout?.child ?? 'ignore', stderr?.child ?? 'ignore'] });
  for (const output of outputs) output?.child.destroy(); // the command holds its own copy
  if (io.stdin && child.stdin) {
    child.stdin.on('error', () => undefined);
    io.stdin.pipe(child.stdin);
  }
  const kill = () => {
    child.kill('SIGKILL');
    for (const output of outputs) output?.reader.destroy();
  };
  io.signal.addEventListener('abort', kill);
  try {
    const [code] = await Promise.all([
      new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (exit) => {
          resolve(exit ?? 137);
        });
      }),
      ...outputs.map((output) => output?.ended),
    ]);
    return code;
  } finally {
    io.signal.removeEventListener('abort', kill);
  }
}

/** A socket for a command's output, read into `dest`; `ended` once the command and whatever it started closed it. */
async function readOutput(dest: Writable): Promise<{ child: Socket; reader: Socket; ended: Promise<void> }> {
  const reads = new ReadsInto(dest);
  const { reader, child } = await outputSocketPair(reads.onread);
  reads.from(reader);
  reader.on('error', () => undefined);
  const ended = new Promise<void>((resolve) => {
    reader.once('close', () => {
      resolve();
    });
  });
  return { child, reader, ended };
}

/** Reads of a forwarded connection (streaming/read-buffers.ts says why this size). */
const TCP_READ_SIZE = 256 * 1024;

/** The same process backend as the Go baseline's (e2e/tools/cri-streaming-baseline/backend.go). */
const processRuntime: StreamingRuntime<string, string> = {
  exec: (_container, cmd, io) => runProcess(cmd, io),
  async attach(container, io) {
    await runProcess(container.split(' ').filter((w) => w !== ''), io);
  },
  portForward(_pod, port, stream: Duplex, signal) {
    return new Promise((resolve, reject) => {
      const reads = new ReadsInto(stream, TCP_READ_SIZE); // the server ends the stream once this resolves
      const conn = reads.from(connect({ port, host: '127.0.0.1', onread: reads.onread }));
      conn.setNoDelay(true);
      conn.once('error', reject);
      conn.once('connect', () => {
        stream.pipe(conn); // the client's end of input half-closes the connection, as TCP would
        conn.once('end', resolve);
      });
      signal.addEventListener('abort', () => {
        conn.destroy();
        resolve();
      });
    });
  },
};

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve((server.address() as AddressInfo).port);
    });
  });
}

const relayTo = Number(process.argv[2]);
if (!Number.isInteger(relayTo) || relayTo <= 0) throw new Error('usage: streaming-kvcloud-server.ts <port to relay raw connections to>');

const server = new StreamingServer<string, string>({ runtime: processRuntime, baseURL: 'http://127.0.0.1', log: pino({ level: 'warn' }, pino.destination(2)) });
const listener = await listenStreaming(server);
const rawExec = createServer((socket) => {
  socket.setNoDelay(true);
  let line = '';
  const onData = (chunk: Buffer) => {
    line += chunk.toString();
    const end = line.indexOf('\n');
    if (end < 0) return;
    socket.off('data', onData);
    const [command = '', ...args] = JSON.parse(line.slice(0, end)) as string[];
    void readOutput(socket).then((output) => {
      spawn(command, args, { stdio: ['ignore', output.child, 'ignore'] });
      output.child.destroy();
      void output.ended.then(() => socket.end());
    });
  };
  socket.on('data', onData);
  socket.on('error', () => undefined);
});
const rawRelay = createServer((socket) => {
  socket.setNoDelay(true);
  const reads = new ReadsInto(socket, TCP_READ_SIZE);
  const conn = reads.from(connect({ port: relayTo, host: '127.0.0.1', onread: reads.onread }));
  conn.setNoDelay(true);
  socket.pipe(conn);
  conn.once('end', () => socket.end());
  for (const s of [socket, conn]) s.on('error', () => undefined);
});
const ready: ServerReady = { baseURL: listener.baseURL, rawExecPort: await listen(rawExec), rawRelayPort: await listen(rawRelay) };

process.on('message', (m: ServerRequest) => {
  const url = m.kind === 'exec' ? server.getExec('bench', m.cmd, { stdin: false, stdout: true, stderr: false, tty: false }, listener.baseURL) : server.getPortForward('bench', 'the benchmark', listener.baseURL);
  process.send?.({ id: m.id, url });
});
process.once('disconnect', () => {
  void listener.close().then(() => {
    process.exit(0);
  });
});
process.send?.(ready);
