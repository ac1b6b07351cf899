// A deterministic tar stream for image layers: the same entries always give the same bytes (fixed mtime, numeric
// owners, no user names), so a layer's digest changes only when its content does. POSIX ustar, with a PAX header
// for a path or link target too long for ustar's fields; no other extension is needed for an image's files.
import { closeSync, openSync, readSync } from 'node:fs';

export interface TarEntry {
  /** The path inside the archive, relative, without a leading "/" ("usr/lib/x86_64-linux-gnu/libc.so.6"). */
  path: string;
  type: 'file' | 'dir' | 'symlink';
  mode: number;
  uid?: number;
  gid?: number;
  /** A file's content: the file on this machine to read, or the bytes themselves. */
  source?: string;
  data?: Buffer;
  /** A file's size (stat of source, or data.length): written in the header before the content is read. */
  size?: number;
  linkTarget?: string;
}

const BLOCK = 512;
const CHUNK = 1 << 20;
/** 2000-01-01T00:00:00Z: a fixed time, not the epoch, which some tools show as "no time". */
export const LAYER_MTIME = 946_684_800;

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, '0') + '\0';
}

function pax(records: Record<string, string>): Buffer {
  let body = '';
  for (const [key, value] of Object.entries(records)) {
    // Each record is "<length> <key>=<value>\n" where length counts itself: try the digits until they agree.
    const rest = ` ${key}=${value}\n`;
    let length = Buffer.byteLength(rest) + 1;
    while (String(length).length + Buffer.byteLength(rest) !== length) length += 1;
    body += `${String(length)}${rest}`;
  }
  return Buffer.from(body);
}

function header(name: string, entry: Pick<TarEntry, 'mode' | 'uid' | 'gid' | 'linkTarget'>, typeflag: string, size: number): Buffer {
  const block = Buffer.alloc(BLOCK);
  block.write(name, 0, 100);
  block.write(octal(entry.mode & 0o7777, 8), 100);
  block.write(octal(entry.uid ?? 0, 8), 108);
  block.write(octal(entry.gid ?? 0, 8), 116);
  block.write(octal(size, 12), 124);
  block.write(octal(LAYER_MTIME, 12), 136);
  block.write(' '.repeat(8), 148);
  block.write(typeflag, 156);
  block.write(entry.linkTarget ?? '', 157, 100);
  block.write('ustar\0', 257);
  block.write('00', 263);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(octal(sum, 7) + ' ', 148);
  return block;
}

const padding = (size: number): Buffer => Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);

function* fileContent(entry: TarEntry): Generator<Buffer> {
  if (entry.data) {
    yield entry.data;
    return;
  }
  if (entry.source === undefined) throw new Error(`tar entry ${entry.path}: a file needs source or data`);
  const fd = openSync(entry.source, 'r');
  try {
    let left = entry.size ?? 0;
    while (left > 0) {
      const chunk = Buffer.alloc(Math.min(CHUNK, left));
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) throw new Error(`tar entry ${entry.path}: ${entry.source} shrank while it was archived`);
      left -= read;
      yield chunk.subarray(0, read);
    }
  } finally {
    closeSync(fd);
  }
}

/** The archive of `entries` in the order given (callers sort them), as chunks for a stream. */
export function* tarStream(entries: TarEntry[]): Generator<Buffer> {
  for (const entry of entries) {
    const name = entry.type === 'dir' ? `${entry.path}/` : entry.path;
    const size = entry.type === 'file' ? (entry.size ?? entry.data?.length ?? 0) : 0;
    const long: Record<string, string> = {};
    if (Buffer.byteLength(name) > 100) long.path = name;
    if (Buffer.byteLength(entry.linkTarget ?? '') > 100) long.linkpath = entry.linkTarget ?? '';
    if (Object.keys(long).length > 0) {
      const records = pax(long);
      yield header('PaxHeader', { mode: 0o644 }, 'x', records.length);
      yield records;
      yield padding(records.length);
    }
    const typeflag = entry.type === 'file' ? '0' : entry.type === 'dir' ? '5' : '2';
    yield header(Buffer.byteLength(name) > 100 ? name.slice(0, 99) : name, entry, typeflag, size);
    if (entry.type === 'file') {
      yield* fileContent({ ...entry, size });
      yield padding(size);
    }
  }
  yield Buffer.alloc(BLOCK * 2);
}
