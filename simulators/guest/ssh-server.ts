// The guest's sshd: public-key logins for the cloud-config users (their ssh_authorized_keys only). CAPK's `ssh`
// bootstrap check reads the bootstrap sentinel from the guest filesystem; any other command runs through /bin/sh
// as a process of the VM (the guest's own namespaces), under a pty when the client asked for one, with its exit
// code or signal going back to the client; the client's window changes resize that pty. The host key is made at
// boot, like a real VM's.
import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import ssh2, { type ParsedKey, type PseudoTtyInfo, type ServerChannel } from 'ssh2';
import type { GuestFS } from './guest-fs.js';
import type { GuestUser } from './cloud-config.js';
import { SENTINEL } from './guest.js';
import { ScriptPtyResizer } from './pty-size.js';

export interface GuestSSHServer {
  readonly port: number;
  close(): Promise<void>;
}

function authorizedKeys(users: readonly GuestUser[]): Map<string, ParsedKey[]> {
  const keys = new Map<string, ParsedKey[]>();
  for (const user of users) {
    const parsed = user.sshAuthorizedKeys.map((line) => utils.parseKey(line)).filter((k): k is ParsedKey => !(k instanceof Error));
    if (parsed.length > 0) keys.set(user.name, [...(keys.get(user.name) ?? []), ...parsed]);
  }
  return keys;
}

// ssh2 is CommonJS: Node's ESM loader gives its exports only as the default import.
const { Server, utils } = ssh2;

const sameKey = (a: Buffer, b: Buffer) => a.length === b.length && timingSafeEqual(a, b);

/**
 * Runs a client's command line in the VM. A pty comes from `script`, sized as the client asked; the client closing
 * its channel hangs the command up, as a dropped SSH connection does.
 */
function runCommand(command: string, stream: ServerChannel, pty: PseudoTtyInfo | undefined): ChildProcess {
  const argv = pty ? ['script', '-qefc', `stty rows ${String(pty.rows)} cols ${String(pty.cols)} 2>/dev/null; ${command}`, '/dev/null'] : ['/bin/sh', '-c', command];
  const [program = '', ...args] = argv;
  const child = spawn(program, args, { cwd: '/', env: pty ? { ...process.env, TERM: pty.term || 'xterm' } : process.env, stdio: ['pipe', 'pipe', 'pipe'] });
  stream.pipe(child.stdin);
  child.stdin.on('error', () => undefined); // the command may exit without reading its input
  child.stdout.pipe(stream, { end: false });
  child.stderr.pipe(stream.stderr, { end: false });
  child.once('error', (err) => {
    stream.stderr.write(`sh: ${err.message}\n`);
    stream.exit(127);
    stream.end();
  });
  child.once('close', (code, signal) => {
    if (code !== null) stream.exit(code);
    else stream.exit((signal ?? 'SIGKILL').replace(/^SIG/, ''), false, '');
    stream.end();
  });
  stream.once('close', () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGHUP');
  });
  return child;
}

/** Serves SSH on host:port (port 0: any free one); undefined when no user has an authorized key. */
export async function startSSHServer(opts: { users: readonly GuestUser[]; fs: GuestFS; host: string; port?: number }): Promise<GuestSSHServer | undefined> {
  const keys = authorizedKeys(opts.users);
  if (keys.size === 0) return undefined;
  // CAPK's command (guest.ts imports this module, so SENTINEL is read here, not at load).
  const sentinelCommand = `cat ${SENTINEL}`;
  const hostKey = utils.generateKeyPairSync('ed25519').private;
  const server = new Server({ hostKeys: [hostKey] }, (client) => {
    client.on('authentication', (ctx) => {
      if (ctx.method !== 'publickey') {
        ctx.reject(['publickey']);
        return;
      }
      const key = (keys.get(ctx.username) ?? []).find((k) => k.type === ctx.key.algo && sameKey(k.getPublicSSH(), ctx.key.data));
      // Without a signature the client only asks whether the key would do; with one, it must verify. ssh2's verify
      // can return an Error (truthy) despite its typing, so only `true` counts.
      const verified = (): unknown => key?.verify(ctx.blob ?? Buffer.alloc(0), ctx.signature ?? Buffer.alloc(0), ctx.hashAlgo);
      if (key && (!ctx.signature || verified() === true)) ctx.accept();
      else ctx.reject(['publickey']);
    });
    client.on('ready', () => {
      client.on('session', (accept) => {
        const session = accept();
        let pty: PseudoTtyInfo | undefined;
        let command: ChildProcess | undefined;
        let resizer: ScriptPtyResizer | undefined;
        session.on('pty', (acceptPty, _reject, info) => {
          pty = info;
          acceptPty();
        });
        // The client's terminal changed size (RFC 4254 window-change): the command's pty follows, and the kernel
        // tells the command (SIGWINCH). Before the command starts, the size is the one its pty will get.
        session.on('window-change', (acceptChange, _reject, info) => {
          // window-change asks for no reply (RFC 4254 6.7): ssh2 then passes no accept, whatever its types say.
          (acceptChange as (() => void) | undefined)?.();
          if (!pty) return;
          pty = { ...pty, rows: info.rows, cols: info.cols };
          if (command?.pid !== undefined && command.exitCode === null) {
            resizer ??= new ScriptPtyResizer(command.pid);
            resizer.resize({ rows: info.rows, cols: info.cols });
          }
        });
        session.on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          if (info.command.trim() !== sentinelCommand) {
            command = runCommand(info.command, stream, pty);
            return;
          }
          opts.fs.read(SENTINEL).then(
            (content) => {
              stream.write(content);
              stream.exit(0);
              stream.end();
            },
            () => {
              stream.stderr.write(`cat: ${SENTINEL}: No such file or directory\n`);
              stream.exit(1);
              stream.end();
            },
          );
        });
      });
    });
    // A client that drops the connection is no concern of the guest's.
    client.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 22, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      }),
  };
}
