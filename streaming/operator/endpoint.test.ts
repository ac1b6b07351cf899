// The operator endpoint end to end in one process: a CRI client on its Unix socket, the streaming server's URLs
// used over WebSocket, and a fake VM (fake-vm.testdata.ts) behind the VirtApi.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import type { Secret } from '../../lib/apis/core.js';
import type { VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import type { EventInput } from '../../lib/controller/event-recorder.js';
import type { KubeObject } from '../../lib/kube/object.js';
import { criClients } from '../cri/protos.js';
import { OperatorEndpoint } from './endpoint.js';
import { startFakeVm, type FakeVm } from './fake-vm.testdata.js';
import { sshLogins } from './ssh-login.js';

function vmi(name: string, phase: 'Running' | 'Scheduling', cluster?: string): VirtualMachineInstance {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: {
      name,
      namespace: 'tenants',
      uid: `uid-${name}`,
      labels: cluster ? { 'cluster.x-k8s.io/cluster-name': cluster } : {},
      ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name, uid: `vm-uid-${name}`, controller: true }],
    },
    spec: { domain: { devices: {} } },
    status: { phase, interfaces: [{ name: 'default', ipAddress: '10.244.1.7' }] },
  };
}

type Unary = (req: object, cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void) => void;

/** A WebSocket session on a stream URL: what came back by channel, once the server closed it. */
function wsSession(url: string, protocol: string, onOpen: (ws: WebSocket) => void): Promise<Buffer[]> {
  const ws = new WebSocket(url.replace(/^http/, 'ws'), [protocol]);
  const messages: Buffer[] = [];
  ws.on('message', (m: Buffer) => messages.push(m));
  ws.once('open', () => {
    onOpen(ws);
  });
  return new Promise((resolve, reject) => {
    ws.once('close', () => {
      resolve(messages);
    });
    ws.once('error', reject);
  });
}
/** Resolves once `check` holds, polling every 10 ms. */
async function waitUntil(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 10));
}
const channel = (messages: Buffer[], n: number) => Buffer.concat(messages.filter((m) => m[0] === n).map((m) => m.subarray(1))).toString();

