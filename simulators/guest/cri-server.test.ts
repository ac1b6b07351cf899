import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { catalogImages, TEST_ECHO_IMAGE, TEST_SHELL_IMAGE } from '../../localcloud/cluster/images.js';
import type { Pod } from '../../localcloud/cluster/pod-api.js';
import { criClients } from '../../streaming/cri/protos.js';
import { listenStreaming, type StreamingListener } from '../../streaming/listener.js';
import type { CommandIO, StreamingRuntime } from '../../streaming/runtime.js';
import { StreamingServer } from '../../streaming/server.js';
import type { ContainerRef, PodRef } from './container-streams.js';
import { criId } from './cri-objects.js';
import { CriServer } from './cri-server.js';

const pod = (name: string, state: 'running' | 'exited'): Pod => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, namespace: 'default', uid: `uid-${name}`, labels: { app: name } },
  spec: { containers: [{ name: 'c', image: TEST_SHELL_IMAGE }] },
  status: {
    phase: state === 'running' ? 'Running' : 'Succeeded',
    podIP: '10.244.0.9',
    containerStatuses: [
      {
        name: 'c',
        ready: state === 'running',
        restartCount: 0,
        image: TEST_SHELL_IMAGE,
        imageID: '',
        containerID: `kvcloud://uid-${name}/c/0`,
        state: state === 'running' ? { running: { startedAt: '2026-12-07T00:00:00Z' } } : { terminated: { exitCode: 0, containerID: `kvcloud://uid-${name}/c/0` } },
        lastState: {},
      },
    ],
  },
});

/** `echo <words>` writes them; `fail <code>` exits with it after writing to stderr; `hang` waits for the abort. */
const runtime: StreamingRuntime<ContainerRef, PodRef> = {
  async exec(ref, cmd, io: CommandIO) {
    const [verb, ...rest] = cmd;
    if (verb === 'hang') {
      await new Promise((resolve) => {
        io.signal.addEventListener('abort', resolve);
      });
      return 137;
    }
    if (verb === 'fail') {
      io.stderr?.write(`failing in ${ref.pod}/${ref.container}\n`);
      return Number(rest[0]);
    }
    io.stdout?.write(`${rest.join(' ')}\n`);
    return 0;
  },
  attach(_ref, io) {
    io.stdout?.write('attached\n');
    return Promise.resolve();
  },
  portForward(_pod, _port, stream: Duplex) {
    stream.end('forwarded');
    return Promise.resolve();
  },
};

type Call = (request: object) => Promise<Record<string, unknown>>;

