// KubeVirt's subresource API (subresources.kubevirt.io/v1) served by the KubeVirt simulator through an APIService,
// reached through the management apiserver the way virtctl reaches virt-api: each call made by a ServiceAccount
// whose Role grants exactly that subresource verb, and refused (403) for one that lacks it. The VMs run the real
// guest (the simulated VM's operating system), so the console streams its boot output, port-forward reaches its
// sshd, the guest agent answers, and a hot-plugged volume shows up inside the guest as a disk with its serial.
import { execFile } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { release } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { stringify } from 'yaml';
import { DATA_VOLUME_TYPE, type DataVolume } from '../../../lib/apis/cdi.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, VIRTUAL_MACHINE_TYPE, type VirtualMachine, type VirtualMachineInstance } from '../../../lib/apis/kubevirt.js';
import { ApiError } from '../../../lib/kube/api-error.js';
import type { Client } from '../../../lib/kube/client.js';
import { kubeConfigFromString } from '../../../lib/kube/kubeconfig.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import { createLogger } from '../../../lib/observability/logger.js';
import { POD, type Pod } from '../../../localcloud/cluster/pod-api.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { runDir } from '../../../localcloud/run-dir.js';
import { waitFor } from '../../../localcloud/wait.js';
import { startKubevirtSimulator, type KubevirtSimulator } from '../../../simulators/kubevirt/index.js';
import { PERSISTENT_VOLUME, type PersistentVolume } from '../../../simulators/kubevirt/storage-api.js';
import { clusterSuite, createNamespace } from '../cluster/support.js';

const run = promisify(execFile);
const GROUP = 'subresources.kubevirt.io';
const PLAIN = 'plain.kubevirt.io';

/** An OpenSSH public key line for a fresh ed25519 key: the guest's sshd starts only for users with keys. */
function sshPublicKey(): string {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x ?? '', 'base64url');
  // The SSH wire format: each field prefixed with its length as a 32-bit big-endian number.
  const field = (b: Buffer) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(b.length);
    return Buffer.concat([length, b]);
  };
  return `ssh-ed25519 ${Buffer.concat([field(Buffer.from('ssh-ed25519')), field(raw)]).toString('base64')} e2e`;
}

function virtualMachine(namespace: string, name: string, runStrategy: 'Always' | 'Halted'): VirtualMachine {
  const userData = ['#cloud-config', 'users:', '  - name: e2e', '    ssh_authorized_keys:', `      - ${sshPublicKey()}`, ''].join('\n');
  return {
    ...VIRTUAL_MACHINE_TYPE,
    metadata: { name, namespace },
    spec: {
      runStrategy,
      template: {
        metadata: { labels: { 'kubevirt.io/vm': name } },
        spec: {
          domain: { cpu: { cores: 1 }, memory: { guest: '128Mi' }, devices: { interfaces: [{ name: 'default', masquerade: {} }] } },
          networks: [{ name: 'default', pod: {} }],
          terminationGracePeriodSeconds: 5,
          volumes: [
            { name: 'root', containerDisk: { image: 'quay.io/containerdisks/fedora:latest' } },
            { name: 'cloudinit', cloudInitNoCloud: { userData } },
          ],
        },
      },
    },
  };
}

interface Identity {
  name: string;
  token: string;
  kubeconfig: string;
  transport: RestTransport;
}

interface Reply {
  status: number;
  body: { message?: string; reason?: string } | undefined;
}

