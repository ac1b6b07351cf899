// Operator access to tenant VMs through the streaming operator endpoint (streaming/operator): a tenant whose worker
// VMs run the real guest (booted with the cluster's SSH key, as the infrastructure provider boots them), the
// endpoint deployed from config/streaming as shipped (its ServiceAccount holds exactly rbac/role.yaml), and the real
// crictl on its Unix socket from inside its pod: pods and containers, exec (sync and streaming, SPDY and WebSocket,
// exit codes, stdin, a tty and its resizes) over SSH, attach with a terminal to the serial console's shell,
// port-forward into the VM, and the audit Events on the VMs.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { stringify } from 'yaml';
import { buildTool, cacheDir } from '../../../localcloud/binaries.js';
import { TEST_SHELL_IMAGE } from '../../../localcloud/cluster/images.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { parseVersionsEnv, toolsDir } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { SSH_KEYS_SECRET_SUFFIX, SSH_PRIVATE_KEY_SECRET_KEY, SSH_PUBLIC_KEY_SECRET_KEY } from '../../../providers/infrastructure/api/labels.js';
import { generateSSHKeyPair } from '../../../providers/infrastructure/ssh/keypair.js';
import { PtyProgram } from '../../harness/pty-program.js';
import { runProgram, runUntil, type Ran } from '../../harness/run-program.js';
import { startTenantNodes, type TenantNodes } from '../../harness/tenant-nodes.js';
import { stepTimer } from '../../harness/step-timer.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CLUSTER = 'acme';
const NAMESPACE = 'default';
const VMS = ['acme-md-0-ops1', 'acme-md-0-ops2'];
const OPERATOR_NAMESPACE = 'kvcloud-system';
const OPERATOR_DEPLOYMENT = 'kvcloud-streaming-operator';
const OPERATOR_CONTAINER = 'operator';
/** Where config/streaming/manager/deployment.yaml puts the socket (an emptyDir). */
const OPERATOR_SOCKET = '/run/kvcloud/operator.sock';
/** Where the streaming operator's image puts crictl (packaging/image-contents.ts). */
const IMAGE_CRICTL = '/usr/local/bin/crictl';
const ECHO_PORT = 17777;
const FORWARDED_BYTES = 4 * 1024 * 1024;

interface CriSandbox {
  id: string;
  state: string;
  metadata: { name: string; namespace: string; uid: string };
}

interface CriContainer {
  id: string;
  podSandboxId: string;
  state: string;
  metadata: { name: string };
  labels: Record<string, string>;
}

interface AuditEvent {
  reason: string;
  action: string;
  type: string;
  note: string;
  reportingController: string;
  regarding: { kind: string; name: string };
}

/**
 * Sends `size` random bytes to 127.0.0.1:`port` in the network namespace of process `pid` (crictl port-forward listens
 * there when it runs in the operator's pod) and resolves with the sha256 of what was sent and of what came back.
 */
function echoThrough(pid: number, port: number, size: number): Promise<{ sent: string; received: string; bytes: number }> {
  const payload = randomBytes(size);
  // bash's /dev/tcp in that namespace, the connection on the child's stdin and stdout.
  const child = spawn('nsenter', ['-t', String(pid), '-n', '--', 'bash', '-c', 'exec 3<>"/dev/tcp/127.0.0.1/$1" || exit 1; cat <&3 & exec cat >&3', 'dial', String(port)], {
    stdio: ['pipe', 'pipe', 'ignore'],
    detached: true,
  });
  const end = () => {
    try {
      process.kill(-(child.pid ?? 0), 'SIGKILL');
    } catch {
      // already gone
    }
  };
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    const stalled = setTimeout(() => {
      end();
      reject(new Error(`echo through ${String(port)}: stalled after ${String(bytes)} bytes`));
    }, 30_000);
    child.stdout.on('data', (c: Buffer) => {
      chunks.push(c);
      bytes += c.length;
      if (bytes < size) return;
      clearTimeout(stalled);
      end();
      resolve({ sent: createHash('sha256').update(payload).digest('hex'), received: createHash('sha256').update(Buffer.concat(chunks)).digest('hex'), bytes });
    });
    child.stdin.on('error', () => undefined);
    child.once('error', reject);
    // Refused, or crictl closed the local connection since it cannot reach the port in the VM (yet).
    child.stdout.once('end', () => {
      clearTimeout(stalled);
      end();
      reject(new Error(`echo through ${String(port)}: closed after ${String(bytes)} of ${String(size)} bytes`));
    });
    child.stdin.write(payload);
  });
}

