import { rm } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseUnixSockets, uidOf, unixPeer, UNKNOWN_UNIX_CALLER } from './caller.js';

describe('streaming/operator/caller', () => {
  it('parses ss -xpnH lines: inodes, the peer, and the first process holding the socket', () => {
    const text = [
      'u_str ESTAB 0      0      /run/kvcloud/operator.sock 26600 * 26599 users:(("node-MainThread",pid=14818,fd=24))',
      'u_str ESTAB 0      0                      * 26599 * 26600 users:(("crictl",pid=4242,fd=3),("crictl",pid=4243,fd=3))',
      'u_str ESTAB 0      0                      * 30000 * 30001',
      'garbage',
    ].join('\n');
    expect(parseUnixSockets(text)).to.deep.equal([
      { inode: 26600, peer: 26599, pid: 14818, command: 'node-MainThread' },
      { inode: 26599, peer: 26600, pid: 4242, command: 'crictl' },
      { inode: 30000, peer: 30001, pid: undefined, command: undefined },
    ]);
  });

  it('reads the real uid from /proc/<pid>/status', () => {
    expect(uidOf('Name:\tcrictl\nUid:\t1000\t1000\t1000\t1000\nGid:\t100\n')).to.equal(1000);
    expect(uidOf('Name:\tx\n')).to.equal(undefined);
  });

  it('names the process at the other end of a Unix socket: this one, connected to itself', async function () {
    this.timeout(10_000);
    const path = join(tmpdir(), `kvcloud-caller-${String(process.pid)}.sock`);
    await rm(path, { force: true });
    const accepted = new Promise<Socket>((resolve) => {
      const server = createServer((s) => {
        server.close();
        resolve(s);
      });
      server.listen(path, () => {
        connect(path);
      });
    });
    const socket = await accepted;
    try {
      const caller = await unixPeer(socket);
      expect(caller.name).to.match(new RegExp(`^uid ${String(process.getuid?.() ?? 0)} \\(pid ${String(process.pid)} `));
    } finally {
      socket.destroy();
      await rm(path, { force: true });
    }
  });

  it('falls back to an unnamed peer for a socket that is not a Unix socket connection', async () => {
    const socket = connect({ port: 1, host: '127.0.0.1' });
    socket.on('error', () => undefined);
    expect(await unixPeer(socket)).to.equal(UNKNOWN_UNIX_CALLER);
    socket.destroy();
  });
});