describe('KubeVirt subresource API through the management apiserver', function () {
  const suite = clusterSuite({
    nodes: [
      { name: 'node-a', zone: 'zone-a', region: 'kvcloud-local' },
      { name: 'node-b', zone: 'zone-b', region: 'kvcloud-local' },
    ],
  });
  let simulator: KubevirtSimulator | undefined;
  let client: Client;
  let ns: string;
  const identities: Identity[] = [];
  const timings: string[] = [];


  const path = (resource: 'virtualmachines' | 'virtualmachineinstances', name: string, sub: string) => `/apis/${GROUP}/v1/namespaces/${ns}/${resource}/${name}/${sub}`;
  const getVM = (name: string) => client.get<VirtualMachine>(VIRTUAL_MACHINE_TYPE, { namespace: ns, name }, { direct: true });
  const getVMI = (name: string) => client.get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: ns, name }, { direct: true });

  async function waitForVMI(name: string, check: (vmi: VirtualMachineInstance) => boolean, what: string, timeoutMs = 90_000): Promise<VirtualMachineInstance> {
    return waitFor(
      async () => {
        const vmi = await getVMI(name);
        if (vmi && check(vmi)) return vmi;
        throw new Error(`VMI: phase=${vmi?.status?.phase ?? 'none'} node=${vmi?.status?.nodeName ?? '-'} volumes=${JSON.stringify(vmi?.status?.volumeStatus ?? [])}`);
      },
      { timeoutMs, what: `VMI ${ns}/${name}: ${what}` },
    );
  }
  const running = (vmi: VirtualMachineInstance) => vmi.status?.phase === 'Running' && vmi.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

  /** A ServiceAccount whose Role grants exactly `rules` in subresources.kubevirt.io. */
  async function identity(name: string, rules: { resources: string[]; verbs: string[] }[]): Promise<Identity> {
    await client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });
    await client.create({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: ns }, rules: rules.map((r) => ({ apiGroups: [GROUP], ...r })) } as never);
    await client.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace: ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace: ns }],
    } as never);
    const res = await client.transport.request<{ status: { token: string } }>({
      method: 'POST',
      path: `/api/v1/namespaces/${ns}/serviceaccounts/${name}/token`,
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 } },
    });
    const text = stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'local', cluster: { server: suite.cluster.plane.server, 'certificate-authority-data': readFileSync(suite.cluster.plane.caCertPath).toString('base64') } }],
      users: [{ name, user: { token: res.status.token } }],
      contexts: [{ name, context: { cluster: 'local', user: name, namespace: ns } }],
      'current-context': name,
    });
    const kubeconfig = join(suite.cluster.dir, `${name}.kubeconfig`);
    await writeFile(kubeconfig, text, { mode: 0o600 });
    const transport = await RestTransport.fromKubeConfig(kubeConfigFromString(text, name));
    const id = { name, token: res.status.token, kubeconfig, transport };
    identities.push(id);
    return id;
  }

  /** A virtctl-shaped PUT as `id`; the status and Status body, whatever they are. */
  async function put(id: Identity, url: string, body?: object): Promise<Reply> {
    try {
      await id.transport.request({ method: 'PUT', path: url, ...(body ? { body } : {}) });
      return { status: 202, body: undefined };
    } catch (err) {
      if (err instanceof ApiError) return { status: err.status, body: err.body };
      throw err;
    }
  }

  /** A WebSocket to a streaming subresource as `id`: resolves once open, or with the HTTP status it was refused with. */
  function stream(id: Identity, url: string): Promise<{ ws: WebSocket; received: () => Buffer } | { status: number; body: string }> {
    const server = new URL(suite.cluster.plane.server);
    const ws = new WebSocket(`wss://${server.host}${url}`, [PLAIN], {
      headers: { Authorization: `Bearer ${id.token}` },
      ca: readFileSync(suite.cluster.plane.caCertPath),
    });
    const chunks: Buffer[] = [];
    ws.on('message', (data: Buffer) => chunks.push(data));
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        resolve({ ws, received: () => Buffer.concat(chunks) });
      });
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      ws.once('error', reject);
    });
  }

  const launcherPod = async (vmi: VirtualMachineInstance): Promise<Pod> => {
    const pods = await client.list<Pod>(POD, { namespace: ns, labelSelector: `kubevirt.io/created-by=${vmi.metadata.uid ?? ''}`, direct: true });
    const pod = pods.find((p) => p.status?.phase === 'Running' && !p.metadata.deletionTimestamp);
    if (!pod) throw new Error(`no running launcher pod for ${vmi.metadata.name ?? ''}`);
    return pod;
  };
  /** Runs a command in the guest's own mount namespace, as a shell inside the VM would see it. */
  async function inGuest(vmName: string, ...command: string[]): Promise<string> {
    const vmi = await getVMI(vmName);
    if (!vmi) throw new Error(`no VMI ${vmName}`);
    const pod = await launcherPod(vmi);
    const pid = suite.cluster.runner.containerRun(ns, pod.metadata.name ?? '', 'compute')?.process.pid;
    if (pid === undefined) throw new Error(`no guest process in ${pod.metadata.name ?? ''}`);
    return (await run('nsenter', ['-t', String(pid), '-m', '--', ...command])).stdout;
  }
  /** Loop devices whose backing file lies in the run directory (the simulator's volumes). */
  const runLoopDevices = async () => (await run('losetup', ['-a'])).stdout.split('\n').filter((l) => l.includes(runDir()));

  // Nested, so the simulator stops before the cluster does (the outer after hook).
  describe('with the simulator and running VMs', () => {
    before(async function () {
      this.timeout(300_000);
      client = suite.client;
      const simulatorStarted = Date.now();
      const destination = pino.destination({ dest: join(suite.cluster.dir, 'kubevirt-simulator.log'), sync: true });
      simulator = await startKubevirtSimulator({
        kubeconfig: suite.cluster.plane.kubeConfig,
        log: createLogger({ level: 'info', component: 'kubevirt-simulator', destination }),
        runtime: suite.cluster.runner,
        importDurationMs: 200,
      });
      timings.push(`simulator with its APIService Available in ${((Date.now() - simulatorStarted) / 1000).toFixed(1)} s`);
      ns = await createNamespace(client, 'subresources');
      const started = Date.now();
      await client.create(virtualMachine(ns, 'vm1', 'Always'));
      await client.create(virtualMachine(ns, 'vm-stopped', 'Halted'));
      for (const name of ['data1', 'data2']) {
        await client.create<DataVolume>({
          ...DATA_VOLUME_TYPE,
          metadata: { name, namespace: ns },
          spec: { source: { blank: {} }, storage: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '64Mi' } } } },
        });
      }
      await waitForVMI('vm1', running, 'Running and Ready');
      await waitForVMI('vm1', (v) => v.status?.conditions?.some((c) => c.type === 'AgentConnected' && c.status === 'True') === true, 'guest agent connected');
      timings.push(`VM with the guest running, agent connected in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });

    after(async function () {
      this.timeout(120_000);
      for (const id of identities) id.transport.close();
      const stopping = Date.now();
      await simulator?.stop();
      timings.push(`simulator stopped (APIService removed, devices released) in ${String(Date.now() - stopping)} ms`);
      for (const t of timings) console.log(`      ${t}`);
    });

    it('registers subresources.kubevirt.io/v1 through an APIService and serves its discovery', async () => {
      const id = await identity('discovery', []);
      const list = JSON.parse(await kubectl(id.kubeconfig, ['get', '--raw', `/apis/${GROUP}/v1`])) as { groupVersion: string; resources: { name: string }[] };
      expect(list.groupVersion).to.equal(`${GROUP}/v1`);
      expect(list.resources.map((r) => r.name)).to.include.members(['virtualmachines/start', 'virtualmachineinstances/console', 'virtualmachineinstances/addvolume']);
    });

    it('serves the guest agent reads to an identity with exactly their get verb, and refuses (403) one without', async () => {
      const id = await identity('agent-reader', [{ resources: ['virtualmachineinstances/guestosinfo', 'virtualmachineinstances/userlist', 'virtualmachineinstances/filesystemlist'], verbs: ['get'] }]);
      const info = JSON.parse(await kubectl(id.kubeconfig, ['get', '--raw', path('virtualmachineinstances', 'vm1', 'guestosinfo')])) as { hostname?: string; os?: { kernelRelease?: string } };
      expect(info.hostname).to.equal('vm1');
      expect(info.os?.kernelRelease).to.equal(release());
      const users = JSON.parse(await kubectl(id.kubeconfig, ['get', '--raw', path('virtualmachineinstances', 'vm1', 'userlist')])) as { items: unknown[] };
      expect(users.items).to.deep.equal([]);
      const fs = JSON.parse(await kubectl(id.kubeconfig, ['get', '--raw', path('virtualmachineinstances', 'vm1', 'filesystemlist')])) as { items: { mountPoint: string; totalBytes: number }[] };
      expect(fs.items.find((f) => f.mountPoint === '/')?.totalBytes).to.be.greaterThan(0);
      expect(fs.items.map((f) => f.mountPoint)).to.include('/etc/kubernetes');

      const none = await identity('no-agent', [{ resources: ['virtualmachineinstances/console'], verbs: ['get'] }]);
      const refused = await kubectl(none.kubeconfig, ['get', '--raw', path('virtualmachineinstances', 'vm1', 'guestosinfo')]).then(
        () => '',
        (err: unknown) => (err as Error).message,
      );
      expect(refused).to.match(/Forbidden|forbidden/);
      expect(refused).to.include('virtualmachineinstances/guestosinfo');
    });

    it('streams the serial console: what the guest printed while it booted, over a plain.kubevirt.io WebSocket', async () => {
      const id = await identity('console', [{ resources: ['virtualmachineinstances/console'], verbs: ['get'] }]);
      const started = Date.now();
      const conn = await stream(id, path('virtualmachineinstances', 'vm1', 'console'));
      if (!('ws' in conn)) throw new Error(`console refused: ${String(conn.status)} ${conn.body}`);
      expect(conn.ws.protocol).to.equal(PLAIN);
      const text = await waitFor(() => Promise.resolve(conn.received().toString().includes('serving the launcher channel') ? conn.received().toString() : undefined), {
        timeoutMs: 10_000,
        what: 'the boot output on the console',
      });
      timings.push(`console: boot output after ${String(Date.now() - started)} ms`);
      expect(text).to.include('"vm":"' + ns + '/vm1"');
      conn.ws.close();

      const other = await identity('console-less', [{ resources: ['virtualmachineinstances/portforward'], verbs: ['get'] }]);
      const refused = await stream(other, path('virtualmachineinstances', 'vm1', 'console'));
      expect('status' in refused && refused.status).to.equal(403);
    });

    it("port-forwards to a port inside the guest: the guest's sshd answers with its banner", async () => {
      const id = await identity('forwarder', [{ resources: ['virtualmachineinstances/portforward'], verbs: ['get'] }]);
      const conn = await stream(id, `${path('virtualmachineinstances', 'vm1', 'portforward')}/22/tcp`);
      if (!('ws' in conn)) throw new Error(`port-forward refused: ${String(conn.status)} ${conn.body}`);
      const banner = await waitFor(() => Promise.resolve(conn.received().toString().startsWith('SSH-2.0-') ? conn.received().toString() : undefined), { timeoutMs: 10_000, what: 'the SSH banner' });
      expect(banner).to.match(/^SSH-2\.0-/);
      conn.ws.close();
      const closedPort = await stream(id, `${path('virtualmachineinstances', 'vm1', 'portforward')}/2/tcp`);
      expect('status' in closedPort && closedPort.status).to.equal(500);
      expect('body' in closedPort ? closedPort.body : '').to.include('dialing VM');

      const other = await identity('no-forward', [{ resources: ['virtualmachineinstances/console'], verbs: ['get'] }]);
      const refused = await stream(other, `${path('virtualmachineinstances', 'vm1', 'portforward')}/22`);
      expect('status' in refused && refused.status).to.equal(403);
    });

    it('hot-plugs a volume into the VM: the spec keeps it, the guest sees a SCSI disk with its serial, and removal takes it away', async function () {
      this.timeout(120_000);
      const id = await identity('vm-volumes', [{ resources: ['virtualmachines/addvolume', 'virtualmachines/removevolume'], verbs: ['update'] }]);
      const other = await identity('vm-no-volumes', [{ resources: ['virtualmachines/start'], verbs: ['update'] }]);
      const body = { name: 'data1', disk: { disk: { bus: 'scsi' }, serial: 'KVDATA1' }, volumeSource: { persistentVolumeClaim: { claimName: 'data1' } } };
      expect((await put(other, path('virtualmachines', 'vm1', 'addvolume'), body)).status).to.equal(403);
      const started = Date.now();
      expect(await put(id, path('virtualmachines', 'vm1', 'addvolume'), body)).to.deep.equal({ status: 202, body: undefined });
      const vmi = await waitForVMI('vm1', (v) => v.status?.volumeStatus?.find((s) => s.name === 'data1')?.phase === 'Ready', 'data1 Ready');
      timings.push(`VM hot-plug: addvolume to Ready in ${String(Date.now() - started)} ms`);
      const status = vmi.status?.volumeStatus?.find((s) => s.name === 'data1');
      if (!status) throw new Error('data1 has no volume status');
      expect(status).to.include({ reason: 'VolumeReady', message: 'Successfully attach hotplugged volume data1 to VM' });
      expect(status.persistentVolumeClaimInfo?.claimName).to.equal('data1');
      const vm = await getVM('vm1');
      expect(vm?.spec?.template.spec?.volumes?.find((v) => v.name === 'data1')?.persistentVolumeClaim).to.deep.equal({ claimName: 'data1', hotpluggable: true });
      expect(vm?.status?.volumeRequests ?? []).to.deep.equal([]);

      const device = `/dev/${status.target}`;
      expect((await inGuest('vm1', 'lsblk', '-dn', '-o', 'SERIAL', device)).trim()).to.equal('KVDATA1');
      expect((await inGuest('vm1', 'readlink', '-f', '/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_KVDATA1')).trim()).to.equal(device);
      expect(await runLoopDevices()).to.have.length(1);
      // The node's own /dev has no such link: the guest's view is its own.
      expect(await run('ls', ['/dev/disk/by-id/scsi-0QEMU_QEMU_HARDDISK_KVDATA1']).then(() => 'present', () => 'absent')).to.equal('absent');

      expect(await put(id, path('virtualmachines', 'vm1', 'removevolume'), { name: 'data1' })).to.deep.equal({ status: 202, body: undefined });
      await waitForVMI('vm1', (v) => !v.status?.volumeStatus?.some((s) => s.name === 'data1'), 'data1 gone from volumeStatus');
      expect((await getVM('vm1'))?.spec?.template.spec?.volumes?.some((v) => v.name === 'data1')).to.equal(false);
      expect(await runLoopDevices()).to.deep.equal([]);
      expect(await inGuest('vm1', 'ls', '/dev/disk/by-id')).to.equal('');
    });

    it('hot-plugs a volume into the VMI only (virtio), and answers bad input with KubeVirt errors, leaving nothing behind', async function () {
      this.timeout(120_000);
      const id = await identity('vmi-volumes', [{ resources: ['virtualmachineinstances/addvolume', 'virtualmachineinstances/removevolume'], verbs: ['update'] }]);
      const add = (vm: string, body: object) => put(id, path('virtualmachineinstances', vm, 'addvolume'), body);
      expect(await add('vm1', { name: 'data2', disk: { disk: { bus: 'virtio' }, serial: 'KVDATA2' }, volumeSource: { persistentVolumeClaim: { claimName: 'data2' } } })).to.deep.equal({ status: 202, body: undefined });
      const vmi = await waitForVMI('vm1', (v) => v.status?.volumeStatus?.find((s) => s.name === 'data2')?.phase === 'Ready', 'data2 Ready');
      const target = vmi.status?.volumeStatus?.find((s) => s.name === 'data2')?.target ?? '';
      expect((await inGuest('vm1', 'readlink', '-f', '/dev/disk/by-id/virtio-KVDATA2')).trim()).to.equal(`/dev/${target}`);
      expect((await inGuest('vm1', 'lsblk', '-dn', '-o', 'SERIAL', `/dev/${target}`)).trim()).to.equal('KVDATA2');
      // Ephemeral: the VM's spec does not keep it.
      expect((await getVM('vm1'))?.spec?.template.spec?.volumes?.some((v) => v.name === 'data2')).to.equal(false);

      const bad = await add('vm1', { disk: {}, volumeSource: {} });
      expect(bad).to.deep.include({ status: 400 });
      expect(bad.body?.message).to.equal('AddVolumeOptions requires name to be set');
      const stopped = await add('vm-stopped', { name: 'data1', disk: {}, volumeSource: { persistentVolumeClaim: { claimName: 'data1' } } });
      expect(stopped.status).to.equal(404);
      expect(stopped.body?.message).to.equal('virtualmachineinstance.kubevirt.io "vm-stopped" not found');
      const again = await add('vm1', { name: 'data2', disk: {}, volumeSource: { persistentVolumeClaim: { claimName: 'data2' } } });
      expect(again.status).to.equal(409);
      expect(again.body?.message).to.equal('Operation cannot be fulfilled on virtualmachineinstance.kubevirt.io "vm1": Unable to add volume [data2] because volume with that name already exists');
      const root = await put(id, path('virtualmachineinstances', 'vm1', 'removevolume'), { name: 'root' });
      expect(root.body?.message).to.match(/Unable to remove volume \[root\] because it is not hotpluggable$/);

      // A claim that does not exist is accepted, then reported as virt-controller reports it; no device is made.
      expect((await add('vm1', { name: 'ghost', disk: {}, volumeSource: { persistentVolumeClaim: { claimName: 'ghost' } } })).status).to.equal(202);
      const ghost = await waitForVMI('vm1', (v) => v.status?.volumeStatus?.find((s) => s.name === 'ghost')?.phase === 'Pending', 'ghost Pending');
      expect(ghost.status?.volumeStatus?.find((s) => s.name === 'ghost')).to.include({ reason: 'FailedPvcNotFound', message: 'PVC ghost not found' });
      expect(await runLoopDevices()).to.have.length(1); // data2's only

      for (const name of ['ghost', 'data2']) expect((await put(id, path('virtualmachineinstances', 'vm1', 'removevolume'), { name })).status).to.equal(202);
      await waitForVMI('vm1', (v) => (v.status?.volumeStatus ?? []).length === 0, 'no hot-plugged volume left');
      expect(await runLoopDevices()).to.deep.equal([]);
    });

    it('live-migrates the VM on a migrate request, refusing an identity without the verb', async function () {
      this.timeout(120_000);
      const id = await identity('migrator', [{ resources: ['virtualmachines/migrate'], verbs: ['update'] }]);
      const other = await identity('no-migrate', [{ resources: ['virtualmachines/restart'], verbs: ['update'] }]);
      const before = await waitForVMI('vm1', running, 'Running');
      expect((await put(other, path('virtualmachines', 'vm1', 'migrate'), {})).status).to.equal(403);
      const started = Date.now();
      expect((await put(id, path('virtualmachines', 'vm1', 'migrate'), {})).status).to.equal(202);
      await waitForVMI('vm1', (v) => v.status?.nodeName !== before.status?.nodeName && v.status?.migrationState?.completed === true, 'moved to the other node');
      timings.push(`migrate: request to completed migration in ${String(Date.now() - started)} ms`);
      const stopped = await put(id, path('virtualmachines', 'vm-stopped', 'migrate'), {});
      expect(stopped.status).to.equal(404);
      expect(stopped.body?.message).to.equal('virtualmachineinstance.kubevirt.io "vm-stopped" not found');
    });

    it('stops, starts and restarts the VM with exactly those verbs, with virt-api conflicts when there is nothing to do', async function () {
      this.timeout(180_000);
      const stopper = await identity('stopper', [{ resources: ['virtualmachines/stop'], verbs: ['update'] }]);
      const starter = await identity('starter', [{ resources: ['virtualmachines/start'], verbs: ['update'] }]);
      const restarter = await identity('restarter', [{ resources: ['virtualmachines/restart'], verbs: ['update'] }]);
      expect((await put(starter, path('virtualmachines', 'vm1', 'stop'))).status).to.equal(403);
      const already = await put(starter, path('virtualmachines', 'vm1', 'start'));
      expect(already.status).to.equal(409);
      expect(already.body?.message).to.equal('Operation cannot be fulfilled on virtualmachine.kubevirt.io "vm1": VM is already running');

      const first = await waitForVMI('vm1', running, 'Running');
      expect((await put(restarter, path('virtualmachines', 'vm1', 'restart'))).status).to.equal(202);
      await waitForVMI('vm1', (v) => v.metadata.uid !== first.metadata.uid && running(v), 'a new VMI after the restart');
      await waitFor(async () => (((await getVM('vm1'))?.status?.stateChangeRequests ?? []).length === 0 ? true : undefined), { timeoutMs: 10_000, what: 'the restart requests consumed' });

      expect((await put(stopper, path('virtualmachines', 'vm1', 'stop'))).status).to.equal(202);
      await waitFor(async () => ((await getVMI('vm1')) ? undefined : true), { timeoutMs: 60_000, what: 'the VMI gone after stop' });
      expect((await getVM('vm1'))?.spec?.runStrategy).to.equal('Halted');
      const notRunning = await put(stopper, path('virtualmachines', 'vm1', 'stop'));
      expect(notRunning.status).to.equal(409);
      expect(notRunning.body?.message).to.equal('Operation cannot be fulfilled on virtualmachine.kubevirt.io "vm1": VM is not running');
      const restartStopped = await put(restarter, path('virtualmachines', 'vm1', 'restart'));
      expect(restartStopped.body?.message).to.match(/RunStategy Halted does not support manual restart requests$/);

      expect((await put(starter, path('virtualmachines', 'vm1', 'start'))).status).to.equal(202);
      expect((await getVM('vm1'))?.spec?.runStrategy).to.equal('Always');
      await waitForVMI('vm1', running, 'Running again after start');
      const missing = await put(starter, path('virtualmachines', 'ghost', 'start'));
      expect(missing.status).to.equal(404);
      expect(missing.body?.message).to.equal('virtualmachine.kubevirt.io "ghost" not found');
    });

    it('leaves no loop device and no backing file once the VMs and volumes are deleted', async function () {
      this.timeout(120_000);
      for (const name of ['vm1', 'vm-stopped']) await client.delete(VIRTUAL_MACHINE_TYPE, { namespace: ns, name });
      for (const name of ['data1', 'data2']) await client.delete(DATA_VOLUME_TYPE, { namespace: ns, name });
      await waitFor(async () => ((await client.list(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: ns, direct: true })).length === 0 ? true : undefined), {
        timeoutMs: 60_000,
        what: 'every VMI gone',
      });
      await waitFor(
        async () => {
          const pvs = await client.list<PersistentVolume>(PERSISTENT_VOLUME, { direct: true });
          return pvs.some((pv) => pv.spec.claimRef?.namespace === ns) ? undefined : true;
        },
        { timeoutMs: 60_000, what: 'the volumes released and deleted' },
      );
      expect(await runLoopDevices()).to.deep.equal([]);
      expect(await run('ls', [join(runDir(), 'kubevirt-volumes')]).then((r) => r.stdout, () => '')).to.equal('');
    });
  });
});