describe('operator access to tenant VMs: crictl against the streaming operator endpoint', function () {
  let fixture: TenantNodes | undefined;
  let crictlBin: string;
  /** The operator's pod and the pid of its container, whose namespaces, root and user crictl runs with. */
  let operatorPod = '';
  let operatorPid = 0;
  let operatorUser = { uid: '0', gid: '0' };
  /** The crictl the container has: the image's (it ships one for this), else, run from the work tree, the tools cache's. */
  let operatorCrictl = '';
  const { timings, timed } = stepTimer();
  const operatorLog = (): string => {
    const file = operatorPod ? fixture?.cluster.runner.containerLog(OPERATOR_NAMESPACE, operatorPod, OPERATOR_CONTAINER) : undefined;
    return file && existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-20).join('\n') : 'operator not running';
  };
  // What `kubectl exec` into the operator's pod gives (the local cloud's management nodes serve no exec): crictl in
  // the container's network namespace, where the stream URLs point, and in its mount namespace and root, on the
  // socket in the pod's emptyDir, as the container's user (the socket is 0600, and the operator names its callers
  // from what that user may see: streaming/operator/README.md, "Audit").
  const crictlArgv = (args: string[]) => {
    const socket = `unix://${OPERATOR_SOCKET}`;
    const { uid, gid } = operatorUser;
    return ['nsenter', '-t', String(operatorPid), '-n', '-m', '-r', '-S', uid, '-G', gid, '--', operatorCrictl, '--runtime-endpoint', socket, '--image-endpoint', socket, ...args];
  };
  const crictl = (args: string[], input?: string): Promise<Ran> => {
    const [command = '', ...rest] = crictlArgv(['--timeout', '30s', ...args]);
    return runProgram(command, rest, process.env, input);
  };
  // crictl stops reading flags at the first argument: -o goes right after the subcommand.
  const json = async <T>(args: string[]): Promise<T> => {
    const [command = '', ...rest] = args;
    const ran = await crictl([command, '-o', 'json', ...rest]);
    if (ran.code !== 0) throw new Error(`crictl ${args.join(' ')}: ${JSON.stringify(ran)}\noperator log:\n${operatorLog()}`);
    return JSON.parse(ran.stdout) as T;
  };

  before(async function () {
    this.timeout(420_000);
    buildTool('cri-tools');
    crictlBin = join(cacheDir(), 'bin', `cri-tools-${parseVersionsEnv(readFileSync(join(toolsDir, 'versions.env'), 'utf8')).get('CRI_TOOLS_VERSION') ?? ''}`, 'crictl');
    const keys = await generateSSHKeyPair();
    const tenant = await timed('fixture: tenant with 2 worker VMs booted with the cluster key', () =>
      startTenantNodes({ clusterName: CLUSTER, vms: VMS, virtualMachines: true, sshPublicKey: keys.publicKey }),
    );
    fixture = tenant;
    await timed('operator: key Secret, config/streaming applied, its pod ready', async () => {
      // The infrastructure provider's key pair Secret, in its layout.
      const secret = {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: `${CLUSTER}${SSH_KEYS_SECRET_SUFFIX}`, namespace: NAMESPACE },
        data: { [SSH_PUBLIC_KEY_SECRET_KEY]: Buffer.from(keys.publicKey).toString('base64'), [SSH_PRIVATE_KEY_SECRET_KEY]: Buffer.from(keys.privateKey).toString('base64') },
      };
      await kubectl(tenant.mgmt, ['apply', '-f', '-'], stringify(secret));
      // The shipped manifests as they are: namespace, ServiceAccount bound to role.yaml, the Deployment.
      await kubectl(tenant.mgmt, ['apply', '-k', join(REPO, 'config/streaming')]);
      await kubectl(tenant.mgmt, ['rollout', 'status', '-n', OPERATOR_NAMESPACE, `deployment/${OPERATOR_DEPLOYMENT}`, '--timeout=120s']);
      const pods = JSON.parse(await kubectl(tenant.mgmt, ['get', 'pods', '-n', OPERATOR_NAMESPACE, '-l', `app.kubernetes.io/name=${OPERATOR_DEPLOYMENT}`, '-o', 'json'])) as { items: { metadata: { name: string } }[] };
      operatorPod = pods.items[0]?.metadata.name ?? '';
      const run = tenant.cluster.runner.containerRun(OPERATOR_NAMESPACE, operatorPod, OPERATOR_CONTAINER);
      if (!run?.process.running) throw new Error(`the operator's container does not run in pod ${operatorPod}: ${operatorLog()}`);
      operatorPid = run.process.pid;
      const status = readFileSync(`/proc/${String(operatorPid)}/status`, 'utf8');
      const [, uid, gid] = /^Uid:\s+(\d+)[\s\S]*^Gid:\s+(\d+)/m.exec(status) ?? [];
      if (uid === undefined || gid === undefined) throw new Error(`no Uid and Gid in /proc/${String(operatorPid)}/status: ${status}`);
      operatorUser = { uid, gid };
      operatorCrictl = existsSync(`/proc/${String(operatorPid)}/root${IMAGE_CRICTL}`) ? IMAGE_CRICTL : crictlBin;
      await waitFor(
        async () => {
          const pods = (await crictl(['pods', '-o', 'json'])).stdout;
          const running = (JSON.parse(pods || '{"items":[]}') as { items: CriSandbox[] }).items.filter((p) => p.state === 'SANDBOX_READY');
          return running.length === VMS.length ? true : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250, what: `the operator endpoint listing ${String(VMS.length)} running VMs (log: ${operatorLog()})` },
      );
    });
  });

  after(async function () {
    this.timeout(180_000);
    await fixture?.stop();
    for (const t of timings) console.log(`      ${t}`);
  });

  it('lists the VMs as pod sandboxes with one running console container each, resolving names and truncated ids', async () => {
    const pods = await json<{ items: CriSandbox[] }>(['pods']);
    expect(pods.items.map((p) => [p.metadata.namespace, p.metadata.name, p.state]).sort()).to.deep.equal(VMS.map((vm) => [NAMESPACE, vm, 'SANDBOX_READY']));
    const ps = await json<{ containers: CriContainer[] }>(['ps']);
    expect(ps.containers.map((c) => [c.labels['io.kubernetes.pod.name'], c.metadata.name, c.state]).sort()).to.deep.equal(VMS.map((vm) => [vm, 'console', 'CONTAINER_RUNNING']));
    const first = pods.items.find((p) => p.metadata.name === VMS[0]);
    // The table prints ids truncated, and inspectp takes that prefix back; <namespace>/<vm> names the same sandbox.
    const table = await crictl(['pods']);
    expect(table.stdout).to.include((first?.id ?? '').slice(0, 13));
    const byPrefix = await json<{ status: { id: string; network: { ip: string } } }>(['inspectp', (first?.id ?? '').slice(0, 13)]);
    const byName = await json<{ status: { id: string } }>(['inspectp', `${NAMESPACE}/${VMS[0] ?? ''}`]);
    expect([byPrefix.status.id, byName.status.id]).to.deep.equal([first?.id, first?.id]);
    expect(byPrefix.status.network.ip).to.match(/^\d+\.\d+\.\d+\.\d+$/);
    // A VM's life is its VirtualMachine's: the CRI cannot stop it.
    const stop = await crictl(['stopp', first?.id ?? '']);
    expect(stop.code, JSON.stringify(stop)).to.not.equal(0);
    expect(stop.stderr).to.match(/Unimplemented.*not implemented by the kvcloud operator endpoint: pod sandboxes here are tenant VMs/);
  });

  it('runs commands in a VM over SSH: exec -s and streaming exec over SPDY and WebSocket, with exit codes, stdin and a tty', async function () {
    this.timeout(120_000);
    const vm = `${NAMESPACE}/${VMS[0] ?? ''}`;
    await timed('exec: sync, streaming over both transports, stdin, tty', async () => {
      // The tenant kubelet's kubeconfig exists only inside the VM.
      const sync = await crictl(['exec', '-s', vm, 'sh', '-c', 'grep -c "server: https://" /etc/kubernetes/kubelet.conf; echo err >&2']);
      expect([sync.code, sync.stdout], `exec -s ${JSON.stringify(sync)}`).to.deep.equal([0, '1\n\nerr\n\n']);
      const syncFailed = await crictl(['exec', '-s', vm, 'sh', '-c', 'exit 4']);
      expect(syncFailed.code, JSON.stringify(syncFailed)).to.not.equal(0);
      expect(`${String(syncFailed.code)} ${syncFailed.stderr}`, 'exit code reported').to.match(/\b4\b/);
      await Promise.all(
        ['spdy', 'websocket'].map(async (transport) => {
          const t = ['--transport', transport];
          const out = await crictl(['exec', ...t, vm, 'sh', '-c', 'echo out; echo err >&2']);
          expect([out.code, out.stdout], `${transport}: exec ${JSON.stringify(out)}`).to.deep.equal([0, 'out\n']);
          expect(out.stderr, `${transport}: exec stderr`).to.include('err\n');
          expect(await crictl(['exec', '-i', ...t, vm, 'sh', '-c', 'cat; echo " done"'], 'hello'), `${transport}: stdin closed`).to.deep.include({ code: 0, stdout: 'hello done\n' });
          const failed = await crictl(['exec', ...t, vm, 'sh', '-c', 'exit 3']);
          expect(failed.code, `${transport}: a failed command fails crictl ${JSON.stringify(failed)}`).to.not.equal(0);
          expect(failed.stderr, `${transport}: exit code reported`).to.match(/exit code 3/);
          // A tty needs a terminal on crictl's side too: script gives it one.
          const tty = await runProgram('script', ['-qec', crictlArgv(['exec', '-it', ...t, vm, 'tty']).join(' '), '/dev/null'], process.env);
          expect(tty.stdout, `${transport}: tty ${JSON.stringify(tty)}`).to.match(/\/dev\/pts\/\d+/);
        }),
      );
    });
  });

  it("resizes a tty exec's terminal in the VM when crictl's terminal changes size, over SPDY and WebSocket", async function () {
    this.timeout(90_000);
    const vm = `${NAMESPACE}/${VMS[0] ?? ''}`;
    // Prints the terminal's size whenever it changes, until crictl goes away.
    const watch = 'last=; while :; do s=$(stty size); if [ "$s" != "$last" ]; then echo "size $s"; last=$s; fi; sleep 0.1; done';
    await timed('exec -it: the first size and a resize over both transports', () =>
      Promise.all(
        ['spdy', 'websocket'].map(async (transport) => {
          const session = PtyProgram.start(crictlArgv(['exec', '-it', '--transport', transport, vm, 'sh', '-c', watch]), { rows: 20, cols: 70 });
          try {
            // The size crictl's terminal had at the start reaches the command's pty (SSH's pty request)...
            await session.until(/size 20 70\r\n/);
            // ...and a later one through the resize stream or channel 4 (SSH's window-change).
            await session.resize(33, 111);
            await session.until(/size 33 111\r\n/).catch(async (err: unknown) => {
              // Where the size stopped: crictl's own terminal, or the ptys in the VM (did it reach the guest?).
              const ptys = await crictl(['exec', '-s', vm, 'sh', '-c', 'for t in /dev/pts/[0-9]*; do echo "$t $(stty -F $t size 2>&1)"; done']);
              throw new Error(`${transport}: ${String(err)}; crictl's terminal: ${await session.size()}; ptys in the VM: ${JSON.stringify(ptys.stdout)}`);
            });
          } finally {
            await session.stop();
          }
        }),
      ),
    );
  });

  it('attaches to the serial console of a VM with a terminal: its boot output, then a shell that runs what is typed, over SPDY and WebSocket', async function () {
    this.timeout(90_000);
    const vm = VMS[1] ?? '';
    const pods = await json<{ items: CriSandbox[] }>(['pods', '--name', vm]);
    const ps = await json<{ containers: CriContainer[] }>(['ps', '--pod', pods.items[0]?.id ?? '']);
    const consoleId = ps.containers[0]?.id ?? '';
    // One console client at a time holds a VM's serial port (a new one takes it over): the transports take turns.
    await timed('attach -i -t: boot output and a typed command over both transports', async () => {
      for (const transport of ['spdy', 'websocket']) {
        const attached = PtyProgram.start(crictlArgv(['attach', '-i', '-t', '--transport', transport, consoleId]));
        try {
          await attached.until(new RegExp(`"vm":"${NAMESPACE}/${vm}"`));
          // The shell runs in the VM: its hostname is the VM's; the answer is not in what the terminal echoes.
          attached.type(`echo "$(hostname)-$((40+${transport.length}))"\r`);
          const seen = await attached.until(new RegExp(`${vm}-${String(40 + transport.length)}\r\n`));
          expect(seen, `${transport}: the boot output came first`).to.include('serving the launcher channel');
          expect(seen, `${transport}: a shell prompt`).to.match(/[$#] /);
        } finally {
          await attached.stop();
        }
      }
    });
  });

  it('forwards a port into a VM: 4 MiB through crictl port-forward come back intact, over SPDY and WebSocket', async function () {
    this.timeout(120_000);
    const tenant = fixture;
    if (!tenant) throw new Error('no fixture');
    // An echo server in the VM's own network: a host-network pod of the tenant on the first VM.
    const echo = {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'echo-in-vm', namespace: 'default' },
      spec: {
        nodeName: VMS[0],
        hostNetwork: true,
        containers: [{ name: 'echo', image: TEST_SHELL_IMAGE, command: ['node', '-e', `require('net').createServer((s) => s.pipe(s)).listen(${String(ECHO_PORT)})`] }],
      },
    };
    await kubectl(tenant.admin, ['apply', '-f', '-'], stringify(echo));
    await waitFor(async () => (JSON.parse(await kubectl(tenant.admin, ['get', 'pod', 'echo-in-vm', '-o', 'json'])) as { status?: { phase?: string } }).status?.phase === 'Running' || undefined, {
      timeoutMs: 60_000,
      what: 'the echo pod in the VM running',
    });
    await timed('port-forward: 4 MiB echoed over both transports', () =>
      Promise.all(
        ['spdy', 'websocket'].map(async (transport) => {
          const result = await runUntil(crictlArgv(['port-forward', '--transport', transport, `${NAMESPACE}/${VMS[0] ?? ''}`, `:${String(ECHO_PORT)}`]), /Forwarding from 127\.0\.0\.1:(\d+)/, async (seen) => {
            const local = Number(/Forwarding from 127\.0\.0\.1:(\d+)/.exec(seen)?.[1]);
            // The server may still be binding its port: a refused first try is retried.
            return waitFor(() => echoThrough(operatorPid, local, FORWARDED_BYTES), { timeoutMs: 20_000, intervalMs: 500, what: `${transport}: echo through port ${String(local)}` });
          });
          if (typeof result === 'string') throw new Error(`${transport}: no echo: ${result}`);
          expect(result.bytes, `${transport}: bytes back`).to.equal(FORWARDED_BYTES);
          expect(result.received, `${transport}: the bytes are the ones sent`).to.equal(result.sent);
        }),
      ),
    );
  });

  it('records every session as an Event on its VirtualMachine: who, what, how long, the exit code', async function () {
    this.timeout(60_000);
    const tenant = fixture;
    if (!tenant) throw new Error('no fixture');
    const events = await waitFor(
      async () => {
        const list = JSON.parse(await kubectl(tenant.mgmt, ['get', 'events.events.k8s.io', '-n', NAMESPACE, '-o', 'json'])) as { items: AuditEvent[] };
        const ours = list.items.filter((e) => e.reportingController === 'kvcloud.io/streaming-operator');
        const reasons = new Set(ours.map((e) => e.reason));
        return ['OperatorExec', 'OperatorAttach', 'OperatorPortForward'].every((r) => reasons.has(r)) && ours.some((e) => e.action === 'ExecSync') ? ours : undefined;
      },
      { timeoutMs: 30_000, what: 'audit Events for exec, exec -s, attach and port-forward' },
    );
    expect(events.every((e) => e.regarding.kind === 'VirtualMachine' && VMS.includes(e.regarding.name))).to.equal(true);
    // The caller is the crictl process on the socket, as the kernel names it, running as the container's user.
    const caller = new RegExp(`^uid ${operatorUser.uid} \\(pid \\d+ crictl\\)`);
    expect(events.every((e) => caller.test(e.note)), JSON.stringify(events.map((e) => e.note))).to.equal(true);
    const notes = events.map((e) => `${e.action} ${e.type} ${e.note}`);
    expect(notes.some((n) => /^ExecSync Normal .*ran "sh -c 'exit 4'" over SSH for \d+\.\d+s: exit code 4; host key SHA256:/.test(n)), notes.join('\n')).to.equal(true);
    expect(notes.some((n) => /^Exec Normal .*ran "sh -c 'exit 3'" over SSH for \d+\.\d+s: exit code 3/.test(n)), notes.join('\n')).to.equal(true);
    expect(notes.some((n) => /^Attach Normal .*attached to the serial console for \d+\.\d+s/.test(n)), notes.join('\n')).to.equal(true);
    expect(notes.some((n) => new RegExp(`^PortForward Normal .*forwarded port ${String(ECHO_PORT)} for \\d+\\.\\d+s: ${String(FORWARDED_BYTES)} bytes in, ${String(FORWARDED_BYTES)} bytes out`).test(n)), notes.join('\n')).to.equal(true);
  });
});