describe('simulators/guest/cri-server', () => {
  let dir: string;
  let server: CriServer;
  let listener: StreamingListener;
  let runtimeClient: grpc.Client;
  let imageClient: grpc.Client;
  const log = pino({ level: 'silent' });

  const rpc = (client: grpc.Client, method: string): Call => (request) =>
    new Promise((resolve, reject) => {
      (client as unknown as Record<string, (r: object, cb: (err: grpc.ServiceError | null, res: Record<string, unknown>) => void) => void>)[method]?.call(client, request, (err, res) => {
        if (err) reject(err);
        else resolve(res);
      });
    });
  const runtimeRpc = (method: string) => rpc(runtimeClient, method);
  const rejected = async (call: Promise<unknown>): Promise<grpc.ServiceError> => {
    try {
      await call;
    } catch (err) {
      return err as grpc.ServiceError;
    }
    throw new Error('the call succeeded');
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kvcloud-cri-'));
    const streaming = new StreamingServer<ContainerRef, PodRef>({ runtime, baseURL: 'https://10.0.0.1:10250/cri', log });
    listener = await listenStreaming(streaming);
    const socketPath = join(dir, 'run', 'containerd', 'containerd.sock');
    server = await CriServer.start({
      socketPath,
      pods: () => [pod('web', 'running'), pod('job', 'exited')],
      images: () => [TEST_SHELL_IMAGE, TEST_ECHO_IMAGE],
      streaming,
      runtime,
      streamBaseURL: listener.baseURL,
      log,
    });
    const { RuntimeService, ImageService } = criClients();
    runtimeClient = new RuntimeService(`unix:${socketPath}`, grpc.credentials.createInsecure());
    imageClient = new ImageService(`unix:${socketPath}`, grpc.credentials.createInsecure());
  });

  after(async () => {
    runtimeClient.close();
    imageClient.close();
    await server.close();
    await listener.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('answers Version and Status as a ready runtime of CRI v1', async () => {
    expect(await runtimeRpc('Version')({ version: 'v1' })).to.deep.include({ runtime_name: 'kvcloud', runtime_api_version: 'v1' });
    const status = (await runtimeRpc('Status')({})) as { status: { conditions: { type: string; status: boolean }[] } };
    expect(status.status.conditions.map((c) => [c.type, c.status])).to.deep.equal([
      ['RuntimeReady', true],
      ['NetworkReady', true],
    ]);
  });

  it('lists sandboxes and containers with filters, and resolves truncated ids', async () => {
    const web = criId('sandbox', 'uid-web');
    const all = (await runtimeRpc('ListPodSandbox')({})) as { items: { id: string; state: string }[] };
    expect(all.items.map((s) => [s.id, s.state])).to.deep.equal([
      [web, 'SANDBOX_READY'],
      [criId('sandbox', 'uid-job'), 'SANDBOX_NOTREADY'],
    ]);
    const ready = (await runtimeRpc('ListPodSandbox')({ filter: { state: { state: 'SANDBOX_READY' } } })) as { items: { id: string }[] };
    expect(ready.items.map((s) => s.id)).to.deep.equal([web]);
    const byLabel = (await runtimeRpc('ListPodSandbox')({ filter: { label_selector: { app: 'job' } } })) as { items: { metadata: { name: string } }[] };
    expect(byLabel.items.map((s) => s.metadata.name)).to.deep.equal(['job']);

    const status = (await runtimeRpc('PodSandboxStatus')({ pod_sandbox_id: web.slice(0, 13), verbose: true })) as {
      status: { id: string; network: { ip: string } };
      containers_statuses: { metadata: { name: string } }[];
    };
    expect(status.status.id).to.equal(web);
    expect(status.status.network.ip).to.equal('10.244.0.9');
    expect(status.containers_statuses.map((c) => c.metadata.name)).to.deep.equal(['c']);

    const running = (await runtimeRpc('ListContainers')({ filter: { state: { state: 'CONTAINER_RUNNING' } } })) as { containers: { id: string; pod_sandbox_id: string; labels: Record<string, string> }[] };
    expect(running.containers.map((c) => [c.pod_sandbox_id, c.labels['io.kubernetes.pod.name']])).to.deep.equal([[web, 'web']]);
    const inPod = (await runtimeRpc('ListContainers')({ filter: { pod_sandbox_id: criId('sandbox', 'uid-job').slice(0, 13) } })) as { containers: { state: string }[] };
    expect(inPod.containers.map((c) => c.state)).to.deep.equal(['CONTAINER_EXITED']);

    const id = running.containers[0]?.id ?? '';
    const containerStatus = (await runtimeRpc('ContainerStatus')({ container_id: id.slice(0, 13) })) as { status: { id: string; state: string; started_at: string } };
    expect(containerStatus.status).to.deep.include({ id, state: 'CONTAINER_RUNNING', started_at: '1796601600000000000' });
    expect((await rejected(runtimeRpc('ContainerStatus')({ container_id: 'nope' }))).code).to.equal(grpc.status.NOT_FOUND);
    expect((await rejected(runtimeRpc('PodSandboxStatus')({ pod_sandbox_id: '' }))).code).to.equal(grpc.status.INVALID_ARGUMENT);
  });

  it('runs ExecSync with its output and exit code, and ends it at its timeout', async () => {
    const id = criId('container', 'kvcloud://uid-web/c/0');
    const ok = (await runtimeRpc('ExecSync')({ container_id: id, cmd: ['echo', 'hi', 'there'] })) as { stdout: Buffer; stderr: Buffer; exit_code: number };
    expect([ok.stdout.toString(), ok.stderr.toString(), ok.exit_code]).to.deep.equal(['hi there\n', '', 0]);
    const failed = (await runtimeRpc('ExecSync')({ container_id: id, cmd: ['fail', '3'] })) as { stderr: Buffer; exit_code: number };
    expect([failed.stderr.toString(), failed.exit_code]).to.deep.equal(['failing in web/c\n', 3]);
    const started = Date.now();
    const timedOut = await rejected(runtimeRpc('ExecSync')({ container_id: id, cmd: ['hang'], timeout: 1 }));
    expect([timedOut.code, timedOut.details]).to.deep.equal([grpc.status.DEADLINE_EXCEEDED, 'command ["hang"] timed out after 1s']);
    expect(Date.now() - started).to.be.below(3_000);
    expect((await rejected(runtimeRpc('ExecSync')({ container_id: criId('container', 'kvcloud://uid-job/c/0'), cmd: ['echo'] }))).code).to.equal(grpc.status.FAILED_PRECONDITION);
    expect((await rejected(runtimeRpc('ExecSync')({ container_id: id, cmd: [] }))).code).to.equal(grpc.status.INVALID_ARGUMENT);
  });

  it('returns one-shot Exec, Attach and PortForward URLs on the loopback listener that the streaming server serves', async () => {
    const id = criId('container', 'kvcloud://uid-web/c/0');
    const { url } = (await runtimeRpc('Exec')({ container_id: id, cmd: ['echo', 'streamed'], stdout: true, stderr: true })) as { url: string };
    expect(url).to.match(new RegExp(`^${listener.baseURL}/exec/[A-Za-z0-9_-]{8}$`));
    const messages: Buffer[] = [];
    const ws = new WebSocket(url.replace(/^http/, 'ws'), ['v5.channel.k8s.io']);
    ws.on('message', (m: Buffer) => messages.push(m));
    await new Promise((resolve, reject) => {
      ws.once('close', resolve);
      ws.once('error', reject);
    });
    expect(Buffer.concat(messages.filter((m) => m[0] === 1).map((m) => m.subarray(1))).toString()).to.equal('streamed\n');
    expect(JSON.parse(Buffer.concat(messages.filter((m) => m[0] === 3).map((m) => m.subarray(1))).toString())).to.deep.include({ status: 'Success' });
    const again = await fetch(url);
    expect(again.status, 'the token is used up').to.equal(404);

    const attach = (await runtimeRpc('Attach')({ container_id: id.slice(0, 12), stdout: true })) as { url: string };
    expect(attach.url).to.match(new RegExp(`^${listener.baseURL}/attach/`));
    const forward = (await runtimeRpc('PortForward')({ pod_sandbox_id: criId('sandbox', 'uid-web'), port: [80] })) as { url: string };
    expect(forward.url).to.match(new RegExp(`^${listener.baseURL}/portforward/`));
    expect((await fetch(forward.url)).status, 'a plain GET is not an upgrade').to.equal(400);

    const noStreams = await rejected(runtimeRpc('Exec')({ container_id: id, cmd: ['echo'] }));
    expect([noStreams.code, noStreams.details]).to.deep.equal([grpc.status.INVALID_ARGUMENT, 'one of stdin, stdout, or stderr must be set']);
    expect((await rejected(runtimeRpc('Exec')({ container_id: id, cmd: ['echo'], tty: true, stdout: true, stderr: true }))).code).to.equal(grpc.status.INVALID_ARGUMENT);
    expect((await rejected(runtimeRpc('PortForward')({ pod_sandbox_id: criId('sandbox', 'uid-job') }))).code).to.equal(grpc.status.FAILED_PRECONDITION);
  });

  it('lists and finds images of the catalog by reference or id; an unknown image is no image', async () => {
    const list = (await rpc(imageClient, 'ListImages')({})) as { images: { id: string; repo_tags: string[] }[] };
    expect(list.images.map((i) => i.repo_tags)).to.deep.equal([[TEST_SHELL_IMAGE], [TEST_ECHO_IMAGE]]);
    const byRef = (await rpc(imageClient, 'ImageStatus')({ image: { image: TEST_ECHO_IMAGE } })) as { image: { id: string } | null };
    expect(byRef.image?.id).to.equal(list.images[1]?.id);
    const byId = (await rpc(imageClient, 'ImageStatus')({ image: { image: list.images[0]?.id } })) as { image: { repo_tags: string[] } | null };
    expect(byId.image?.repo_tags).to.deep.equal([TEST_SHELL_IMAGE]);
    expect(((await rpc(imageClient, 'ImageStatus')({ image: { image: 'example.com/nope:1' } })) as { image: unknown }).image).to.equal(null);
    const fs = (await rpc(imageClient, 'ImageFsInfo')({})) as { image_filesystems: { fs_id: { mountpoint: string } }[] };
    expect(fs.image_filesystems.map((f) => f.fs_id.mountpoint), 'what CRI clients check the image API with').to.deep.equal(['/']);
    expect(catalogImages()).to.include.members([TEST_SHELL_IMAGE, TEST_ECHO_IMAGE, 'kvcloud.local/test/virt-launcher:dev']);
  });

  it('answers the RPCs that would change pods UNIMPLEMENTED, naming what it serves, streaming ones included', async () => {
    const create = await rejected(runtimeRpc('RunPodSandbox')({}));
    expect(create.code).to.equal(grpc.status.UNIMPLEMENTED);
    expect(create.details).to.match(/^runtime\.v1\.RuntimeService\/RunPodSandbox is not implemented by the kvcloud guest runtime: .* it serves Version, Status, .*PortForward$/);
    expect((await rejected(rpc(imageClient, 'PullImage')({ image: { image: 'x' } }))).code).to.equal(grpc.status.UNIMPLEMENTED);
    const stream = (runtimeClient as unknown as Record<string, (r: object) => grpc.ClientReadableStream<unknown>>).StreamContainers?.call(runtimeClient, {});
    const streamed = await new Promise<grpc.ServiceError>((resolve) => {
      stream?.on('data', () => undefined);
      stream?.once('error', resolve);
    });
    expect(streamed.code, 'the kubelet falls back to ListContainers on UNIMPLEMENTED').to.equal(grpc.status.UNIMPLEMENTED);
  });
});
