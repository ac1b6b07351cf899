// For runtimes: reading a session's output (a forwarded connection, a command's stdout) into two reused buffers
// instead of the new 64 KiB buffer Node allocates for every read of a socket or pipe. Collecting those (full
// mark-compacts, started by the external memory) cost this server about half a second of CPU per GiB carried, as
// much as the Go library spends on a whole session. Node reads into a caller's buffer with a socket's `onread`; a
// command gets a socket for its output from `outputSocketPair`.
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect, type OnReadOpts, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';

/** What Node reads at a time by default; a command's output read more at a time showed no gain in the benchmark. */
const READ_SIZE = 64 * 1024;

/**
 * Writes what a socket reads to `dest`: pass `onread` where the socket is made, then `from(socket)`. One buffer is
 * being written while the next read fills the other; reading pauses while the next is still being written (a slow
 * client, a full socket). A buffer is filled again once `dest` called back its write, so `dest` must hold no chunk
 * after that, as a socket and this server's streams do; one that keeps chunks (a PassThrough) would see them change.
 * `readSize`: a TCP connection read 256 KiB at a time costs 10 to 15% less CPU per byte than at 64 KiB.
 */
export class ReadsInto {
  private readonly buffers: [Buffer, Buffer];
  private readonly writing = new Set<Buffer>();
  private next: 0 | 1 = 0;
  private socket: Socket | undefined;
  private waiting = false;

  readonly onread: OnReadOpts = {
    buffer: () => this.buffers[this.next],
    callback: (n) => this.read(n),
  };

  constructor(
    private readonly dest: Writable,
    readSize = READ_SIZE,
  ) {
    this.buffers = [Buffer.allocUnsafe(readSize), Buffer.allocUnsafe(readSize)];
  }

  /** The socket made with `onread`, resumed here when its next buffer is free. */
  from(socket: Socket): Socket {
    this.socket = socket;
    return socket;
  }

  /** A read of `n` bytes into the next buffer; false pauses the socket. */
  private read(n: number): boolean {
    const buffer = this.buffers[this.next];
    this.writing.add(buffer);
    this.dest.write(buffer.subarray(0, n), () => {
      this.writing.delete(buffer);
      if (this.waiting && !this.writing.has(this.buffers[this.next])) {
        this.waiting = false;
        this.socket?.resume();
      }
    });
    this.next = this.next === 0 ? 1 : 0;
    this.waiting = this.writing.has(this.buffers[this.next]);
    return !this.waiting;
  }
}

/**
 * A connected pair of Unix stream sockets, as libuv makes for a child's 'pipe' stdio: `child` to hand to `spawn` as
 * a command's stdout or stderr (close it once spawned: the command holds its copy), `reader` read with `onread`.
 * The listener lives in a fresh private directory only until the one connection arrived.
 */
export async function outputSocketPair(onread: OnReadOpts): Promise<{ reader: Socket; child: Socket }> {
  const dir = await mkdtemp(join(tmpdir(), 'kvcloud-output-'));
  const server = createServer();
  try {
    const path = join(dir, 'socket');
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, resolve);
    });
    const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
    const reader = connect({ path, onread });
    const [child] = await Promise.all([
      accepted,
      new Promise<void>((resolve, reject) => {
        reader.once('connect', resolve);
        reader.once('error', reject);
      }),
    ]);
    return { reader, child };
  } finally {
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
}
