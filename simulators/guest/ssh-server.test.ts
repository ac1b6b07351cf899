// The infrastructure provider's SSH bootstrap check against the guest's SSH server, both in-process on loopback.
import { expect } from 'chai';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { checkSentinelOverSSH } from '../../providers/infrastructure/controllers/ssh-sentinel.js';
import { generateSSHKeyPair } from '../../providers/infrastructure/ssh/keypair.js';
import { BOOTSTRAP_USER } from '../../providers/infrastructure/vm/userdata.js';
import { GuestFS } from './guest-fs.js';
import { SENTINEL } from './guest.js';
import { startSSHServer, type GuestSSHServer } from './ssh-server.js';

/** Runs one command as `user` and returns its exit code and stderr. */
function exec(port: number, user: string, privateKey: string, command: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const conn = new ssh2.Client();
    conn.on('error', reject);
    conn.on('ready', () => {
      conn.exec(command, (err, stream) => {
        if (err) {
          reject(err);
          return;
        }
        let stderr = '';
        stream.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
        stream.on('data', () => undefined);
        stream.on('close', (code: number | null) => {
          conn.end();
          resolve({ code, stderr });
        });
      });
    });
    conn.connect({ host: '127.0.0.1', port, username: user, privateKey, hostVerifier: () => true });
  });
}

describe('SSH bootstrap check against the guest SSH server', function () {
  this.timeout(30_000);
  let root: string;
  let fs: GuestFS;
  let server: GuestSSHServer;
  let clusterKey: { publicKey: string; privateKey: string };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'kvcloud-guest-ssh-'));
    fs = GuestFS.rooted(root);
    clusterKey = await generateSSHKeyPair();
    const started = await startSSHServer({ users: [{ name: BOOTSTRAP_USER, sshAuthorizedKeys: [clusterKey.publicKey] }], fs, host: '127.0.0.1', port: 0 });
    if (!started) throw new Error('the server did not start for a user with a key');
    server = started;
  });

  after(async () => {
    await server.close();
    await rm(root, { recursive: true, force: true });
  });

  it('is not started when no user has an authorized key', async () => {
    expect(await startSSHServer({ users: [{ name: BOOTSTRAP_USER, sshAuthorizedKeys: [] }], fs, host: '127.0.0.1', port: 0 })).to.equal(undefined);
  });

  it('reports not-yet while the sentinel is absent, then success once bootstrap wrote it', async () => {
    const before = await checkSentinelOverSSH('127.0.0.1', clusterKey.privateKey, server.port);
    expect(before).to.include({ ok: false, outcome: 'not-yet' });
    expect(before.detail).to.contain('No such file');

    await fs.write(SENTINEL, 'success\n');
    expect(await checkSentinelOverSSH('127.0.0.1', clusterKey.privateKey, server.port)).to.deep.equal({ ok: true, outcome: 'succeeded', detail: 'sentinel reports success' });
  });

  it('reports not-yet when the sentinel holds anything but success', async () => {
    await fs.write(SENTINEL, 'failed\n');
    expect(await checkSentinelOverSSH('127.0.0.1', clusterKey.privateKey, server.port)).to.deep.equal({ ok: false, outcome: 'not-yet', detail: 'sentinel says "failed"' });
  });

  it('reports an authentication failure for a key the guest does not know', async () => {
    const other = await generateSSHKeyPair();
    expect(await checkSentinelOverSSH('127.0.0.1', other.privateKey, server.port)).to.include({ ok: false, outcome: 'auth-failed' });
  });

  it('reports an unreachable guest when nothing listens', async () => {
    const closed = await startSSHServer({ users: [{ name: BOOTSTRAP_USER, sshAuthorizedKeys: [clusterKey.publicKey] }], fs, host: '127.0.0.1', port: 0 });
    const port = closed?.port ?? 0;
    await closed?.close();
    expect(await checkSentinelOverSSH('127.0.0.1', clusterKey.privateKey, port)).to.include({ ok: false, outcome: 'unreachable' });
  });

  it('runs no other command: exit 127 with a message', async () => {
    const { code, stderr } = await exec(server.port, BOOTSTRAP_USER, clusterKey.privateKey, 'id');
    expect(code).to.equal(127);
    expect(stderr).to.contain('only runs cat /run/cluster-api/bootstrap-success.complete');
  });
});
