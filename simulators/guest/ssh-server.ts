// The guest's sshd, as far as CAPK's `ssh` bootstrap check needs one: public-key logins for the cloud-config users
// (their ssh_authorized_keys only), and one command, reading the bootstrap sentinel from the guest filesystem.
// Anything else exits 127, as a shell does for a command it cannot find. The host key is made at boot, like a
// real VM's.
import type { AddressInfo } from 'node:net';
import { timingSafeEqual } from 'node:crypto';
import ssh2, { type ParsedKey } from 'ssh2';
import type { GuestFS } from './guest-fs.js';
import type { GuestUser } from './cloud-config.js';
import { SENTINEL } from './guest.js';

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
        accept().on('exec', (acceptExec, _reject, info) => {
          const stream = acceptExec();
          if (info.command.trim() !== sentinelCommand) {
            stream.stderr.write(`sh: ${info.command}: command not found (the simulated guest only runs ${sentinelCommand})\n`);
            stream.exit(127);
            stream.end();
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
