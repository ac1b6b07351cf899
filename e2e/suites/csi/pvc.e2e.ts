// Tenant PVCs end to end, driven only by the real CSI sidecars and the guest kubelet: two worker VirtualMachines
// (KubeVirt simulator) joined to a real tenant control plane; kvcloud's CSI controller runs as a process against
// the management cluster (infra) and the tenant, with external-provisioner, external-attacher and external-resizer
// built from their Go modules, which reach the tenant only as the ServiceAccount the controller gives them a
// kubeconfig for (its RBAC is config/csi/tenant's, so every case below proves it is enough). The node plugin runs in
// each VM as config/csi/tenant's DaemonSet, which the controller applies: a privileged pod of the guest kubelet, its
// staging and publish mounts reaching the guest through its Bidirectional /var/lib/kubelet, registered with the guest
// kubelet through /var/lib/kubelet/plugins_registry by the DaemonSet's node-driver-registrar container (its local
// stand-in). A PVC becomes a DataVolume, the attach-detach controller's VolumeAttachment a hot-plug, and the guest
// kubelet stages and publishes the disk into the pod. The controller runs with --topology: each node plugin reports
// its tenant Node's zone, and a volume of a zonal infra StorageClass is placed in its zone (csi/controller/topology.ts).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { parseAllDocuments, stringify } from 'yaml';
import type { DataVolume } from '../../../lib/apis/cdi.js';
import type { NodeSelectorTerm } from '../../../lib/apis/core.js';
import type { VirtualMachineInstance } from '../../../lib/apis/kubevirt.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { buildTool, cacheDir } from '../../../localcloud/binaries.js';
import { TEST_SHELL_IMAGE } from '../../../localcloud/cluster/images.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import type { Node } from '../../../localcloud/node-object.js';
import { startProgram } from '../../../localcloud/cluster/image-process.js';
import { ManagedProcess } from '../../../localcloud/process.js';
import { parseVersionsEnv, toolsDir } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { buildCsiManifest } from '../../../packaging/release-manifests.js';
import { PROVISIONER } from '../../../simulators/kubevirt/persistent-volume.js';
import { guestPid } from '../../harness/guest-node-plugin.js';
import { loggedMetricsUrl, writeRequests } from '../../harness/write-requests.js';
import { startTenantNodes, type TenantNodes } from '../../harness/tenant-nodes.js';
import { stepTimer } from '../../harness/step-timer.js';
import { growsAMountedFilesystem } from './expansion.js';
import { CAPACITY_NAMESPACE, capacityRbac, tracksCapacityOfTheTenantBudget } from './capacity-tracking.js';
import { controllerInfraKubeconfig, INFRA_NS } from '../../harness/csi-controller-identity.js';
import { PREVENT_VOLUME_MODE_CONVERSION, snapshotTests, startSnapshotSidecars } from './snapshots.js';
import { completedPodLog } from '../../harness/pod-completion.js';

const run = promisify(execFile);
const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CLUSTER = 'acme';
const VMS = ['csi-a', 'csi-b'];
/**
 * The tenant Nodes' zones, labelled as the CCM labels them from their infra Nodes (ccm.e2e.ts proves that part; no
 * CCM runs here, and the management cluster has one infra Node): the driver reads only the tenant Nodes' labels.
 */
const ZONES: Record<string, string> = { 'csi-a': 'zone-a', 'csi-b': 'zone-b' };
const ZONE_KEY = 'topology.kubernetes.io/zone';
const DRIVER = 'csi.kubevirt.io';
const TENANT_LABELS = 'csi-driver/tenant=acme';
/** The DaemonSet's pods' logs in the guest (the guest kubelet's pod runner keeps them there). */
const NODE_PLUGIN_LOGS = '/var/lib/kubelet/logs';
const TENANT_MANIFESTS = (dir: string) => join(dir, 'csi-tenant.yaml');
/** Where the controller keeps the sidecars' kubeconfig (--sidecar-kubeconfig-dir), as the template's emptyDir. */
const SIDECAR_CREDENTIALS = (dir: string) => join(dir, 'csi-sidecars');
/** Where snapshot-controller's credentials process keeps its kubeconfig, as the template's snapshot-controller Pod. */
const SNAPSHOT_CONTROLLER_CREDENTIALS = (dir: string) => join(dir, 'snapshot-controller-credentials');

