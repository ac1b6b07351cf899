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

/** Runs one command as `user` (with `input` on its stdin, under a pty of that size) and returns what it did. */
function exec(port: number, user: string, privateKey: string, command: string, input?: string, pty?: { rows: number; cols: number }): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const conn = new ssh2.Client();
    conn.on('error', reject);
    conn.on('ready', () => {
      conn.exec(command, pty ? { pty } : {}, (err, stream) => {
        if (err) {
          reject(err);
          return;
        }
        let stdout = '';
        let stderr = '';
        stream.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
        stream.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
        stream.on('close', (code: number | null) => {
          conn.end();
          resolve({ code, stdout, stderr });
        });
        stream.end(input ?? '');
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

  it('runs any other command through the shell, with its stdout, stderr and exit code', async () => {
    const { code, stdout, stderr } = await exec(server.port, BOOTSTRAP_USER, clusterKey.privateKey, "echo out; echo err >&2; cat; exit 3", 'typed');
    expect([code, stdout, stderr]).to.deep.equal([3, 'out\ntyped', 'err\n']);
  });

  it('gives a command a terminal when the client asks for a pty', async () => {
    const { code, stdout } = await exec(server.port, BOOTSTRAP_USER, clusterKey.privateKey, 'tty; stty size', undefined, { rows: 33, cols: 101 });
    expect(code).to.equal(0);
    expect(stdout).to.match(/^\/dev\/pts\/\d+\r?\n33 101/);
  });

  it("resizes the command's terminal when the client's window changes", async () => {
    const command = 'stty size; while [ "$(stty size)" != "40 120" ]; do sleep 0.05; done; echo "now $(stty size)"';
    const output = await new Promise<string>((resolve, reject) => {
      const conn = new ssh2.Client();
      conn.on('error', reject);
      conn.on('ready', () => {
        conn.exec(command, { pty: { rows: 33, cols: 101 } }, (err, stream) => {
          if (err) {
            reject(err);
            return;
          }
          let seen = '';
          stream.on('data', (c: Buffer) => {
            seen += c.toString('utf8');
            // The first size is out: the terminal changes under the running command.
            if (seen.includes('33 101') && !seen.includes('now')) stream.setWindow(40, 120, 0, 0);
          });
          stream.on('close', () => {
            conn.end();
            resolve(seen);
          });
        });
      });
      conn.connect({ host: '127.0.0.1', port: server.port, username: BOOTSTRAP_USER, privateKey: clusterKey.privateKey, hostVerifier: () => true });
    });
    expect(output).to.match(/^33 101\r?\nnow 40 120\r?\n$/);
  });
});
