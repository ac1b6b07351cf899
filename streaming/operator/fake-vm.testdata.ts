// A VM for the operator's unit tests, behind the VirtApi the operator talks to: port 22 is an SSH server that
// takes the cluster key, records the terminal sizes it is given and runs commands with /bin/sh, any other port is a TCP echo server, and the serial console
// prints a boot line and echoes what it is sent. Each stream is a real loopback TCP connection.
import { spawn } from 'node:child_process';
import { timingSafeEqual } from 'node:crypto';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { PassThrough, type Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { VirtApi } from './virt-api.js';

const { Server: SSHServer, utils } = ssh2;

export interface FakeVm {
  virt: VirtApi;
  /** The login the VM accepts. */
  login: { username: string; privateKey: string };
  /** Streams opened, as "console ns/name" or "portforward ns/name:port". */
  opened: string[];
  /** Terminal sizes the SSH server was given, as "pty RxC" (the request) and "window RxC" (window-change). */
  terminals: string[];
  close(): Promise<void>;
}

function listen(server: Server | InstanceType<typeof SSHServer>): Promise<number> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function sshd(publicKey: Buffer, terminals: string[]): InstanceType<typeof SSHServer> {
  return new SSHServer({ hostKeys: [utils.generateKeyPairSync('ed25519').private] }, (client) => {
    client.on('authentication', (ctx) => {
      if (ctx.method === 'publickey' && ctx.username === 'capk' && ctx.key.data.length === publicKey.length && timingSafeEqual(ctx.key.data, publicKey)) ctx.accept();
      else ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        session.on('pty', (acceptPty, _reject, info) => {
          terminals.push(`pty ${String(info.rows)}x${String(info.cols)}`);
          acceptPty();
        });
        session.on('window-change', (acceptChange, _reject, info) => {
          terminals.push(`window ${String(info.rows)}x${String(info.cols)}`);
          (acceptChange as (() => void) | undefined)?.();
        });
        session.on('exec', (acceptExec, _reject, info) => {
          const channel = acceptExec();
          const child = spawn('/bin/sh', ['-c', info.command], { stdio: ['pipe', 'pipe', 'pipe'] });
          channel.pipe(child.stdin);
          child.stdin.on('error', () => undefined);
          child.stdout.pipe(channel, { end: false });
          child.stderr.pipe(channel.stderr, { end: false });
          child.once('close', (code) => {
            channel.exit(code ?? 255);
            channel.end();
          });
        });
      });
    });
    client.on('error', () => undefined);
  });
}

export async function startFakeVm(): Promise<FakeVm> {
  const keys = utils.generateKeyPairSync('ed25519');
  const parsed = utils.parseKey(keys.public);
  if (parsed instanceof Error) throw parsed;
  const terminals: string[] = [];
  const ssh = sshd(parsed.getPublicSSH(), terminals);
  const echo = createServer((s) => s.pipe(s));
  const [sshPort, echoPort] = await Promise.all([listen(ssh), listen(echo)]);
  const opened: string[] = [];
  const dial = (port: number): Promise<Duplex> =>
    new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        resolve(socket);
      });
      socket.once('error', reject);
    });
  const virt: VirtApi = {
    console: (namespace, name) => {
      opened.push(`console ${namespace}/${name}`);
      // What is typed on the serial port comes back, as a getty's echo does.
      const serial = new PassThrough();
      serial.write(`[    0.000000] Booting ${name}\n`);
      return Promise.resolve(serial);
    },
    portForward: (namespace, name, port) => {
      opened.push(`portforward ${namespace}/${name}:${String(port)}`);
      return dial(port === 22 ? sshPort : echoPort);
    },
  };
  return {
    virt,
    login: { username: 'capk', privateKey: keys.private },
    opened,
    terminals,
    close: async () => {
      await Promise.all([new Promise((resolve) => ssh.close(resolve)), new Promise((resolve) => echo.close(resolve))]);
    },
  };
}