interface PersistentVolumeClaim extends KubeObject {
  spec: { volumeName?: string };
  status?: { phase?: string };
}
interface PersistentVolume extends KubeObject {
  spec: { csi?: { driver: string; volumeHandle: string }; nodeAffinity?: { required?: { nodeSelectorTerms: NodeSelectorTerm[] } } };
}
interface VolumeAttachment extends KubeObject {
  spec: { nodeName: string; source: { persistentVolumeName?: string } };
  status?: { attached?: boolean };
}
interface CSINode extends KubeObject {
  spec: { drivers: { name: string; nodeID: string; topologyKeys: string[] | null }[] | null };
}

describe('CSI: tenant PVCs through the real sidecars and the guest kubelet', function () {
  let fixture: TenantNodes | undefined;
  const processes: ManagedProcess[] = [];
  let mgmt: string;
  let admin: string;
  let dir: string;
  /** The sidecars' kubeconfig, as the controller writes it for their tenant ServiceAccount. */
  let sidecars: string;
  const guestPids = new Map<string, number>();
  /** Every volume handle (DataVolume name, hot-plugged volume name) the suite created. */
  const handles: string[] = [];
  const { timings, timed } = stepTimer();
  const getJSON = async <T>(kubeconfig: string, args: string[]) => JSON.parse(await kubectl(kubeconfig, ['get', ...args, '-o', 'json'])) as T;
  /** The last lines of each VM's node plugin pod's latest run. */
  const nodePluginLogs = () =>
    [...guestPids].flatMap(([vm, pid]) => {
      const logsDir = `/proc/${String(pid)}/root${NODE_PLUGIN_LOGS}`;
      const pod = (existsSync(logsDir) ? readdirSync(logsDir) : []).find((d) => d.startsWith('kubevirt-csi-driver_kubevirt-csi-node-'));
      const runsDir = join(logsDir, pod ?? '-', 'csi-driver');
      const last = (existsSync(runsDir) ? readdirSync(runsDir) : []).sort((a, b) => parseInt(a, 10) - parseInt(b, 10)).at(-1);
      return last ? [`csi-node on ${vm} (run ${last}):\n${readFileSync(join(runsDir, last), 'utf8').trim().split('\n').slice(-8).join('\n')}`] : [`csi-node on ${vm}: no pod log yet`];
    });
  const logs = () => [...processes.map((p) => `${p.spec.name}:\n${p.logTail(8)}`), ...nodePluginLogs()].join('\n');

  const versions = parseVersionsEnv(readFileSync(join(toolsDir, 'versions.env'), 'utf8'));
  const sidecar = (name: string, key: string) => join(cacheDir(), 'bin', `${name}-${versions.get(key) ?? ''}`, name);

  function start(name: string, command: string, args: string[], env: Record<string, string> = {}): Promise<ManagedProcess> {
    return ManagedProcess.start({ name, command, args, cwd: REPO, logFile: join(dir, `${name}.log`), env: { KVCLOUD_CACHE: cacheDir(), ...env } }).then((p) => {
      processes.push(p);
      return p;
    });
  }

  /**
   * kvcloud's driver as a plain process, the way the local cloud starts it (from its image in image mode): every file
   * it is handed (kubeconfigs, manifests, its socket and the kubeconfigs it keeps) is in the run's directory, except
   * the tenant's admin kubeconfig and the infra one, bound at their paths.
   */
  async function startDriver(name: string, args: string[], files: string[]): Promise<ManagedProcess> {
    const p = await startProgram({ name, component: 'csi-driver', args, paths: [dir, ...files.filter((f) => !f.startsWith(`${dir}/`))], runDir: dir, logFile: join(dir, `${name}.log`) });
    processes.push(p);
    return p;
  }

  /** The VM's mounts of CSI volumes (staging and publish targets), from the guest's mount namespace. */
  const csiMounts = (vm: string) => readFileSync(`/proc/${String(guestPids.get(vm))}/mountinfo`, 'utf8').split('\n').filter((l) => /kubernetes\.io[/~]csi/.test(l));
  const inGuest = (vm: string, command: string[]) => run('nsenter', [`--target=${String(guestPids.get(vm))}`, '--mount', '--root', ...command]);

  const pod = (name: string, node: string, script: string, volume: { claim: string; mountPath?: string; devicePath?: string }) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default' },
    spec: {
      restartPolicy: 'Never',
      nodeSelector: { 'kubernetes.io/hostname': node },
      containers: [
        {
          name: 'main',
          image: TEST_SHELL_IMAGE,
          command: ['/bin/sh', '-c', script],
          ...(volume.mountPath ? { volumeMounts: [{ name: 'data', mountPath: volume.mountPath }] } : {}),
          ...(volume.devicePath ? { volumeDevices: [{ name: 'data', devicePath: volume.devicePath }] } : {}),
        },
      ],
      volumes: [{ name: 'data', persistentVolumeClaim: { claimName: volume.claim } }],
    },
  });
  const claim = (name: string, volumeMode: 'Filesystem' | 'Block') => ({
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name, namespace: 'default' },
    spec: { accessModes: ['ReadWriteOnce'], volumeMode, storageClassName: 'kubevirt', resources: { requests: { storage: '64Mi' } } },
  });
  const apply = (objects: object[]) => kubectl(admin, ['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));

  /** Runs the pod to completion and returns its log. */
  const completed = (name: string) => completedPodLog(admin, name, { timeoutMs: 150_000, diagnostics: logs });

  const deletePod = (name: string) => kubectl(admin, ['delete', 'pod', name, '--wait=true', '--timeout=90s']);
  const boundPV = async (name: string) => {
    const pvc = await waitFor(
      async () => {
        const c = await getJSON<PersistentVolumeClaim>(admin, ['pvc', name]);
        if (c.status?.phase === 'Bound' && c.spec.volumeName) return c;
        throw new Error(`pvc ${name} ${c.status?.phase ?? '?'}\n${logs()}`);
      },
      { timeoutMs: 60_000, what: `pvc ${name} bound` },
    );
    return getJSON<PersistentVolume>(admin, ['pv', pvc.spec.volumeName ?? '']);
  };

  /** The kubeconfig in `credentials`, once the driver has found its ServiceAccount and requested a token for it. */
  const keptKubeconfig = (credentials: string) =>
    waitFor(
      () => {
        const path = join(credentials, 'kubeconfig');
        if (existsSync(path) && existsSync(join(credentials, 'token'))) return Promise.resolve(path);
        throw new Error(`no ${path} yet\n${logs()}`);
      },
      { timeoutMs: 60_000, what: `the kubeconfig the driver keeps in ${credentials}` },
    );
  /** Whether the tenant lets `kubeconfig`'s user do `verb` on `resource` (a SelfSubjectAccessReview). */
  const allowed = async (kubeconfig: string, verb: string, resource: string, group = '', namespace?: string) => {
    const review = { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb, resource, group, ...(namespace ? { namespace } : {}) } } };
    return (JSON.parse(await kubectl(kubeconfig, ['create', '--validate=false', '-o', 'json', '-f', '-'], JSON.stringify(review))) as { status: { allowed: boolean } }).status.allowed;
  };


  before(async function () {
    this.timeout(8 * 60_000);
    await timed('CSI protocol files and sidecars present', () => {
      for (const tool of ['csi-spec', 'csi-registration', 'csi-provisioner', 'csi-attacher', 'csi-resizer', 'csi-snapshotter']) buildTool(tool);
      return Promise.resolve();
    });
    const nodes = await timed('two VirtualMachines joined as tenant Nodes', () => startTenantNodes({ clusterName: CLUSTER, vms: VMS, namespace: INFRA_NS, virtualMachines: true }));
    fixture = nodes;
    ({ mgmt, admin } = nodes);
    dir = fixture.cluster.dir;
    // The node plugin's pods reach the tenant's apiserver at its Service, through the VMs' kube-proxy.
    await timed('kube-proxy and CoreDNS running on the VMs', () => nodes.installAddons());
    const runner = fixture.cluster.runner;
    const socket = join(dir, 'csi-controller.sock');
    await timed('controller, external-provisioner, external-attacher started; node DaemonSet applied', async () => {
      const infra = await controllerInfraKubeconfig(mgmt, dir);
      // The Nodes as the CCM (zone) and Cluster API's Machine controller (infra namespace) leave them, before the node
      // plugin's pods read theirs for the node ID and topology.
      for (const vm of VMS) {
        await kubectl(admin, ['label', 'node', vm, `${ZONE_KEY}=${ZONES[vm] ?? ''}`]);
        await kubectl(admin, ['annotate', 'node', vm, `cluster.x-k8s.io/cluster-namespace=${INFRA_NS}`]);
        guestPids.set(vm, guestPid(runner, INFRA_NS, vm));
      }
      // The tenant side as the template hands it over (config/csi/tenant), node DaemonSet included, applied and kept by
      // the controller.
      const tenantObjects = parseAllDocuments(await buildCsiManifest('config/csi/tenant')).map((d) => d.toJS() as KubeObject);
      writeFileSync(TENANT_MANIFESTS(dir), tenantObjects.map((o) => stringify(o)).join('---\n'));
      // --cluster-name: the VMs carry Cluster API's cluster-name label, as CAPK's do, and only those are published to.
      await startDriver('csi-controller', [
        `--endpoint=unix://${socket}`, '--run-node-service=false', `--infra-cluster-namespace=${INFRA_NS}`, `--infra-cluster-kubeconfig=${infra}`, `--infra-cluster-labels=${TENANT_LABELS}`,
        `--cluster-name=${CLUSTER}`, `--tenant-cluster-kubeconfig=${admin}`, `--tenant-manifests=${TENANT_MANIFESTS(dir)}`, '--metrics-bind-address=127.0.0.1:0',
        `--sidecar-kubeconfig-dir=${SIDECAR_CREDENTIALS(dir)}`, '--topology=true',
      ], [admin, infra]);
      sidecars = await keptKubeconfig(SIDECAR_CREDENTIALS(dir));
      // snapshot-controller's: a driver process with neither service, as in the template's snapshot-controller Pod.
      await startDriver('snapshot-controller-credentials', [
        '--run-controller-service=false', '--run-node-service=false', `--tenant-cluster-kubeconfig=${admin}`,
        `--sidecar-kubeconfig-dir=${SNAPSHOT_CONTROLLER_CREDENTIALS(dir)}`, '--sidecar-service-account=kubevirt-csi-driver/kubevirt-csi-snapshot-controller-sa',
      ], [admin]);
      const snapshotController = await keptKubeconfig(SNAPSHOT_CONTROLLER_CREDENTIALS(dir));
      // Longer than a hot-plug takes: a timed-out publish would be retried while the first still runs (ABORTED).
      // Retries capped at 10 s: the volume-mode proof waits for a refused restore to be retried.
      // Capacity tracking as csi/README.md turns it on (capacity-tracking.ts): the provisioner publishes CSIStorageCapacity
      // objects for WaitForFirstConsumer classes only, so the other cases' Immediate classes are untouched.
      await start(
        'csi-provisioner',
        sidecar('csi-provisioner', 'EXTERNAL_PROVISIONER_VERSION'),
        [`--csi-address=${socket}`, `--kubeconfig=${sidecars}`, '--timeout=120s', '--v=3', PREVENT_VOLUME_MODE_CONVERSION, '--retry-interval-max=10s', '--enable-capacity', '--capacity-ownerref-level=-1', '--capacity-poll-interval=5s'],
        { NAMESPACE: CAPACITY_NAMESPACE },
      );
      await start('csi-attacher', sidecar('csi-attacher', 'EXTERNAL_ATTACHER_VERSION'), [`--csi-address=${socket}`, `--kubeconfig=${sidecars}`, '--timeout=120s', '--v=3']);
      await start('csi-resizer', sidecar('csi-resizer', 'EXTERNAL_RESIZER_VERSION'), [`--csi-address=${socket}`, `--kubeconfig=${sidecars}`, '--timeout=120s', '--v=3']);
      await startSnapshotSidecars({ admin, sidecars, snapshotController, socket, version: versions.get('EXTERNAL_SNAPSHOTTER_VERSION') ?? '', start });
    });
    await timed('CSIDriver and StorageClass applied by the controller', () =>
      waitFor(
        async () => {
          const names = (await getJSON<{ items: KubeObject[] }>(admin, ['csidrivers,storageclasses'])).items.map((o) => `${o.kind ?? ''} ${o.metadata.name ?? ''}`);
          if (names.includes(`CSIDriver ${DRIVER}`) && names.includes('StorageClass kubevirt')) return true;
          throw new Error(`tenant has ${names.join(', ') || 'neither'}\n${logs()}`);
        },
        { timeoutMs: 60_000, what: `CSIDriver ${DRIVER} and StorageClass kubevirt in the tenant` },
      ),
    );
    await apply(capacityRbac('kubevirt-csi-controller-sa'));
  });

  after(async function () {
    this.timeout(3 * 60_000);
    for (const p of processes.reverse()) await p.stop();
    await fixture?.stop();
    for (const t of timings) console.log(`      ${t}`);
  });

  it("runs the sidecars and snapshot-controller as their tenant ServiceAccounts, with what their RBAC grants and nothing of the tenant admin's", async function () {
    this.timeout(30_000);
    const whoami = async (kubeconfig: string) =>
      (JSON.parse(await kubectl(kubeconfig, ['create', '--validate=false', '-o', 'json', '-f', '-'], JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }))) as { status: { userInfo: { username: string } } }).status.userInfo.username;
    const snapshotController = join(SNAPSHOT_CONTROLLER_CREDENTIALS(dir), 'kubeconfig');
    expect([await whoami(sidecars), await whoami(snapshotController)]).to.deep.equal(['system:serviceaccount:kubevirt-csi-driver:kubevirt-csi-controller-sa', 'system:serviceaccount:kubevirt-csi-driver:kubevirt-csi-snapshot-controller-sa']);
    for (const kubeconfig of [sidecars, snapshotController]) expect(readFileSync(kubeconfig, 'utf8'), `the admin credentials in ${kubeconfig}`).to.not.match(/client-key|client-certificate/);
    expect(await allowed(snapshotController, 'create', 'volumesnapshotcontents', 'snapshot.storage.k8s.io'), 'snapshot-controller creates contents').to.equal(true);
    expect(await allowed(snapshotController, 'create', 'persistentvolumes'), 'snapshot-controller creates no PVs').to.equal(false);
    const checks: [verb: string, resource: string, group: string, namespace: string | undefined, want: boolean][] = [
      ['create', 'persistentvolumes', '', undefined, true],
      ['patch', 'volumeattachments', 'storage.k8s.io', undefined, true],
      ['patch', 'persistentvolumeclaims/status', '', 'default', true],
      ['update', 'volumesnapshotcontents', 'snapshot.storage.k8s.io', undefined, true],
      ['update', 'leases', 'coordination.k8s.io', 'kube-system', true],
      ['get', 'secrets', '', 'default', false],
      ['create', 'pods', '', 'default', false],
      ['create', 'customresourcedefinitions', 'apiextensions.k8s.io', undefined, false],
      ['create', 'clusterrolebindings', 'rbac.authorization.k8s.io', undefined, false],
      ['delete', 'storageclasses', 'storage.k8s.io', undefined, false],
    ];
    const got = await Promise.all(checks.map(async ([verb, resource, group, namespace]) => `${verb} ${resource} ${String(await allowed(sidecars, verb, resource, group, namespace))}`));
    expect(got).to.deep.equal(checks.map(([verb, resource, , , want]) => `${verb} ${resource} ${String(want)}`));
  });

  it("runs the node plugin as the DaemonSet's pod on each VM, registered with its guest kubelet: CSINode driver entry with the zone as topology key, and node ID annotation", async function () {
    this.timeout(4 * 60_000);
    const pluginPods = async () =>
      (await getJSON<{ items: (KubeObject & { spec: { nodeName?: string }; status?: { phase?: string; containerStatuses?: { name: string; ready: boolean; restartCount: number; state?: object }[] } })[] }>(admin, ['pods', '-n', 'kubevirt-csi-driver', '-l', 'app=kubevirt-csi-driver'])).items;
    await timed('node plugin pods registered', () =>
      waitFor(
        async () => {
          const nodes = await Promise.all(VMS.map((vm) => getJSON<CSINode>(admin, ['csinode', vm])));
          if (nodes.every((n) => (n.spec.drivers ?? []).some((d) => d.name === DRIVER))) return true;
          const pods = (await pluginPods()).map((p) => `${p.metadata.name ?? ''} on ${p.spec.nodeName ?? '-'}: ${p.status?.phase ?? '-'} ${JSON.stringify(p.status?.containerStatuses ?? [])}`);
          throw new Error(`${JSON.stringify(nodes.map((n) => n.spec))}\n${pods.join('\n')}\n${logs()}`);
        },
        { timeoutMs: 3 * 60_000, intervalMs: 1000, what: 'the driver in both CSINodes' },
      ),
    );
    const pods = await pluginPods();
    expect(pods.map((p) => [p.spec.nodeName, p.status?.phase, p.status?.containerStatuses?.map((c) => [c.name, c.ready])]).sort()).to.deep.equal(VMS.map((vm) => [vm, 'Running', [['csi-driver', true], ['csi-node-driver-registrar', true]]]));
    for (const vm of VMS) {
      const csiNode = await getJSON<CSINode>(admin, ['csinode', vm]);
      expect(csiNode.spec.drivers).to.deep.equal([{ name: DRIVER, nodeID: `${INFRA_NS}/${vm}`, topologyKeys: [ZONE_KEY] }]);
      expect(csiNode.metadata.ownerReferences?.[0]).to.include({ kind: 'Node', name: vm });
      const node = await getJSON<Node>(admin, ['node', vm]);
      expect(node.metadata.labels).to.include({ [ZONE_KEY]: ZONES[vm] });
      expect(node.metadata.annotations).to.include({ 'csi.volume.kubernetes.io/nodeid': JSON.stringify({ [DRIVER]: `${INFRA_NS}/${vm}` }), 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' });
    }
  });

  it('keeps its tenant objects applied: a deleted default StorageClass is back within seconds, and steady state writes nothing', async function () {
    this.timeout(120_000);
    const metrics = loggedMetricsUrl(join(dir, 'csi-controller.log'), 'serving metrics');
    const quiet = async (what: string) => {
      const before = await writeRequests(metrics);
      await new Promise((r) => setTimeout(r, 5_000));
      expect(await writeRequests(metrics), `the controller's write requests over 5 s ${what}`).to.deep.equal(before);
    };
    await timed('no write in 5 s of steady state', () => quiet('of steady state'));
    const gone = await getJSON<KubeObject>(admin, ['storageclass', 'kubevirt']);
    await kubectl(admin, ['delete', 'storageclass', 'kubevirt', '--wait=true']);
    const back = await timed('deleted StorageClass kubevirt applied again', () =>
      waitFor(
        async () => {
          const sc = await getJSON<{ items: KubeObject[] }>(admin, ['storageclasses', '--field-selector', 'metadata.name=kubevirt']);
          const now = sc.items[0];
          if (now && now.metadata.uid !== gone.metadata.uid) return now;
          throw new Error(`StorageClass kubevirt: ${now ? 'the deleted one' : 'absent'}\n${logs()}`);
        },
        { timeoutMs: 15_000, intervalMs: 200, what: 'StorageClass kubevirt back' },
      ),
    );
    expect(back.metadata.annotations).to.include({ 'storageclass.kubernetes.io/is-default-class': 'true' });
    await timed('no write in 5 s once it is back', () => quiet('after the StorageClass came back'));
  });

  it('binds a PVC to a DataVolume, keeps what one pod wrote for a pod on the other node, and detaches safely in between', async function () {
    this.timeout(6 * 60_000);
    await apply([claim('data', 'Filesystem')]);
    const pv = await timed('PVC bound (CreateVolume through external-provisioner)', () => boundPV('data'));
    const handle = pv.spec.csi?.volumeHandle ?? '';
    handles.push(handle);
    const dv = await getJSON<DataVolume>(mgmt, ['datavolumes.cdi.kubevirt.io', '-n', INFRA_NS, handle]);
    expect(dv.metadata.labels).to.deep.equal({ 'csi-driver/tenant': 'acme' });
    // The infra default storage names no zone: the volume is reachable from both zones (writer in zone-a, reader in zone-b).
    expect(pv.spec.nodeAffinity, 'node affinity of a volume whose infra storage serves every zone').to.equal(undefined);

    const stamp = `kvcloud-${String(Date.now())}`;
    await apply([pod('writer', 'csi-a', `echo ${stamp} > /data/proof && sync && cat /data/proof && grep -q ' /data ' /proc/mounts`, { claim: 'data', mountPath: '/data' })]);
    expect((await timed('writer pod on csi-a completed (attach, stage, publish)', () => completed('writer'))).trim()).to.equal(stamp);
    // While the pod holds it: attached to csi-a, and in that node's volumesInUse so it is not detached under the mount.
    const attachments = (await getJSON<{ items: VolumeAttachment[] }>(admin, ['volumeattachments'])).items;
    expect(attachments.map((a) => [a.spec.nodeName, a.spec.source.persistentVolumeName, a.status?.attached])).to.deep.equal([['csi-a', pv.metadata.name, true]]);
    const nodeA = await getJSON<Node & { status: { volumesInUse?: string[] } }>(admin, ['node', 'csi-a']);
    expect(nodeA.status.volumesInUse).to.deep.equal([`kubernetes.io/csi/${DRIVER}^${handle}`]);
    const vmiA = await getJSON<VirtualMachineInstance>(mgmt, ['vmi', '-n', INFRA_NS, 'csi-a']);
    expect(vmiA.status?.volumeStatus?.map((s) => s.name)).to.include(handle);
    // Staged once under the driver's globalmount, bind-published into the pod's kubernetes.io~csi directory.
    const mountPoints = csiMounts('csi-a').map((l) => l.split(' ')[4] ?? '');
    expect(mountPoints.filter((m) => m.endsWith('/globalmount'))).to.have.length(1);
    expect(mountPoints.filter((m) => m.includes(`/volumes/kubernetes.io~csi/${pv.metadata.name ?? ''}/mount`))).to.have.length(1);

    await timed('writer deleted (unpublish, unstage)', () => deletePod('writer'));
    await apply([pod('reader', 'csi-b', 'cat /data/proof', { claim: 'data', mountPath: '/data' })]);
    expect((await timed('reader pod on csi-b completed (detach from csi-a, attach to csi-b)', () => completed('reader'))).trim()).to.equal(stamp);
    const moved = (await getJSON<{ items: VolumeAttachment[] }>(admin, ['volumeattachments'])).items;
    expect(moved.map((a) => [a.spec.nodeName, a.status?.attached])).to.deep.equal([['csi-b', true]]);
    await deletePod('reader');
  });

  it('places a volume of a zonal infra StorageClass in its zone: PV node affinity, the pod scheduled there; a requirement it cannot meet is RESOURCE_EXHAUSTED', async function () {
    this.timeout(4 * 60_000);
    // The infra storage serves zone-a only (allowedTopologies), as zonal storage says so in Kubernetes.
    const infraClass = 'zone-a-storage';
    await kubectl(mgmt, ['apply', '-f', '-'], stringify({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name: infraClass }, provisioner: PROVISIONER, volumeBindingMode: 'Immediate', allowedTopologies: [{ matchLabelExpressions: [{ key: ZONE_KEY, values: ['zone-a'] }] }] }));
    const tenantClass = (name: string, extra: object = {}) => ({ apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass', metadata: { name }, provisioner: DRIVER, volumeBindingMode: 'Immediate', parameters: { infraStorageClassName: infraClass }, ...extra });
    // A tenant class that allows only zone-b: the provisioner's requisite is zone-b, which the infra storage does not serve.
    await apply([tenantClass('zonal'), tenantClass('zonal-in-b', { allowedTopologies: [{ matchLabelExpressions: [{ key: ZONE_KEY, values: ['zone-b'] }] }] })]);
    await apply([{ ...claim('zonal', 'Filesystem'), spec: { ...claim('zonal', 'Filesystem').spec, storageClassName: 'zonal' } }, { ...claim('unplaceable', 'Filesystem'), spec: { ...claim('unplaceable', 'Filesystem').spec, storageClassName: 'zonal-in-b' } }]);
    const pv = await timed('zonal PVC bound (CreateVolume with accessibility requirements)', () => boundPV('zonal'));
    handles.push(pv.spec.csi?.volumeHandle ?? '');
    expect(pv.spec.nodeAffinity?.required?.nodeSelectorTerms).to.deep.equal([{ matchExpressions: [{ key: ZONE_KEY, operator: 'In', values: ['zone-a'] }] }]);
    const dv = await getJSON<DataVolume>(mgmt, ['datavolumes.cdi.kubevirt.io', '-n', INFRA_NS, pv.spec.csi?.volumeHandle ?? '']);
    expect(dv.metadata.annotations).to.include({ 'csi.kubevirt.io/zone': 'zone-a' });

    // A pod that would rather run on csi-b (zone-b) goes where its volume is: csi-a, the zone-a Node.
    const wantsB = pod('zonal', 'csi-a', 'echo zonal > /data/proof && cat /data/proof', { claim: 'zonal', mountPath: '/data' });
    const { nodeSelector: _pinned, ...unpinned } = wantsB.spec;
    const preferB = { nodeAffinity: { preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, preference: { matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: ['csi-b'] }] } }] } };
    await apply([{ ...wantsB, spec: { ...unpinned, affinity: preferB } }]);
    expect((await timed('pod preferring csi-b completed on the volume\'s zone', () => completed('zonal'))).trim()).to.equal('zonal');
    expect((await getJSON<{ spec: { nodeName?: string } }>(admin, ['pod', 'zonal'])).spec.nodeName).to.equal('csi-a');
    await deletePod('zonal');

    const refusal = await timed('unplaceable PVC refused by CreateVolume', () =>
      waitFor(
        async () => {
          const events = (await getJSON<{ items: { reason: string; message: string }[] }>(admin, ['events', '--field-selector', 'involvedObject.name=unplaceable'])).items;
          const failed = events.find((e) => e.reason === 'ProvisioningFailed');
          if (failed) return failed.message;
          throw new Error(`events: ${JSON.stringify(events)}\n${logs()}`);
        },
        { timeoutMs: 60_000, what: 'ProvisioningFailed on PVC unplaceable' },
      ),
    );
    expect(refusal).to.match(/ResourceExhausted.*requisite zones \(zone-b\).*infra StorageClass zone-a-storage serves only zone-a/);
    expect((await getJSON<PersistentVolumeClaim>(admin, ['pvc', 'unplaceable'])).status?.phase).to.equal('Pending');
  });

  it('publishes a raw block PVC as a device in the container', async function () {
    this.timeout(4 * 60_000);
    await apply([claim('raw', 'Block')]);
    handles.push((await boundPV('raw')).spec.csi?.volumeHandle ?? '');
    await apply([pod('block', 'csi-b', 'test -b /dev/xvdb && printf kvcloud-block | dd of=/dev/xvdb conv=notrunc 2>/dev/null && head -c 13 /dev/xvdb', { claim: 'raw', devicePath: '/dev/xvdb' })]);
    expect(await timed('block pod completed', () => completed('block'))).to.equal('kvcloud-block');
    await deletePod('block');
  });

  it('grows a mounted Filesystem PVC: PV, infra claim and VM disk online; the filesystem the pod sees online where the kernel allows it (CAP_SYS_RESOURCE), else, the refusal on the claim, when staged again', async function () {
    this.timeout(5 * 60_000);
    await growsAMountedFilesystem({ admin, mgmt, infraNamespace: INFRA_NS, node: 'csi-a', apply, getJSON, pod, timed, logs, handles, inGuest });
  });

  const snapshots = snapshotTests({ admin: () => admin, mgmt: () => mgmt, infraNamespace: INFRA_NS, infraLabels: TENANT_LABELS, apply, getJSON, pod, completed, deletePod, boundPV, logs, timed, handles });
  it('snapshots a PVC with data and restores the snapshot into a new PVC with that data', async function () {
    this.timeout(6 * 60_000);
    await snapshots.restoresWithData();
  });
  it('refuses a volume-mode change at restore unless the snapshot content allows it, then restores the bytes', async function () {
    this.timeout(4 * 60_000);
    await snapshots.guardsVolumeModeChange();
  });
  it('clones a PVC with its data', async function () {
    this.timeout(4 * 60_000);
    await snapshots.clonesWithData();
  });
  it('deletes the snapshot contents and infra snapshots with the VolumeSnapshots', async function () {
    this.timeout(2 * 60_000);
    await snapshots.deletesSnapshots();
  });

  it("tracks capacity once turned on: CSIStorageCapacity per zone from the infra namespace's storage quota, a pod whose claim exceeds it unschedulable, one within it placed", async function () {
    this.timeout(5 * 60_000);
    await tracksCapacityOfTheTenantBudget({ admin, mgmt, infraNamespace: INFRA_NS, driver: DRIVER, node: 'csi-a', zoneKey: ZONE_KEY, apply, getJSON, pod, completed, timed, logs, handles });
  });

  it('deletes the infra DataVolumes with the PVCs and leaves no attachment, hot-plug or mount behind', async function () {
    this.timeout(4 * 60_000);
    await kubectl(admin, ['delete', 'pvc', '--all', '--wait=true', '--timeout=120s']);
    await timed('PVs, VolumeAttachments and DataVolumes gone', () =>
      waitFor(
        async () => {
          const pvs = (await getJSON<{ items: PersistentVolume[] }>(admin, ['pv'])).items;
          const vas = (await getJSON<{ items: VolumeAttachment[] }>(admin, ['volumeattachments'])).items;
          const dvs = (await getJSON<{ items: DataVolume[] }>(mgmt, ['datavolumes.cdi.kubevirt.io', '-n', INFRA_NS, '-l', TENANT_LABELS])).items;
          if (pvs.length + vas.length + dvs.length === 0) return true;
          throw new Error(`pvs=${String(pvs.length)} volumeattachments=${String(vas.length)} datavolumes=${String(dvs.length)}\n${logs()}`);
        },
        { timeoutMs: 150_000, what: 'every volume object gone' },
      ),
    );
    for (const vm of VMS) {
      const vmi = await getJSON<VirtualMachineInstance>(mgmt, ['vmi', '-n', INFRA_NS, vm]);
      expect(vmi.status?.volumeStatus?.filter((s) => handles.includes(s.name)) ?? [], vm).to.deep.equal([]);
      const node = await getJSON<Node & { status: { volumesInUse?: string[] } }>(admin, ['node', vm]);
      expect(node.status.volumesInUse ?? [], vm).to.deep.equal([]);
      expect(csiMounts(vm), vm).to.deep.equal([]);
    }
  });
});
