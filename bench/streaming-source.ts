// The port every forwarded connection of bench/streaming-throughput.ts reaches: in a process of its own so that
// neither server nor client pays for it, it writes the given number of bytes to each connection, then ends it.
// Reports its port over the IPC channel and exits when that channel closes.
import { createServer, type AddressInfo } from 'node:net';

const bytes = Number(process.argv[2]);
if (!Number.isInteger(bytes) || bytes <= 0) throw new Error('usage: streaming-source.ts <bytes per connection>');
const block = Buffer.alloc(1024 * 1024, 0x61);

const server = createServer((socket) => {
  socket.setNoDelay(true);
  socket.on('error', () => undefined);
  socket.resume();
  let left = bytes;
  const fill = () => {
    while (left > 0) {
      const n = Math.min(left, block.length);
      left -= n;
      if (!socket.write(n === block.length ? block : block.subarray(0, n))) {
        socket.once('drain', fill);
        return;
      }
    }
    socket.end();
  };
  fill();
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.once('disconnect', () => {
  server.close();
  process.exit(0);
});
