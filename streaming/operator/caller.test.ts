import { rm } from 'node:fs/promises';
import { createServer, connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { parseUnixSockets, peerProcess, uidOf, unixPeer, UNKNOWN_UNIX_CALLER } from './caller.js';

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

  it('finds the process at the other end of a socket, and tells a peer it may not see from a failed lookup', () => {
    const listed = [
      { inode: 26600, peer: 26599, pid: 14818, command: 'node' },
      { inode: 26599, peer: 26600, pid: 4242, command: 'crictl' },
      // Connected by a process of another user (or outside the pod's pid namespace): ss names no holder.
      { inode: 26700, peer: 26699, pid: 14818, command: 'node' },
      { inode: 26699, peer: 26700, pid: undefined, command: undefined },
      // The peer is in another network namespace: it is not listed at all.
      { inode: 26800, peer: 26799, pid: 14818, command: 'node' },
    ];
    expect(peerProcess(listed, 26600)).to.deep.equal({ pid: 4242, command: 'crictl' });
    expect(peerProcess(listed, 26700)).to.equal('unseen');
    expect(peerProcess(listed, 26800)).to.equal('unseen');
    expect(peerProcess(listed, 12345), 'our own socket is not listed: the lookup failed').to.equal(undefined);
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
