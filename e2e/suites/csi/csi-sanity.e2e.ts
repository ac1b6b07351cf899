// kvcloud's CSI driver (csi.kubevirt.io) against csi-sanity, the CSI conformance tests built from
// github.com/kubernetes-csi/csi-test: the controller runs as its own process against the management apiserver
// with a ServiceAccount whose Role grants only what the RPCs use, in one tenant infra namespace, and with the
// KubeVirt/CDI simulator behind it; the node plugin runs inside a running VM, as a process entered into the
// guest's mount namespace (the guest's /dev with its hot-plugged disks, its own mounts), which is where a node
// plugin lives in a tenant VM. csi-sanity drives both endpoints: every volume it creates is a DataVolume,
// every ControllerPublish a hot-plug into the VM, every NodeStage a format and mount of the disk the guest sees.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { createWriteStream, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { credentials, loadPackageDefinition, type Client as GrpcClient, type ServiceError } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import { expect } from 'chai';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { DATA_VOLUME_TYPE, type DataVolume } from '../../../lib/apis/cdi.js';
import { VOLUME_SNAPSHOT_TYPE, type VolumeSnapshot } from '../../../lib/apis/snapshot.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, VIRTUAL_MACHINE_TYPE, type VirtualMachine, type VirtualMachineInstance } from '../../../lib/apis/kubevirt.js';
import type { Client } from '../../../lib/kube/client.js';
import { createLogger } from '../../../lib/observability/logger.js';
import { POD, type Pod } from '../../../localcloud/cluster/pod-api.js';
import { buildTool, cacheDir } from '../../../localcloud/binaries.js';
import { parseVersionsEnv, toolsDir } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { startKubevirtSimulator, type KubevirtSimulator } from '../../../simulators/kubevirt/index.js';
import { EXPANDABLE_STORAGE_CLASS } from '../../../simulators/kubevirt/storage-class.js';
import { clusterSuite, createNamespace } from '../cluster/support.js';
import { defaultCsiProtoPath } from '../../../csi/spec.js';
import { isolationCases } from './isolation.js';
import { RESOURCE_QUOTA_TYPE, type ResourceQuota } from '../../../csi/controller/capacity.js';
import { compiledMain } from '../../../packaging/compiled-js.js';
import { startProgram } from '../../../localcloud/cluster/image-process.js';
import type { ManagedProcess } from '../../../localcloud/process.js';

const REPO = new URL('../../../', import.meta.url).pathname;
const TENANT_LABELS = 'csi-driver/tenant=acme';
/** The tenant's Cluster (--cluster-name): its VMs carry Cluster API's cluster-name label, as CAPK labels them. */
const CLUSTER = 'acme';
/** Sanity's volumes: small, so a format is quick; sparse files on the node either way. */
const VOLUME_BYTES = 64 * 1024 * 1024;
/** The ResourceQuota of the tenant's infra namespace that GetCapacity reads. */
const TENANT_QUOTA = 'tenant-storage';
const GI = 1024 ** 3;

/**
 * Sanity cases skipped because the driver does not advertise what they test, by ginkgo's skip message. Anything
 * skipped for another reason fails the suite.
 */
const JUSTIFIED_SKIPS: Record<string, string> = {
  'SNAPSHOT_ACCESSIBILITY_CONSTRAINTS not supported': 'no SNAPSHOT_ACCESSIBILITY_CONSTRAINTS: a restore is placed by the zones its own infra StorageClass serves, as any volume',
  'ControllerModifyVolume not supported': 'no MODIFY_VOLUME: no VolumeAttributesClass support',
  'Modify volume not supported': 'no MODIFY_VOLUME',
  'Modify Volume not supported': 'no MODIFY_VOLUME',
  'testnodevolumeattachlimit not enabled': 'NodeGetInfo reports no max_volumes_per_node',
  'ControllerPublishVolume.readonly field not supported': 'no PUBLISH_READONLY: read-only is an access mode here',
  'NodeGetStorageHealth not supported': 'no node GET_STORAGE_HEALTH: the VM has no storage backend of its own; the infra storage behind its disks is the controller\'s to judge, per volume (ControllerGetVolumeHealth)',
  'Service does not have single node multi writer capability': 'no SINGLE_NODE_MULTI_WRITER: a disk is attached to one VM at a time',
  'GroupControllerService not supported': 'no group controller service (volume group snapshots)',
};

/** ControllerGetVolume's answer, and a ListVolumes entry. */
interface GetVolume {
  volume: { volume_id: string; capacity_bytes: number; volume_context: Record<string, string> };
  status: { published_node_ids?: string[] };
}

/** ControllerGetVolumeHealth's and NodeGetVolumeHealth's answer. */
interface Health {
  volume_health: { volume_id: string; health_statuses?: { status: string; reason: string; message: string }[] };
}

