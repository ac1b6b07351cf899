// The runtime behind the operator's streaming server: a session's target is a VM, with the caller it was issued to.
// Exec runs the command over SSH through virt-api's port-forward to port 22; attach joins the serial console;
// port-forward connects to the port in the VM through virt-api. Every session runs under audit.
import type { Duplex } from 'node:stream';
import type { CommandIO, StreamingRuntime } from '../runtime.js';
import type { Audit } from './audit.js';
import type { Caller } from './caller.js';
import { runOverSSH, commandLine, type SSHLogin } from './ssh-command.js';
import type { VirtApi } from './virt-api.js';
import type { VmTarget } from './vm-sandboxes.js';

export const SSH_PORT = 22;

/** What a streaming URL was issued for: the VM, who asked, and for exec the SSH login checked at request time. */
export interface VmSession {
  vm: VmTarget;
  caller: Caller;
  login?: SSHLogin | undefined;
}

/** Resolves when `stream` is over: ended, closed or failed. */
function over(stream: Duplex): Promise<void> {
  return new Promise((resolve) => {
    if (stream.destroyed) {
      resolve();
      return;
    }
    stream.once('close', resolve);
    stream.once('end', resolve);
    stream.once('error', () => {
      resolve();
    });
  });
}

function aborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => { resolve(); }, { once: true });
  });
}

export class VmRuntime implements StreamingRuntime<VmSession, VmSession> {
  constructor(
    private readonly virt: VirtApi,
    private readonly audit: Audit,
  ) {}

  exec(session: VmSession, cmd: string[], io: CommandIO, kind: 'exec' | 'exec-sync' = 'exec'): Promise<number> {
    const { login } = session;
    return this.audit.session(
      { kind, caller: session.caller, vm: session.vm, what: `ran "${commandLine(cmd)}" over SSH` },
      async () => {
        if (!login) throw new Error(`no SSH login for VM ${session.vm.namespace}/${session.vm.name}`);
        const sock = await this.virt.portForward(session.vm.namespace, session.vm.name, SSH_PORT);
        try {
          return await runOverSSH(sock, login, cmd, io);
        } finally {
          sock.destroy();
        }
      },
      (r) => ({ exitCode: r.exitCode, detail: `host key ${r.hostKey}` }),
    ).then((r) => r.exitCode);
  }

  attach(session: VmSession, io: CommandIO): Promise<void> {
    return this.audit.session(
      { kind: 'attach', caller: session.caller, vm: session.vm, what: 'attached to the serial console' },
      async () => {
        const serial = await this.virt.console(session.vm.namespace, session.vm.name);
        try {
          // The console's output is the container's stdout (a client may have asked for stderr only).
          const out = io.stdout ?? io.stderr;
          if (out) serial.pipe(out, { end: false });
          // What the operator types goes to the VM's serial port; the console stays open after their input ends.
          if (io.stdin) io.stdin.pipe(serial, { end: false });
          await Promise.race([over(serial), aborted(io.signal)]);
        } finally {
          io.stdin?.unpipe(serial);
          serial.destroy();
        }
      },
      () => ({}),
    );
  }

  portForward(session: VmSession, port: number, stream: Duplex, signal: AbortSignal): Promise<void> {
    let sent = 0;
    let received = 0;
    return this.audit.session(
      { kind: 'port-forward', caller: session.caller, vm: session.vm, what: `forwarded port ${String(port)}` },
      async () => {
        const conn = await this.virt.portForward(session.vm.namespace, session.vm.name, port);
        try {
          conn.on('data', (c: Buffer) => (received += c.length));
          stream.on('data', (c: Buffer) => (sent += c.length));
          conn.pipe(stream);
          // virt-api's stream has no half-close: the client's end of input leaves the connection open until the
          // VM's side or the client closes it.
          stream.pipe(conn, { end: false });
          await Promise.race([over(conn), new Promise<void>((resolve) => stream.once('close', resolve)), aborted(signal)]);
        } finally {
          stream.unpipe(conn);
          conn.destroy();
        }
      },
      () => ({ detail: `${String(sent)} bytes in, ${String(received)} bytes out` }),
    );
  }
}
