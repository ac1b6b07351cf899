// The guest's serial port (ttyS0) where virt-launcher exposes it: a Unix socket, virt-serial0, in the launcher's
// private directory, which virt-handler dials for the VMI's console subresource. On the port runs what a cloud
// image's serial getty gives with autologin: the issue line, "<host> login: <user> (automatic login)" and a login
// shell on a pty (util-linux `script`), in the guest's own namespaces. The shell outlives connections as a getty's
// session outlives a detached console, and comes back with the banner once it exits, as getty respawns. One client
// holds the port at a time: a new one takes it over and the older is closed, as virt-handler closes the previous
// console stream. What the shell prints while nobody is connected is lost, as on a serial line nobody listens to.
import { spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { userInfo } from 'node:os';
import type { Logger } from 'pino';

/** The socket's name, as virt-launcher names the first serial port's. */
export const SERIAL_SOCKET = 'virt-serial0';

export interface SerialConsoleOptions {
  socketPath: string;
  hostname: string;
  /** The first line of the banner, /etc/issue style: "Ubuntu 24.04.1 LTS". */
  osName: string;
  log: Logger;
}

export interface SerialConsole {
  close(): Promise<void>;
}

/** What a getty with autologin prints before the shell's first prompt. */
export function loginBanner(osName: string, hostname: string, user: string): string {
  return `\r\n${osName} ${hostname} ttyS0\r\n\r\n${hostname} login: ${user} (automatic login)\r\n\r\n`;
}

class SerialPort {
  private client: Socket | undefined;
  private shell: ChildProcess | undefined;
  private readonly user = userInfo();

  constructor(private readonly opts: SerialConsoleOptions) {}

  connect(socket: Socket): void {
    const previous = this.client;
    this.client = socket;
    previous?.destroy();
    socket.on('error', () => socket.destroy());
    socket.on('data', (typed: Buffer) => {
      if (this.client === socket) this.shell?.stdin?.write(typed);
    });
    socket.on('close', () => {
      if (this.client === socket) this.client = undefined;
    });
    this.shell ??= this.login();
  }

  close(): void {
    this.client?.destroy();
    this.client = undefined;
    // The shell gets its hangup when script's end closes the pty, as on a dropped line.
    if (this.shell?.exitCode === null) this.shell.kill('SIGKILL');
  }

  /** The getty's part: the banner, then the shell on a fresh pty; respawned once it exits while someone listens. */
  private login(): ChildProcess {
    const { username, homedir } = this.user;
    this.client?.write(loginBanner(this.opts.osName, this.opts.hostname, username));
    const env = {
      PATH: process.env.PATH ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      // What systemd's serial-getty sets for a serial line.
      TERM: 'vt220',
      HOME: homedir,
      USER: username,
      LOGNAME: username,
      SHELL: '/bin/bash',
      PS1: '\\u@\\h:\\w\\$ ',
    };
    // script gives the shell a pty (line editing, echo, ^C) on the port's byte stream; -f flushes every write. It
    // stays in the guest's process group, so the signals that stop the VM's process stop it too.
    const shell = spawn('script', ['-qfc', 'exec bash --noprofile --norc -i', '/dev/null'], { cwd: homedir, env, stdio: ['pipe', 'pipe', 'ignore'] });
    shell.stdin.on('error', () => undefined);
    shell.stdout.on('data', (out: Buffer) => this.client?.write(out));
    shell.once('error', (err) => {
      this.opts.log.warn({ err }, 'serial console: cannot start the login shell');
    });
    shell.once('close', () => {
      if (this.shell !== shell) return;
      this.shell = undefined;
      if (this.client) this.shell = this.login();
    });
    return shell;
  }
}

/** Serves the serial port on `socketPath` until closed. */
export async function startSerialConsole(opts: SerialConsoleOptions): Promise<SerialConsole> {
  const port = new SerialPort(opts);
  await rm(opts.socketPath, { force: true });
  const server: Server = createServer((socket) => {
    port.connect(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  opts.log.info({ socket: opts.socketPath }, 'serving the serial console');
  return {
    close: async () => {
      port.close();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}