interface SpecReport {
  State: string;
  LeafNodeText: string;
  ContainerHierarchyTexts: string[] | null;
  RunTime: number;
  Failure?: { Message: string };
}

function virtualMachine(namespace: string, name: string, cluster = CLUSTER): VirtualMachine {
  const clusterLabel = { 'cluster.x-k8s.io/cluster-name': cluster };
  return {
    ...VIRTUAL_MACHINE_TYPE,
    metadata: { name, namespace, labels: clusterLabel },
    spec: {
      runStrategy: 'Always',
      template: {
        metadata: { labels: { 'kubevirt.io/vm': name, ...clusterLabel } },
        spec: {
          domain: { cpu: { cores: 1 }, memory: { guest: '128Mi' }, devices: { interfaces: [{ name: 'default', masquerade: {} }] } },
          networks: [{ name: 'default', pod: {} }],
          terminationGracePeriodSeconds: 5,
          volumes: [
            { name: 'root', containerDisk: { image: 'quay.io/containerdisks/fedora:latest' } },
            { name: 'cloudinit', cloudInitNoCloud: { userData: '#cloud-config\n' } },
          ],
        },
      },
    },
  };
}

describe('CSI driver against csi-sanity, with the KubeVirt/CDI simulator and a running VM', function () {
  const suite = clusterSuite();
  const timings: string[] = [];
  const children: ChildProcess[] = [];
  const controllers: ManagedProcess[] = [];
  let simulator: KubevirtSimulator | undefined;
  let client: Client;
  let ns: string;
  let dir: string;
  const since = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`;

  const getQuota = (name: string) => client.get<ResourceQuota>(RESOURCE_QUOTA_TYPE, { namespace: ns, name }, { direct: true });
  const getVMI = (name: string) => client.get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: ns, name }, { direct: true });

  /** A kubeconfig for a ServiceAccount whose Role grants exactly what the controller's RPCs use. */
  async function controllerIdentity(): Promise<string> {
    const name = 'csi-controller';
    await client.create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name, namespace: ns } });
    await client.create({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace: ns },
      rules: [
        { apiGroups: ['cdi.kubevirt.io'], resources: ['datavolumes'], verbs: ['get', 'list', 'create', 'delete'] },
        { apiGroups: ['snapshot.storage.k8s.io'], resources: ['volumesnapshots'], verbs: ['get', 'list', 'create', 'delete'] },
        // ControllerExpandVolume grows the DataVolume's claim and reads its capacity back; ListVolumes, ControllerGetVolume
        // and the health RPCs read the claims' size and phase.
        { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['get', 'list', 'patch'] },
        // GetCapacity: what the namespace's storage quotas leave.
        { apiGroups: [''], resources: ['resourcequotas'], verbs: ['list'] },
        { apiGroups: ['kubevirt.io'], resources: ['virtualmachines', 'virtualmachineinstances'], verbs: ['get', 'list'] },
        // removevolume on the VMI too: a volume only in the VMI is removed there (upstream's RBAC forgets it).
        { apiGroups: ['subresources.kubevirt.io'], resources: ['virtualmachines/addvolume', 'virtualmachines/removevolume', 'virtualmachineinstances/addvolume', 'virtualmachineinstances/removevolume'], verbs: ['update'] },
      ],
    } as never);
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
    const path = join(dir, 'csi-controller.kubeconfig');
    const text = stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'infra', cluster: { server: suite.cluster.plane.server, 'certificate-authority-data': readFileSync(suite.cluster.plane.caCertPath).toString('base64') } }],
      users: [{ name, user: { token: res.status.token } }],
      contexts: [{ name, context: { cluster: 'infra', user: name, namespace: ns } }],
      'current-context': name,
    });
    await writeFile(path, text, { mode: 0o600 });
    return path;
  }

  /**
   * Starts the controller service as a plain process of this machine, from the csi-driver image in image mode
   * (localcloud/cluster/image-process.ts): its socket and kubeconfig are in `dir`, its output in <dir>/<name>.log.
   */
  async function startController(name: string, args: string[], env: Record<string, string> = {}): Promise<ManagedProcess> {
    const child = await startProgram({ name, component: 'csi-driver', args, env, paths: [dir], runDir: dir, logFile: join(dir, `${name}.log`) });
    controllers.push(child);
    return child;
  }

  /**
   * Starts the driver (csi/main.ts) from the work tree with `args`, its output in <dir>/<name>.log; `prefix` wraps the
   * command. The node plugin entered into the VM stays so: csi-sanity drives its node service directly, with staging and
   * target paths of its own, not as a kubelet would.
   */
  function startDriver(name: string, args: string[], prefix: string[]): ChildProcess {
    // The compiled driver by its absolute path: entered into the VM's namespaces the working directory is not ours.
    const command = [...prefix, process.execPath, compiledMain('csi/main.ts'), ...args];
    const child = spawn(command[0] ?? '', command.slice(1), { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KVCLOUD_CACHE: cacheDir() } });
    const log = createWriteStream(join(dir, `${name}.log`));
    child.stdout.pipe(log);
    child.stderr.pipe(log);
    children.push(child);
    return child;
  }

  /** A gRPC client of csi.v1.<service> at a unix socket, ready once the driver serves it. */
  function grpcClient(service: 'Identity' | 'Controller' | 'Node', socket: string): GrpcClient & Record<string, (req: object, cb: (err: ServiceError | null, res: unknown) => void) => void> {
    const def = loadSync(defaultCsiProtoPath({ KVCLOUD_CACHE: cacheDir() }), { keepCase: true, longs: Number, enums: String, defaults: false, oneofs: true });
    const pkg = loadPackageDefinition(def) as unknown as { csi: { v1: Record<string, new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => GrpcClient> } };
    const Ctor = pkg.csi.v1[service];
    if (!Ctor) throw new Error(`no csi.v1.${service}`);
    return new Ctor(`unix://${socket}`, credentials.createInsecure()) as never;
  }
  const call = <T>(c: ReturnType<typeof grpcClient>, rpc: string, req: object): Promise<T> =>
    new Promise((resolve, reject) => {
      const method = c[rpc];
      if (!method) {
        reject(new Error(`no rpc ${rpc}`));
        return;
      }
      method.call(c, req, (err, res) => {
        if (err) reject(err);
        else resolve(res as T);
      });
    });
  const codeOf = (p: Promise<unknown>): Promise<number> =>
    p.then(
      () => 0,
      (err: unknown) => (err as ServiceError).code,
    );

  describe('with the controller in the management cluster and the node plugin in the VM', () => {
    let controllerSocket: string;
    let nodeSocket: string;
    let controllerArgs: string[];
    let controllerProcess: ManagedProcess | undefined;
    /** The guest's process in the VM's launcher pod: the mount namespace the node plugin runs in. */
    let guestPid: number;

    before(async function () {
      this.timeout(300_000);
      client = suite.client;
      dir = suite.cluster.dir;
      const toolsStarted = Date.now();
      buildTool('csi-spec');
      buildTool('csi-sanity');
      timings.push(`csi-spec and csi-sanity present in ${since(toolsStarted)}`);

      const started = Date.now();
      simulator = await startKubevirtSimulator({
        kubeconfig: suite.cluster.plane.kubeConfig,
        log: createLogger({ level: 'info', component: 'kubevirt-simulator', destination: pino.destination({ dest: join(dir, 'kubevirt-simulator.log'), sync: true }) }),
        runtime: suite.cluster.runner,
        importDurationMs: 100,
      });
      ns = await createNamespace(client, 'csi-infra');
      // The tenant's storage budget, which GetCapacity reports; quota admission refuses claims until it is computed.
      await client.create<ResourceQuota>({ ...RESOURCE_QUOTA_TYPE, metadata: { name: TENANT_QUOTA, namespace: ns }, spec: { hard: { 'requests.storage': '100Gi', persistentvolumeclaims: '200' } } });
      await waitFor(async () => ((await getQuota(TENANT_QUOTA))?.status?.used?.['requests.storage'] !== undefined ? true : undefined), { timeoutMs: 60_000, what: `ResourceQuota ${TENANT_QUOTA} computed` });
      await client.create(virtualMachine(ns, 'worker'));
      const vmi = await waitFor(
        async () => {
          const v = await getVMI('worker');
          if (v?.status?.phase === 'Running' && v.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return v;
          throw new Error(`VMI phase=${v?.status?.phase ?? 'none'}`);
        },
        { timeoutMs: 120_000, what: 'VM worker running' },
      );
      timings.push(`simulator and a running VM in ${since(started)}`);

      const driverStarted = Date.now();
      controllerSocket = join(dir, 'csi-controller.sock');
      nodeSocket = join(dir, 'csi-node.sock');
      const kubeconfig = await controllerIdentity();
      controllerArgs = ['--endpoint', `unix://${controllerSocket}`, '--run-node-service=false', '--infra-cluster-namespace', ns, '--infra-cluster-kubeconfig', kubeconfig, '--infra-cluster-labels', TENANT_LABELS, '--cluster-name', CLUSTER];
      controllerProcess = await startController('csi-controller', controllerArgs);
      // The node plugin inside the VM: the guest's mount namespace (its /dev, /run/udev, its own mounts) and root.
      const pods = await client.list<Pod>(POD, { namespace: ns, labelSelector: `kubevirt.io/created-by=${vmi.metadata.uid ?? ''}`, direct: true });
      const launcher = pods.find((p) => p.status?.phase === 'Running');
      const pid = suite.cluster.runner.containerRun(ns, launcher?.metadata.name ?? '', 'compute')?.process.pid;
      if (pid === undefined) throw new Error('no guest process in the launcher pod');
      guestPid = pid;
      startDriver('csi-node', ['--endpoint', `unix://${nodeSocket}`, '--run-controller-service=false', '--node-id', `${ns}/worker`], ['nsenter', `--target=${String(pid)}`, '--mount', '--root']);
      for (const [name, socket] of [['csi-controller', controllerSocket], ['csi-node', nodeSocket]] as const) await probeReady(name, socket);
      timings.push(`controller and node plugin serving in ${since(driverStarted)}`);
    });

    /** Waits until the driver at `socket` answers Probe ready; a failure carries its log. */
    async function probeReady(name: string, socket: string): Promise<void> {
      const identity = grpcClient('Identity', socket);
      try {
        await waitFor(async () => ((await call<{ ready?: { value?: boolean } }>(identity, 'Probe', {})).ready?.value === true ? true : undefined), { timeoutMs: 30_000, what: `Probe ready at ${socket}` });
      } catch (err) {
        throw new Error(`${(err as Error).message}\n${name} log:\n${await readFile(join(dir, `${name}.log`), 'utf8').catch(() => '(none)')}`, { cause: err });
      } finally {
        identity.close();
      }
    }

    after(async function () {
      this.timeout(60_000);
      for (const child of children) child.kill('SIGTERM');
      await Promise.all(children.filter((c) => c.exitCode === null && c.signalCode === null).map((c) => new Promise((r) => c.once('exit', r))));
      await Promise.all(controllers.map((c) => c.stop()));
      await simulator?.stop();
      for (const t of timings) console.log(`      ${t}`);
    });

    /** Runs csi-sanity with volumes of `accessType` and checks its report; returns the node plugin's log. */
    async function sanity(accessType: 'mount' | 'block'): Promise<string> {
      const report = join(dir, `csi-sanity-${accessType}.json`);
      // Volumes of the simulator's expandable infra StorageClass: the apiserver resizes only claims of such a class.
      const parameters = join(dir, 'csi-sanity-parameters.yaml');
      await writeFile(parameters, stringify({ infraStorageClassName: EXPANDABLE_STORAGE_CLASS }));
      const sanityBin = join(cacheDir(), 'bin', `csi-sanity-${parseVersionsEnv(readFileSync(join(toolsDir, 'versions.env'), 'utf8')).get('CSI_TEST_VERSION') ?? ''}`, 'csi-sanity');
      const started = Date.now();
      const exit = await new Promise<number | null>((resolve) => {
        const sanity = spawn(
          sanityBin,
          [
            `--csi.endpoint=unix://${nodeSocket}`,
            `--csi.controllerendpoint=unix://${controllerSocket}`,
            `--csi.mountdir=${join(dir, 'sanity-target')}`,
            `--csi.stagingdir=${join(dir, 'sanity-staging')}`,
            `--csi.testvolumesize=${String(VOLUME_BYTES)}`,
            `--csi.testvolumeexpandsize=${String(2 * VOLUME_BYTES)}`,
            `--csi.testvolumeparameters=${parameters}`,
            `--csi.testvolumeaccesstype=${accessType}`,
            `--ginkgo.json-report=${report}`,
            '--ginkgo.timeout=200s',
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        const log = createWriteStream(join(dir, `csi-sanity-${accessType}.log`));
        sanity.stdout.pipe(log);
        sanity.stderr.pipe(log);
        sanity.once('exit', resolve);
      });
      const specs = (JSON.parse(await readFile(report, 'utf8')) as { SpecReports: SpecReport[] }[]).flatMap((r) => r.SpecReports).filter((s) => s.LeafNodeText !== '');
      const title = (s: SpecReport) => [...(s.ContainerHierarchyTexts ?? []), s.LeafNodeText].join(' / ');
      const passed = specs.filter((s) => s.State === 'passed');
      const failed = specs.filter((s) => s.State !== 'passed' && s.State !== 'skipped' && s.State !== 'pending');
      const skipped = specs.filter((s) => s.State === 'skipped');
      timings.push(`csi-sanity (${accessType}): ${String(passed.length)} passed, ${String(failed.length)} failed, ${String(skipped.length)} skipped in ${since(started)}`);
      const slowest = [...passed].sort((a, b) => b.RunTime - a.RunTime).slice(0, 3);
      for (const s of slowest) timings.push(`  slowest: ${title(s)} ${(s.RunTime / 1e9).toFixed(1)} s`);
      const reasons = new Map<string, number>();
      for (const s of skipped) {
        const message = (s.Failure?.Message ?? '').trim();
        reasons.set(message, (reasons.get(message) ?? 0) + 1);
      }
      for (const [message, n] of reasons) timings.push(`  skipped ${String(n)}x "${message}": ${JUSTIFIED_SKIPS[message] ?? 'UNJUSTIFIED'}`);

      for (const s of failed) console.log(`      FAILED ${title(s)}: ${(s.Failure?.Message ?? s.State).slice(0, 600)}`);
      expect(failed.map(title), 'csi-sanity failures (printed above)').to.deep.equal([]);
      expect([...reasons.keys()].filter((m) => !(m in JUSTIFIED_SKIPS)), 'skips not justified by a capability the driver does not advertise').to.deep.equal([]);
      expect(exit).to.equal(0);
      // The publish, stage and lifecycle cases ran (they need the hot-plug and the guest's disk), not skipped.
      expect(passed.map(title).filter((t) => /Node Service .*should work|volume lifecycle .*should be idempotent/.test(t))).to.have.length.greaterThan(1);
      // Expansion ran on both sides: the controller grew the infra claim, the node the volume published in the VM.
      expect(passed.map(title).filter((t) => /ExpandVolume \[Controller Server\] .*should work|node-expand is called after node-publish/.test(t))).to.have.length(2);

      const left = await client.list<DataVolume>(DATA_VOLUME_TYPE, { namespace: ns, direct: true });
      expect(left.map((d) => d.metadata.name)).to.deep.equal([]);
      // The snapshot and clone cases ran, and their infra snapshots went with them.
      expect(passed.map(title).filter((t) => /CreateSnapshot .*should succeed when requesting to create a snapshot with already existing name and same source volume ID|should create volume from an existing source snapshot|should create volume from an existing source volume/.test(t))).to.have.length(3);
      // GET_CAPACITY (against the namespace's quota), the controller's volume health (one volume, the list) and the node's
      // (no ID, a published volume): their six cases ran.
      expect(passed.map(title).filter((t) => /GetCapacity \/|ControllerGetVolumeHealth|ControllerListVolumeHealth|NodeGetVolumeHealth/.test(t))).to.have.length(6);
      // GET_SNAPSHOT: its three cases (no ID, a target among unrelated snapshots, an ID that names nothing) ran.
      expect(passed.map(title).filter((t) => t.includes('GetSnapshot [Controller Server]'))).to.have.length(3);
      expect((await client.list<VolumeSnapshot>(VOLUME_SNAPSHOT_TYPE, { namespace: ns, direct: true })).map((v) => v.metadata.name)).to.deep.equal([]);
      const vmi = await getVMI('worker');
      expect(vmi?.status?.volumeStatus ?? []).to.deep.equal([]);
      return readFile(join(dir, 'csi-node.log'), 'utf8');
    }

    it('passes every csi-sanity case that applies to Filesystem volumes, skipping only what it does not advertise, and leaves nothing behind', async function () {
      this.timeout(240_000);
      const nodeLog = await sanity('mount');
      // The node plugin in the VM found the hot-plugged disks, formatted and mounted them.
      expect(nodeLog).to.include('"msg":"formatted volume"').and.include('"msg":"staged volume"').and.include('"msg":"published volume"');
    });

    it('passes every csi-sanity case that applies to raw Block volumes, the device itself published into the target', async function () {
      this.timeout(240_000);
      await sanity('block');
    });


    it("refuses another tenant's DataVolume and node IDs outside the namespace, and answers a concurrent publish with ABORTED", async function () {
      this.timeout(120_000);
      const controller = grpcClient('Controller', controllerSocket);
      const cap = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
      // Another tenant's volume in the same infra namespace: no tenant labels.
      await client.create<DataVolume>({ ...DATA_VOLUME_TYPE, metadata: { name: 'foreign', namespace: ns, labels: { 'csi-driver/tenant': 'other' } }, spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '64Mi' } } } } });
      expect(await codeOf(call(controller, 'ControllerPublishVolume', { volume_id: 'foreign', node_id: `${ns}/worker`, volume_capability: cap }))).to.equal(5); // NOT_FOUND
      expect(await codeOf(call(controller, 'CreateVolume', { name: 'foreign', volume_capabilities: [cap] }))).to.equal(6); // ALREADY_EXISTS
      expect(await codeOf(call(controller, 'DeleteVolume', { volume_id: 'foreign' }))).to.equal(0);
      expect(await client.get(DATA_VOLUME_TYPE, { namespace: ns, name: 'foreign' }, { direct: true })).to.not.equal(undefined);
      expect(await codeOf(call(controller, 'ValidateVolumeCapabilities', { volume_id: 'foreign', volume_capabilities: [cap] }))).to.equal(5);
      await client.delete(DATA_VOLUME_TYPE, { namespace: ns, name: 'foreign' });

      const created = await call<{ volume: { volume_id: string; capacity_bytes: number; volume_context: Record<string, string> } }>(controller, 'CreateVolume', {
        name: 'pvc-isolation',
        volume_capabilities: [cap],
        capacity_range: { required_bytes: VOLUME_BYTES + 512 },
        parameters: { bus: 'virtio' },
      });
      expect(created.volume.capacity_bytes).to.equal(VOLUME_BYTES + 512);
      const dv = await client.get<DataVolume>(DATA_VOLUME_TYPE, { namespace: ns, name: 'pvc-isolation' }, { direct: true });
      expect(dv?.metadata.labels).to.deep.equal({ 'csi-driver/tenant': 'acme' });
      expect(created.volume.volume_context).to.deep.equal({ bus: 'virtio', serial: dv?.metadata.uid });
      // A node ID naming a VM of another namespace reaches nothing.
      expect(await codeOf(call(controller, 'ControllerPublishVolume', { volume_id: 'pvc-isolation', node_id: 'kube-system/worker', volume_capability: cap }))).to.equal(5);

      const publish = { volume_id: 'pvc-isolation', node_id: `${ns}/worker`, volume_capability: cap, volume_context: created.volume.volume_context };
      const started = Date.now();
      const [first, second] = await Promise.all([codeOf(call(controller, 'ControllerPublishVolume', publish)), codeOf(call(controller, 'ControllerPublishVolume', publish))]);
      expect([first, second].sort()).to.deep.equal([0, 10]); // OK and ABORTED
      timings.push(`ControllerPublish (virtio hot-plug to Ready) in ${since(started)}`);
      expect((await getVMI('worker'))?.status?.volumeStatus?.filter((s) => s.name === 'pvc-isolation')).to.have.length(1);
      expect(await codeOf(call(controller, 'ControllerPublishVolume', publish))).to.equal(0); // idempotent
      expect(await codeOf(call(controller, 'DeleteVolume', { volume_id: 'pvc-isolation' }))).to.equal(9); // FAILED_PRECONDITION while attached
      expect(await codeOf(call(controller, 'ControllerUnpublishVolume', { volume_id: 'pvc-isolation', node_id: `${ns}/worker` }))).to.equal(0);
      expect(await codeOf(call(controller, 'ControllerUnpublishVolume', { volume_id: 'pvc-isolation', node_id: `${ns}/gone-vm` }))).to.equal(0);
      expect(await codeOf(call(controller, 'DeleteVolume', { volume_id: 'pvc-isolation' }))).to.equal(0);
      controller.close();
    });

    it("picks the infra snapshot class by storageSnapshotMapping for the claim's StorageClass, refusing an unmapped one before creating anything", async function () {
      this.timeout(120_000);
      // A second controller of the same tenant with upstream's restricted policy, as the driver-config ConfigMap gives it.
      const socket = join(dir, 'csi-controller-mapping.sock');
      const policy = `allowList: [${EXPANDABLE_STORAGE_CLASS}]\nstorageSnapshotMapping:\n- storageClasses: [${EXPANDABLE_STORAGE_CLASS}]\n  volumeSnapshotClasses: [mapped-snap]\n`;
      const args = controllerArgs.map((a) => (a === `unix://${controllerSocket}` ? `unix://${socket}` : a));
      const mappingController = await startController('csi-controller-mapping', args, { INFRA_STORAGE_CLASS_ENFORCEMENT: policy });
      try {
        await probeReady('csi-controller-mapping', socket);
        const controller = grpcClient('Controller', socket);
        const cap = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
        await call(controller, 'CreateVolume', { name: 'pvc-mapping', volume_capabilities: [cap], parameters: { infraStorageClassName: EXPANDABLE_STORAGE_CLASS } });
        const unmapped = await call(controller, 'CreateSnapshot', { name: 'snap-unmapped', source_volume_id: 'pvc-mapping', parameters: { infraSnapshotClassName: 'other-snap' } }).then(
          () => undefined,
          (err: unknown) => err as ServiceError,
        );
        expect([unmapped?.code, unmapped?.details]).to.deep.equal([
          3, // INVALID_ARGUMENT
          `infra VolumeSnapshotClass other-snap does not go with infra StorageClass ${EXPANDABLE_STORAGE_CLASS}: infraSnapshotClassName must be one of mapped-snap (INFRA_STORAGE_CLASS_ENFORCEMENT storageSnapshotMapping)`,
        ]);
        expect(await client.get(VOLUME_SNAPSHOT_TYPE, { namespace: ns, name: 'snap-unmapped' }, { direct: true })).to.equal(undefined);
        await call(controller, 'CreateSnapshot', { name: 'snap-mapped', source_volume_id: 'pvc-mapping', parameters: { infraSnapshotClassName: 'mapped-snap' } });
        const vs = await client.get<VolumeSnapshot>(VOLUME_SNAPSHOT_TYPE, { namespace: ns, name: 'snap-mapped' }, { direct: true });
        expect(vs?.spec.volumeSnapshotClassName).to.equal('mapped-snap');
        expect(await codeOf(call(controller, 'DeleteSnapshot', { snapshot_id: 'snap-mapped' }))).to.equal(0);
        expect(await codeOf(call(controller, 'DeleteVolume', { volume_id: 'pvc-mapping' }))).to.equal(0);
        controller.close();
      } finally {
        await mappingController.stop();
      }
    });

    it('reports published nodes and health per volume, abnormal for a failed DataVolume and a read-only or unplugged disk, and the capacity the quotas leave', async function () {
      this.timeout(180_000);
      const controller = grpcClient('Controller', controllerSocket);
      const node = grpcClient('Node', nodeSocket);
      const cap = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
      const params = { infraStorageClassName: EXPANDABLE_STORAGE_CLASS };
      const capacity = async (parameters: Record<string, string>) => (await call<{ available_capacity?: number }>(controller, 'GetCapacity', { parameters })).available_capacity ?? 0;
      /** Waits until GetCapacity answers `want`: the quota controller recomputes usage after a claim goes. */
      const capacityBecomes = (parameters: Record<string, string>, want: number, what: string) =>
        waitFor(async () => {
          const got = await capacity(parameters);
          if (got !== want) throw new Error(`GetCapacity ${String(got)}, want ${String(want)}`);
          return got;
        }, { timeoutMs: 60_000, what });

      // The namespace's quota bounds every class; a class quota bounds its class, and the default class too, whose name
      // this Role may not read (a lower bound: the volume surely fits).
      await capacityBecomes(params, 100 * GI, 'the namespace quota whole once sanity\'s volumes are gone');
      const classKey = `${EXPANDABLE_STORAGE_CLASS}.storageclass.storage.k8s.io/requests.storage`;
      await client.create<ResourceQuota>({ ...RESOURCE_QUOTA_TYPE, metadata: { name: 'class-storage', namespace: ns }, spec: { hard: { [classKey]: '1Gi' } } });
      await capacityBecomes(params, GI, 'the class quota');
      expect(await capacity({})).to.equal(GI);
      const created = await call<{ volume: { volume_id: string; volume_context: Record<string, string> } }>(controller, 'CreateVolume', { name: 'pvc-health', volume_capabilities: [cap], capacity_range: { required_bytes: 256 * 1024 * 1024 }, parameters: params });
      await capacityBecomes(params, GI - 256 * 1024 * 1024, 'the class quota less the new volume');

      const unpublished = await call<GetVolume>(controller, 'ControllerGetVolume', { volume_id: 'pvc-health' });
      expect(unpublished.volume).to.deep.include({ volume_id: 'pvc-health', volume_context: created.volume.volume_context });
      expect(unpublished.status.published_node_ids ?? []).to.deep.equal([]);
      const published = await call<{ publish_context: Record<string, string> }>(controller, 'ControllerPublishVolume', { volume_id: 'pvc-health', node_id: `${ns}/worker`, volume_capability: cap, volume_context: created.volume.volume_context });
      const got = await call<GetVolume>(controller, 'ControllerGetVolume', { volume_id: 'pvc-health' });
      expect(got.volume.capacity_bytes).to.equal(256 * 1024 * 1024);
      expect(got.status.published_node_ids).to.deep.equal([`${ns}/worker`, 'worker']);
      const listed = await call<{ entries: GetVolume[] }>(controller, 'ListVolumes', {});
      expect(listed.entries.find((e) => e.volume.volume_id === 'pvc-health')?.status).to.deep.equal(got.status);
      const reasons = (h: Health) => (h.volume_health.health_statuses ?? []).map((e) => `${e.status}/${e.reason}`);
      expect(reasons(await call<Health>(controller, 'ControllerGetVolumeHealth', { volume_id: 'pvc-health' }))).to.deep.equal([]);

      // The node: healthy where staged and published; DEGRADED once the filesystem turns read-only under the read-write
      // publish; INACCESSIBLE once the disk leaves the VM.
      const staging = join(dir, 'health-staging');
      const target = join(dir, 'health-target');
      const nodeReq = { volume_id: 'pvc-health', publish_context: published.publish_context, volume_context: created.volume.volume_context, volume_capability: cap };
      await call(node, 'NodeStageVolume', { ...nodeReq, staging_target_path: staging });
      await call(node, 'NodePublishVolume', { ...nodeReq, staging_target_path: staging, target_path: target });
      const nodeHealth = () => call<Health>(node, 'NodeGetVolumeHealth', { volume_id: 'pvc-health', volume_publish_path: target, staging_target_path: staging });
      expect(reasons(await nodeHealth())).to.deep.equal([]);
      await promisify(execFile)('nsenter', [`--target=${String(guestPid)}`, '--mount', '--', 'mount', '-o', 'remount,ro', staging]);
      expect(reasons(await nodeHealth())).to.deep.equal(['DEGRADED/FilesystemReadOnly']);
      await call(controller, 'ControllerUnpublishVolume', { volume_id: 'pvc-health', node_id: `${ns}/worker` });
      const gone = await waitFor(async () => {
        const h = await nodeHealth();
        if (!reasons(h).includes('INACCESSIBLE/DeviceGone')) throw new Error(`node health ${JSON.stringify(h.volume_health.health_statuses)}`);
        return h;
      }, { timeoutMs: 30_000, what: 'the unplugged disk reported gone by the node' });
      timings.push(`node health once unplugged: ${JSON.stringify(gone.volume_health.health_statuses)}`);
      expect((await call<GetVolume>(controller, 'ControllerGetVolume', { volume_id: 'pvc-health' })).status.published_node_ids ?? []).to.deep.equal([]);
      await call(node, 'NodeUnpublishVolume', { volume_id: 'pvc-health', target_path: target });
      await call(node, 'NodeUnstageVolume', { volume_id: 'pvc-health', staging_target_path: staging });

      // A DataVolume whose import failed: INACCESSIBLE, with CDI's reason, in both health RPCs; the healthy volume in neither.
      await client.create<DataVolume>({
        ...DATA_VOLUME_TYPE,
        metadata: { name: 'pvc-failed', namespace: ns, labels: { 'csi-driver/tenant': 'acme' } },
        spec: { source: { http: { url: 'http://disk.invalid/disk.img' } }, storage: { storageClassName: EXPANDABLE_STORAGE_CLASS, resources: { requests: { storage: '64Mi' } } } },
      });
      await waitFor(async () => ((await client.get<DataVolume>(DATA_VOLUME_TYPE, { namespace: ns, name: 'pvc-failed' }, { direct: true }))?.status?.phase === 'Failed' ? true : undefined), { timeoutMs: 60_000, what: 'DataVolume pvc-failed Failed' });
      const failed = await call<Health>(controller, 'ControllerGetVolumeHealth', { volume_id: 'pvc-failed' });
      expect(reasons(failed)).to.deep.equal(['INACCESSIBLE/DataVolumeFailed']);
      expect(failed.volume_health.health_statuses?.[0]?.message).to.include(`infra DataVolume ${ns}/pvc-failed failed`).and.include('no such host');
      const abnormal = await call<{ entries?: Health['volume_health'][] }>(controller, 'ControllerListVolumeHealth', {});
      expect((abnormal.entries ?? []).map((e) => e.volume_id)).to.deep.equal(['pvc-failed']);
      // Another tenant's DataVolume is not found, as a missing one.
      await client.create<DataVolume>({ ...DATA_VOLUME_TYPE, metadata: { name: 'foreign-health', namespace: ns, labels: { 'csi-driver/tenant': 'other' } }, spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '64Mi' } } } } });
      for (const rpc of ['ControllerGetVolume', 'ControllerGetVolumeHealth']) expect(await codeOf(call(controller, rpc, { volume_id: 'foreign-health' })), rpc).to.equal(5);
      await client.delete(DATA_VOLUME_TYPE, { namespace: ns, name: 'foreign-health' });
      for (const id of ['pvc-failed', 'pvc-health']) expect(await codeOf(call(controller, 'DeleteVolume', { volume_id: id }))).to.equal(0);

      // No quota bounds the bytes: the capacity is unknown, which CSI cannot say but by an error naming the fix.
      for (const name of ['class-storage', TENANT_QUOTA]) await client.delete(RESOURCE_QUOTA_TYPE, { namespace: ns, name });
      const unbounded = await call(controller, 'GetCapacity', { parameters: params }).then(
        () => undefined,
        (err: unknown) => err as ServiceError,
      );
      expect(unbounded?.code).to.equal(9); // FAILED_PRECONDITION
      expect(unbounded?.details).to.include(`no ResourceQuota in the infra namespace ${ns} limits requests.storage`);
      controller.close();
      node.close();
    });

    isolationCases(() => ({
      infra: client,
      ns,
      vm: 'worker',
      dir,
      controller: async <T>(rpc: string, req: object): Promise<T> => {
        const c = grpcClient('Controller', controllerSocket);
        try {
          return await call<T>(c, rpc, req);
        } finally {
          c.close();
        }
      },
      codeOf,
      virtualMachine,
      killController: async () => {
        const child = controllerProcess;
        if (!child?.running) throw new Error('no running controller to kill');
        process.kill(child.pid, 'SIGKILL');
        await child.exited;
      },
      startController: async (logName) => {
        controllerProcess = await startController(logName, controllerArgs);
        await probeReady(logName, controllerSocket);
      },
      timings,
    }));
  });
});