describe('streaming/operator endpoint', function () {
  this.timeout(20_000);
  let dir: string;
  let vm: FakeVm;
  let endpoint: OperatorEndpoint;
  let client: grpc.Client;
  let images: grpc.Client;
  const events: { regarding: KubeObject; input: EventInput }[] = [];

  const call = (c: grpc.Client, method: string, req: object): Promise<Record<string, unknown>> =>
    new Promise((resolve, reject) => {
      (c as unknown as Record<string, Unary>)[method]?.call(c, req, (err, res) => {
        if (err) reject(err);
        else resolve(res);
      });
    });
  const refused = async (c: grpc.Client, method: string, req: object): Promise<grpc.ServiceError> => {
    try {
      await call(c, method, req);
    } catch (err) {
      return err as grpc.ServiceError;
    }
    throw new Error(`${method} succeeded`);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'kvcloud-operator-'));
    vm = await startFakeVm();
    const secrets: Record<string, Secret> = {
      'tenants/acme-ssh-keys': { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'acme-ssh-keys', namespace: 'tenants' }, data: { key: Buffer.from(vm.login.privateKey).toString('base64') } },
    };
    endpoint = new OperatorEndpoint({
      socket: join(dir, 'operator.sock'),
      socketMode: 0o600,
      streamAddress: { host: '127.0.0.1', port: 0 },
      vmis: () => [vmi('w1', 'Running', 'acme'), vmi('keyless', 'Running'), vmi('lost', 'Running', 'gone'), vmi('booting', 'Scheduling', 'acme')],
      virt: vm.virt,
      sshLogin: sshLogins((namespace, name) => Promise.resolve(secrets[`${namespace}/${name}`]), 'capk'),
      recorder: { event: (regarding, input) => events.push({ regarding, input }) },
      log: pino({ level: 'silent' }),
    });
    await endpoint.start();
    const { RuntimeService, ImageService } = criClients();
    client = new RuntimeService(`unix:${join(dir, 'operator.sock')}`, grpc.credentials.createInsecure());
    images = new ImageService(`unix:${join(dir, 'operator.sock')}`, grpc.credentials.createInsecure());
  });

  after(async () => {
    client.close();
    images.close();
    await endpoint.stop();
    await vm.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists VMs as sandboxes, each with a console container, and finds one by <namespace>/<vm> or a truncated id', async () => {
    expect((await call(client, 'Version', {})).runtime_name).to.equal('kvcloud-operator');
    const { items } = (await call(client, 'ListPodSandbox', {})) as { items: { id: string; state: string; metadata: { name: string } }[] };
    expect(items.map((s) => [s.metadata.name, s.state])).to.deep.equal([
      ['w1', 'SANDBOX_READY'],
      ['keyless', 'SANDBOX_READY'],
      ['lost', 'SANDBOX_READY'],
      ['booting', 'SANDBOX_NOTREADY'],
    ]);
    const w1 = items[0]?.id ?? '';
    const status = (await call(client, 'PodSandboxStatus', { pod_sandbox_id: w1.slice(0, 12), verbose: true })) as { status: { id: string; network: { ip: string } }; containers_statuses: { metadata: { name: string } }[] };
    expect([status.status.id, status.status.network.ip, status.containers_statuses.map((c) => c.metadata.name)]).to.deep.equal([w1, '10.244.1.7', ['console']]);
    const filtered = (await call(client, 'ListPodSandbox', { filter: { id: 'tenants/w1' } })) as { items: { id: string }[] };
    expect(filtered.items.map((s) => s.id)).to.deep.equal([w1]);
    const { containers } = (await call(client, 'ListContainers', { filter: { pod_sandbox_id: 'tenants/w1' } })) as { containers: { pod_sandbox_id: string; state: string }[] };
    expect(containers.map((c) => [c.pod_sandbox_id, c.state])).to.deep.equal([[w1, 'CONTAINER_RUNNING']]);
    expect((await refused(client, 'PodSandboxStatus', { pod_sandbox_id: 'tenants/nope' })).code).to.equal(grpc.status.NOT_FOUND);
  });

  it('runs ExecSync over SSH with the cluster key: output, exit code, and an audit Event naming this process', async () => {
    const res = (await call(client, 'ExecSync', { container_id: 'tenants/w1', cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'] })) as { stdout: Buffer; stderr: Buffer; exit_code: number };
    expect([res.stdout.toString(), res.stderr.toString(), res.exit_code]).to.deep.equal(['out\n', 'err\n', 3]);
    const event = events.at(-1);
    expect(event?.regarding).to.deep.equal({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'w1', namespace: 'tenants', uid: 'vm-uid-w1' } });
    expect(event?.input).to.deep.include({ type: 'Normal', reason: 'OperatorExec', action: 'ExecSync' });
    expect(event?.input.note).to.match(new RegExp(`^uid \\d+ \\(pid ${String(process.pid)} .*\\) ran "sh -c 'echo out; echo err >&2; exit 3'" over SSH for \\d+\\.\\d+s: exit code 3; host key SHA256:`));
  });

  it('refuses exec on a VM it cannot log in to, or that is not running, with FAILED_PRECONDITION saying why', async () => {
    const keyless = await refused(client, 'ExecSync', { container_id: 'tenants/keyless', cmd: ['true'] });
    expect([keyless.code, keyless.details]).to.deep.equal([grpc.status.FAILED_PRECONDITION, 'VM tenants/keyless has no cluster.x-k8s.io/cluster-name label: no cluster SSH key to exec with']);
    const lost = await refused(client, 'Exec', { container_id: 'tenants/lost', cmd: ['true'], stdout: true });
    expect([lost.code, lost.details]).to.deep.equal([grpc.status.FAILED_PRECONDITION, 'VM tenants/lost: no SSH private key: Secret tenants/gone-ssh-keys not found']);
    const booting = await refused(client, 'Attach', { container_id: 'tenants/booting', stdout: true });
    expect([booting.code, booting.details]).to.deep.equal([grpc.status.FAILED_PRECONDITION, 'VM tenants/booting is not running (its console container is CONTAINER_CREATED)']);
    expect((await refused(client, 'Exec', { container_id: 'tenants/w1', cmd: [], stdout: true })).code).to.equal(grpc.status.INVALID_ARGUMENT);
  });

  it('serves a streaming exec through a one-shot URL: stdin, stdout and the exit code over WebSocket', async () => {
    const { url } = (await call(client, 'Exec', { container_id: 'tenants/w1', cmd: ['sh', '-c', 'cat; exit 5'], stdin: true, stdout: true })) as { url: string };
    expect(url).to.match(new RegExp(`^${endpoint.streamBaseURL ?? ''}/exec/[\\w-]{8}$`));
    const messages = await wsSession(url, 'v5.channel.k8s.io', (ws) => {
      ws.send(Buffer.from([0, ...Buffer.from('typed')]));
      ws.send(Buffer.from([255, 0]));
    });
    expect(channel(messages, 1)).to.equal('typed');
    expect(JSON.parse(channel(messages, 3))).to.deep.include({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '5' }] } });
    // Used once: the same URL again is not found.
    const again = await new Promise<number>((resolve) => {
      new WebSocket(url.replace(/^http/, 'ws'), ['v5.channel.k8s.io']).once('unexpected-response', (_req, res) => {
        resolve(res.statusCode ?? 0);
      });
    });
    expect(again).to.equal(404);
  });

  it("passes a tty exec's terminal sizes to the SSH channel: the first as the pty request, later ones as window changes", async () => {
    const { url } = (await call(client, 'Exec', { container_id: 'tenants/w1', cmd: ['sh', '-c', 'read line; echo "got $line"'], tty: true, stdin: true, stdout: true })) as { url: string };
    const resize = (ws: WebSocket, width: number, height: number) => {
      ws.send(Buffer.concat([Buffer.from([4]), Buffer.from(JSON.stringify({ Width: width, Height: height }))]));
    };
    const messages = await wsSession(url, 'v5.channel.k8s.io', (ws) => {
      resize(ws, 90, 30);
      // The window changes once the command runs (the fake VM has seen the pty request), then input ends it.
      void waitUntil(() => vm.terminals.length > 0).then(() => {
        resize(ws, 132, 43);
        return waitUntil(() => vm.terminals.includes('window 43x132'));
      }).then(() => {
        ws.send(Buffer.from([0, ...Buffer.from('hi\n')]));
      });
    });
    expect(channel(messages, 1)).to.equal('got hi\n');
    expect(vm.terminals).to.deep.equal(['pty 30x90', 'window 43x132']);
  });

  it('attaches to the serial console: its output comes back, and what is typed reaches it', async () => {
    const { url } = (await call(client, 'Attach', { container_id: 'tenants/w1', stdin: true, stdout: true })) as { url: string };
    const messages = await wsSession(url, 'v5.channel.k8s.io', (ws) => {
      ws.send(Buffer.from([0, ...Buffer.from('root\n')]));
      setTimeout(() => {
        ws.close();
      }, 300);
    });
    expect(channel(messages, 1)).to.equal('[    0.000000] Booting w1\nroot\n');
    expect(vm.opened).to.include('console tenants/w1');
  });

  it('forwards a port of the VM through virt-api: the bytes come back as sent', async () => {
    const { url } = (await call(client, 'PortForward', { pod_sandbox_id: 'tenants/w1', port: [7777] })) as { url: string };
    const payload = Buffer.alloc(256 * 1024, 'kvcloud');
    let received = 0;
    const messages = await wsSession(`${url}?port=7777`, 'v4.channel.k8s.io', (ws) => {
      ws.on('message', (m: Buffer) => {
        if (m[0] === 0 && m.length > 3) received += m.length - 1;
        if (received >= payload.length) ws.close();
      });
      ws.send(Buffer.concat([Buffer.from([0]), payload]));
    });
    expect(messages.slice(0, 2)).to.deep.equal([Buffer.from([0, 0x61, 0x1e]), Buffer.from([1, 0x61, 0x1e])]);
    expect(Buffer.concat(messages.slice(2).filter((m) => m[0] === 0).map((m) => m.subarray(1)))).to.deep.equal(payload);
    expect(vm.opened).to.include('portforward tenants/w1:7777');
  });

  it('records every session, streaming ones included, with what it did', () => {
    const notes = events.map((e) => `${e.input.action}: ${e.input.note.replace(/^uid \d+ \(pid \d+ [^)]*\) /, '')}`);
    expect(notes.some((n) => /^Exec: ran "sh -c 'cat; exit 5'" over SSH for \d+\.\d+s: exit code 5/.test(n)), notes.join('\n')).to.equal(true);
    expect(notes.some((n) => /^Attach: attached to the serial console for \d+\.\d+s$/.test(n)), notes.join('\n')).to.equal(true);
    expect(notes.some((n) => /^PortForward: forwarded port 7777 for \d+\.\d+s: 262144 bytes in, 262144 bytes out$/.test(n)), notes.join('\n')).to.equal(true);
  });

  it('answers lifecycle and image RPCs UNIMPLEMENTED, saying why', async () => {
    const run = await refused(client, 'RunPodSandbox', {});
    expect(run.code).to.equal(grpc.status.UNIMPLEMENTED);
    expect(run.details).to.match(/^runtime\.v1\.RuntimeService\/RunPodSandbox is not implemented by the kvcloud operator endpoint: pod sandboxes here are tenant VMs, created, stopped and changed through their VirtualMachine objects/);
    const pull = await refused(images, 'PullImage', {});
    expect(pull.details).to.match(/not implemented by the kvcloud operator endpoint: a VM boots from its disks/);
    expect(await call(images, 'ImageFsInfo', {})).to.deep.equal({ image_filesystems: [], container_filesystems: [] });
  });
});
