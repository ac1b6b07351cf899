// The guest's serial console over its Unix socket, as virt-handler reaches it: the autologin banner, typed commands
// run by a shell on a pty, one client at a time with the session kept across connections, respawned after exit.
import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import { waitFor } from '../../localcloud/wait.js';
import { loginBanner, SERIAL_SOCKET, startSerialConsole, type SerialConsole } from './serial-console.js';

interface Line {
  socket: Socket;
  seen(): string;
  until(want: RegExp): Promise<string>;
  closed: Promise<void>;
}

function dial(path: string): Promise<Line> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let seen = '';
    socket.on('data', (d: Buffer) => (seen += d.toString()));
    const closed = new Promise<void>((done) => socket.once('close', () => { done(); }));
    socket.once('error', reject);
    socket.once('connect', () => {
      resolve({
        socket,
        seen: () => seen,
        until: (want) => waitFor(() => Promise.resolve(want.test(seen) ? seen : undefined), { timeoutMs: 10_000, intervalMs: 20, what: `${String(want)} on the console (saw ${JSON.stringify(seen)})` }),
        closed,
      });
    });
  });
}

describe('guest serial console', function () {
  this.timeout(20_000);
  let dir: string;
  let path: string;
  let serial: SerialConsole;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kvcloud-serial-'));
    path = join(dir, SERIAL_SOCKET);
    serial = await startSerialConsole({ socketPath: path, hostname: 'vm1', osName: 'Simulated Linux', log: pino({ level: 'silent' }) });
  });

  after(async () => {
    await serial.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('greets the first client with the autologin banner and runs what is typed, echoing it as a tty does', async () => {
    const line = await dial(path);
    await line.until(/\$ $|# $/);
    expect(line.seen().startsWith(loginBanner('Simulated Linux', 'vm1', userInfo().username))).to.equal(true);
    line.socket.write('KV=serial; echo "$KV-$((40+2))"\r');
    const seen = await line.until(/serial-42\r\n/);
    expect(seen, 'the typed line comes back as the pty echoes it').to.include('echo "$KV-$((40+2))"');
    line.socket.end();
    await line.closed;
  });

  it('keeps the shell for the next client and closes the older one when a new client takes the port over', async () => {
    const first = await dial(path);
    const second = await dial(path);
    await first.closed;
    second.socket.write('echo "again-$KV"\r');
    await second.until(/again-serial\r\n/);
    expect(second.seen(), 'no new login for a live session').to.not.include('automatic login');
    second.socket.end();
  });

  it('logs in again, banner first, once the shell exits', async () => {
    const line = await dial(path);
    line.socket.write('exit\r');
    await line.until(/automatic login\)\r\n\r\n[\s\S]*[$#] $/);
    line.socket.write('echo "fresh-${KV:-unset}"\r');
    await line.until(/fresh-unset\r\n/);
    line.socket.end();
  });
});
