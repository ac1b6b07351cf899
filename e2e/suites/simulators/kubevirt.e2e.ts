// The KubeVirt and CDI simulators on a local management cluster of three zoned nodes: VirtualMachines run as
// virt-launcher pods that the real kube-scheduler places and the pod runner runs, per runStrategy; DataVolumes
// get bound PVCs; migrations and evacuations move VMIs between nodes; deletion leaves nothing behind. The
// launcher runs the shell image, whose script is the VM's inline cloud-init userData, so a test decides whether
// its "guest" keeps running, shuts down or fails.
import { join } from 'node:path';
import { expect } from 'chai';
import { pino } from 'pino';
import type { DataVolume } from '../../../lib/apis/cdi.js';
import {
  VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE,
  VIRTUAL_MACHINE_INSTANCE_TYPE,
  VIRTUAL_MACHINE_TYPE,
  type RunStrategy,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VirtualMachineInstanceMigration,
  type VirtualMachineInstanceSpec,
} from '../../../lib/apis/kubevirt.js';
import { DATA_VOLUME_TYPE } from '../../../lib/apis/cdi.js';
import { NODE_TYPE, type Node } from '../../../lib/apis/core.js';
import { ApiError } from '../../../lib/kube/api-error.js';
import { createLogger } from '../../../lib/observability/logger.js';
import type { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { TEST_SHELL_IMAGE } from '../../../localcloud/cluster/images.js';
import { POD, type Pod } from '../../../localcloud/cluster/pod-api.js';
import { startKubevirtSimulator, type KubevirtSimulator } from '../../../simulators/kubevirt/index.js';
import { WEBHOOK_CONFIGURATION_NAME } from '../../../simulators/kubevirt/admission-webhook.js';
import { PERSISTENT_VOLUME, PERSISTENT_VOLUME_CLAIM, type PersistentVolume, type PersistentVolumeClaim } from '../../../simulators/kubevirt/storage-api.js';
import { rejection } from '../../../lib/testing/rejection.js';
import { waitFor } from '../../../localcloud/wait.js';
import { clusterSuite, createNamespace } from '../cluster/support.js';

const ZONES = ['zone-a', 'zone-b', 'zone-c'];
const IPV6_CIDR = 'fd10:244::/64';
// The "guest": runs the VM's inline userData as a script, then idles until stopped.
const GUEST_SCRIPT = 'if [ -n "$GUEST_USERDATA_INLINE" ]; then eval "$GUEST_USERDATA_INLINE"; fi; exec sleep 3600';
const SUFFIX = /^[bcdfghjklmnpqrstvwxz2456789]{5}$/;

interface VmOptions {
  runStrategy?: RunStrategy;
  running?: boolean;
  userData?: string;
  spec?: Partial<VirtualMachineInstanceSpec>;
  dataVolumeTemplates?: NonNullable<VirtualMachine['spec']>['dataVolumeTemplates'];
}

function virtualMachine(namespace: string, name: string, opts: VmOptions = {}): VirtualMachine {
  const userData = opts.userData === undefined ? [] : [{ name: 'cloudinit', cloudInitNoCloud: { userData: opts.userData } }];
  return {
    ...VIRTUAL_MACHINE_TYPE,
    metadata: { name, namespace },
    spec: {
      ...(opts.running === undefined ? { runStrategy: opts.runStrategy ?? 'Always' } : { running: opts.running }),
      template: {
        metadata: { labels: { 'kubevirt.io/vm': name, 'test.kvcloud.io/suite': 'simulators' } },
        spec: {
          domain: { cpu: { cores: 2 }, memory: { guest: '256Mi' }, devices: { interfaces: [{ name: 'default', masquerade: {} }] } },
          networks: [{ name: 'default', pod: {} }],
          terminationGracePeriodSeconds: 5,
          volumes: [{ name: 'root', containerDisk: { image: 'quay.io/containerdisks/fedora:latest' } }, ...userData],
          ...opts.spec,
        },
      },
      ...(opts.dataVolumeTemplates ? { dataVolumeTemplates: opts.dataVolumeTemplates } : {}),
    },
  };
}

const zoneAffinity = (zone: string): Partial<VirtualMachineInstanceSpec> => ({
  affinity: {
    nodeAffinity: {
      requiredDuringSchedulingIgnoredDuringExecution: {
        nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In', values: [zone] }] }],
      },
    },
  },
});

function describeVMI(vmi: VirtualMachineInstance | undefined): string {
  if (!vmi) return 'no VMI';
  const s = vmi.status;
  const conditions = (s?.conditions ?? []).map((c) => `${c.type}=${c.status}(${c.reason ?? ''}: ${c.message ?? ''})`).join(', ');
  return `uid=${vmi.metadata.uid ?? ''} phase=${s?.phase ?? '-'} node=${s?.nodeName ?? '-'} ip=${s?.interfaces?.[0]?.ipAddress ?? '-'} [${conditions}]`;
}

function describeVM(vm: VirtualMachine | undefined): string {
  if (!vm) return 'no VM';
  const conditions = (vm.status?.conditions ?? []).map((c) => `${c.type}=${c.status}(${c.reason ?? ''})`).join(', ');
  return `printableStatus=${vm.status?.printableStatus ?? '-'} created=${String(vm.status?.created)} ready=${String(vm.status?.ready)} [${conditions}]`;
}

describe('KubeVirt and CDI simulators on the local cluster', function () {
  const suite = clusterSuite({ nodes: ZONES.map((zone, i) => ({ name: `node-${String.fromCharCode(97 + i)}`, zone, region: 'kvcloud-local' })) });

  describe('with the simulator running', () => {
    let simulator: KubevirtSimulator | undefined;
    let ns: string;
    let client: Client;

    before(async function () {
      this.timeout(120_000);
      client = suite.client;
      const started = Date.now();
      // The simulator's log goes with the cluster's (its directory), out of the test report.
      const destination = pino.destination({ dest: join(suite.cluster.dir, 'kubevirt-simulator.log'), sync: true });
      simulator = await startKubevirtSimulator({
        kubeconfig: suite.cluster.plane.kubeConfig,
        log: createLogger({ level: 'info', component: 'kubevirt-simulator', destination }),
        launcherImage: TEST_SHELL_IMAGE,
        launcherArgs: ['-c', GUEST_SCRIPT],
        ipv6CIDR: IPV6_CIDR,
        importDurationMs: 300,
      });
      console.log(`      simulator started (CRDs installed) in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      ns = await createNamespace(client, 'kubevirt');
    });

    after(async function () {
      this.timeout(60_000);
      await simulator?.stop();
    });

    const getVM = (name: string) => client.get<VirtualMachine>(VIRTUAL_MACHINE_TYPE, { namespace: ns, name }, { direct: true });
    const getVMI = (name: string) => client.get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: ns, name }, { direct: true });
    const launcherPods = (vmi: VirtualMachineInstance) =>
      client.list<Pod>(POD, { namespace: ns, labelSelector: `kubevirt.io/created-by=${vmi.metadata.uid ?? ''}`, direct: true });

    async function waitForVMI(name: string, check: (vmi: VirtualMachineInstance) => boolean, what: string, timeoutMs = 60_000): Promise<VirtualMachineInstance> {
      return waitFor(
        async () => {
          const vmi = await getVMI(name);
          if (vmi && check(vmi)) return vmi;
          throw new Error(`${describeVMI(vmi)}; VM: ${describeVM(await getVM(name))}`);
        },
        { timeoutMs, what: `VMI ${ns}/${name}: ${what}` },
      );
    }

    async function waitForVM(name: string, check: (vm: VirtualMachine) => boolean, what: string, timeoutMs = 60_000): Promise<VirtualMachine> {
      return waitFor(
        async () => {
          const vm = await getVM(name);
          if (vm && check(vm)) return vm;
          throw new Error(`${describeVM(vm)}; VMI: ${describeVMI(await getVMI(name))}`);
        },
        { timeoutMs, what: `VM ${ns}/${name}: ${what}` },
      );
    }

    const running = (vmi: VirtualMachineInstance) => vmi.status?.phase === 'Running' && vmi.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

    async function waitGone(type: { apiVersion: string; kind: string }, name: string, namespace: string | undefined = ns): Promise<void> {
      await waitFor(async () => ((await client.get(type, { namespace, name }, { direct: true })) ? undefined : true), { timeoutMs: 60_000, what: `${type.kind} ${name} to be gone` });
    }

    async function evict(pod: Pod): Promise<void> {
      await client.transport.request({
        method: 'POST',
        path: `/api/v1/namespaces/${ns}/pods/${pod.metadata.name ?? ''}/eviction`,
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: pod.metadata.name, namespace: ns } },
      });
    }

    it('runs a VM as a virt-launcher pod: VMI Pending -> Scheduling -> Scheduled -> Running, Ready, with the pod IP and an IPv6 address', async () => {
      const started = Date.now();
      await client.create(virtualMachine(ns, 'vm-basic', { userData: 'echo guest up' }));
      const vmi = await waitForVMI('vm-basic', running, 'Running and Ready');
      console.log(`      VM Running and Ready ${((Date.now() - started) / 1000).toFixed(1)} s after it was created`);
      expect(vmi.status?.phaseTransitionTimestamps?.map((p) => p.phase)).to.deep.equal(['Pending', 'Scheduling', 'Scheduled', 'Running']);
      expect(vmi.metadata.ownerReferences?.[0]).to.include({ kind: 'VirtualMachine', name: 'vm-basic', controller: true });
      expect(vmi.metadata.finalizers).to.include.members(['kubevirt.io/virtualMachineControllerFinalize', 'foregroundDeleteVirtualMachine']);
      expect(vmi.metadata.labels).to.include({ 'kubevirt.io/vm': 'vm-basic', 'kubevirt.io/nodeName': vmi.status?.nodeName });
      expect(vmi.status?.conditions?.find((c) => c.type === 'LiveMigratable')?.status).to.equal('True');

      const pods = await launcherPods(vmi);
      expect(pods).to.have.length(1);
      const [pod] = pods as [Pod];
      const prefix = 'virt-launcher-vm-basic-';
      expect(pod.metadata.name?.startsWith(prefix)).to.equal(true, pod.metadata.name);
      expect(pod.metadata.name?.slice(prefix.length)).to.match(SUFFIX);
      expect(pod.metadata.labels).to.include({
        'kubevirt.io': 'virt-launcher',
        'kubevirt.io/created-by': vmi.metadata.uid,
        'vm.kubevirt.io/name': 'vm-basic',
        'kubevirt.io/vm': 'vm-basic',
      });
      expect(pod.metadata.ownerReferences?.[0]).to.include({ kind: 'VirtualMachineInstance', uid: vmi.metadata.uid, controller: true });
      expect(pod.spec.nodeName).to.equal(vmi.status?.nodeName);
      const compute = pod.spec.containers[0];
      expect(compute?.resources?.requests).to.deep.equal({ memory: '256Mi', cpu: '200m' });
      const env = Object.fromEntries((compute?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
      expect(env).to.include({ GUEST_VM_NAMESPACE: ns, GUEST_VM_NAME: 'vm-basic', GUEST_NODE_IP: 'status.podIP', GUEST_CLOUDINIT_SOURCE: 'noCloud', GUEST_USERDATA_INLINE: 'echo guest up' });
      expect(compute?.volumeMounts?.map((m) => m.mountPath)).to.include.members(['/etc/kubernetes', '/var/lib/kubelet', '/run/kubeadm', '/var/lib/etcd']);

      const [iface] = vmi.status?.interfaces ?? [];
      expect(iface?.name).to.equal('default');
      expect(iface?.ipAddress).to.equal(pod.status?.podIP);
      expect(iface?.ipAddresses?.[0]).to.equal(pod.status?.podIP);
      expect(iface?.ipAddresses?.[1]).to.match(/^fd10:244::[0-9a-f]+$/);
      expect(iface?.mac).to.match(/^02(:[0-9a-f]{2}){5}$/);

      const vm = await waitForVM('vm-basic', (v) => v.status?.printableStatus === 'Running' && v.status.ready === true, 'Running and ready');
      expect(vm.status?.created).to.equal(true);
      expect(vm.metadata.finalizers).to.include('kubevirt.io/virtualMachineControllerFinalize');
      expect(vm.status?.conditions?.find((c) => c.type === 'Ready')?.status).to.equal('True');
    });

    it('lets the real scheduler honour the zone affinity of the VMI template', async () => {
      for (const zone of ['zone-b', 'zone-c']) await client.create(virtualMachine(ns, `vm-${zone}`, { spec: zoneAffinity(zone) }));
      for (const zone of ['zone-b', 'zone-c']) {
        const vmi = await waitForVMI(`vm-${zone}`, running, 'Running');
        expect(vmi.status?.nodeName).to.equal(`node-${zone.slice(-1)}`);
        const [pod] = await launcherPods(vmi);
        expect(pod?.spec).to.have.nested.property('affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution');
      }
    });

    it('keeps a VMI whose pod cannot be scheduled in Scheduling, saying why, and the VM in ErrorUnschedulable', async () => {
      await client.create(virtualMachine(ns, 'vm-nowhere', { spec: zoneAffinity('zone-x') }));
      const vmi = await waitForVMI('vm-nowhere', (v) => v.status?.conditions?.some((c) => c.type === 'PodScheduled' && c.status === 'False') === true, 'PodScheduled=False');
      expect(vmi.status?.phase).to.equal('Scheduling');
      const scheduled = vmi.status?.conditions?.find((c) => c.type === 'PodScheduled');
      expect(scheduled?.reason).to.equal('Unschedulable');
      expect(scheduled?.message).to.match(/node\(s\) didn't match Pod's node affinity/);
      expect(vmi.status?.conditions?.find((c) => c.type === 'Ready')).to.include({ status: 'False', reason: 'GuestNotRunning' });
      await waitForVM('vm-nowhere', (v) => v.status?.printableStatus === 'ErrorUnschedulable', 'ErrorUnschedulable');
    });

    it('starts and stops a VM as spec.running and runStrategy change (Halted creates nothing)', async () => {
      await client.create(virtualMachine(ns, 'vm-toggle', { running: false }));
      const halted = await waitForVM('vm-toggle', (v) => v.status?.printableStatus === 'Stopped', 'Stopped');
      // The simulator writes the whole status in one request: KubeVirt's CRD defaults printableStatus to Stopped, so
      // a status written in two parts read Stopped before created was there (seen once in CI).
      expect(halted.status?.created, describeVM(halted)).to.equal(false);
      expect(halted.status?.conditions?.find((c) => c.type === 'Ready')).to.include({ status: 'False', reason: 'VMINotExists' });
      expect(await getVMI('vm-toggle')).to.equal(undefined);

      await client.mergePatch(VIRTUAL_MACHINE_TYPE, { namespace: ns, name: 'vm-toggle' }, { spec: { running: true } });
      const vmi = await waitForVMI('vm-toggle', running, 'Running after spec.running=true');
      await client.mergePatch(VIRTUAL_MACHINE_TYPE, { namespace: ns, name: 'vm-toggle' }, { spec: { running: null, runStrategy: 'Halted' } });
      await waitGone(VIRTUAL_MACHINE_INSTANCE_TYPE, 'vm-toggle');
      await waitFor(async () => ((await launcherPods(vmi)).length === 0 ? true : undefined), { timeoutMs: 30_000, what: 'the launcher pod to be deleted' });
      await waitForVM('vm-toggle', (v) => v.status?.printableStatus === 'Stopped' && v.status.runStrategy === 'Halted', 'Stopped with runStrategy Halted');
    });

    it('RerunOnFailure restarts a failed guest but not one that shut down; Always restarts both', async () => {
      await client.create(virtualMachine(ns, 'vm-crash', { runStrategy: 'RerunOnFailure', userData: 'sleep 1; exit 3' }));
      await client.create(virtualMachine(ns, 'vm-shutdown', { runStrategy: 'RerunOnFailure', userData: 'exit 0' }));
      await client.create(virtualMachine(ns, 'vm-always', { runStrategy: 'Always', userData: 'sleep 1; exit 0' }));
      const firstCrash = await waitForVMI('vm-crash', () => true, 'created');
      await waitForVMI('vm-crash', (v) => v.metadata.uid !== firstCrash.metadata.uid, 'a new VMI after the first one failed');
      const firstAlways = await waitForVMI('vm-always', () => true, 'created');
      await waitForVMI('vm-always', (v) => v.metadata.uid !== firstAlways.metadata.uid, 'a new VMI after the first one finished');

      const done = await waitForVMI('vm-shutdown', (v) => v.status?.phase === 'Succeeded', 'Succeeded');
      const vm = await waitForVM('vm-shutdown', (v) => v.status?.printableStatus === 'Stopped', 'Stopped after its guest shut down');
      expect(vm.status?.ready).to.equal(false);
      // The VM controller has seen the finished VMI (Stopped) and released it instead of replacing it.
      const after = await waitForVMI('vm-shutdown', (v) => !v.metadata.finalizers?.includes('kubevirt.io/virtualMachineControllerFinalize'), 'released by the VM controller');
      expect(after.metadata.uid).to.equal(done.metadata.uid);
    });

    it('backs off restarting a VM whose VMI failed before it ever ran (CrashLoopBackOff)', async () => {
      // A launcher pod removed while it cannot be scheduled: the VMI fails without having run.
      await client.create(virtualMachine(ns, 'vm-crashloop', { spec: zoneAffinity('zone-x') }));
      const first = await waitForVMI('vm-crashloop', (v) => v.status?.phase === 'Scheduling', 'Scheduling');
      const [pod] = await launcherPods(first);
      await client.delete(POD, { namespace: ns, name: pod?.metadata.name ?? '' });
      const looping = await waitForVM('vm-crashloop', (v) => v.status?.printableStatus === 'CrashLoopBackOff', 'CrashLoopBackOff');
      expect(looping.status?.startFailure).to.include({ consecutiveFailCount: 1, lastFailedVMIUID: first.metadata.uid });
      const retryAfter = Date.parse(looping.status?.startFailure?.retryAfterTimestamp ?? '');
      const next = await waitForVMI('vm-crashloop', (v) => v.metadata.uid !== first.metadata.uid, 'a new VMI after the backoff', 60_000);
      // Timestamps have second precision.
      expect(Date.parse(next.metadata.creationTimestamp ?? '')).to.be.at.least(retryAfter - 1000);
    });

    it('runs a VM with runStrategy Once a single time', async () => {
      await client.create(virtualMachine(ns, 'vm-once', { runStrategy: 'Once', userData: 'exit 0' }));
      const vmi = await waitForVMI('vm-once', (v) => v.status?.phase === 'Succeeded', 'Succeeded');
      await waitForVM('vm-once', (v) => v.status?.printableStatus === 'Stopped', 'Stopped');
      const after = await waitForVMI('vm-once', (v) => !v.metadata.finalizers?.includes('kubevirt.io/virtualMachineControllerFinalize'), 'released');
      expect(after.metadata.uid).to.equal(vmi.metadata.uid);
    });

    it('starts and stops a Manual VM only on state change requests', async () => {
      await client.create(virtualMachine(ns, 'vm-manual', { runStrategy: 'Manual' }));
      await waitForVM('vm-manual', (v) => v.status?.printableStatus === 'Stopped', 'Stopped');
      expect(await getVMI('vm-manual')).to.equal(undefined);
      const request = (action: 'Start' | 'Stop') =>
        client.mergePatch(VIRTUAL_MACHINE_TYPE, { namespace: ns, name: 'vm-manual' }, { status: { stateChangeRequests: [{ action }] } }, { subresource: 'status' });
      await request('Start');
      await waitForVMI('vm-manual', running, 'Running after a Start request');
      await waitForVM('vm-manual', (v) => (v.status?.stateChangeRequests ?? []).length === 0, 'the Start request consumed');
      await request('Stop');
      await waitGone(VIRTUAL_MACHINE_INSTANCE_TYPE, 'vm-manual');
    });

    it('creates the DataVolumes of dataVolumeTemplates (PVC Bound) before starting the VMI', async () => {
      await client.create(
        virtualMachine(ns, 'vm-disk', {
          spec: { volumes: [{ name: 'root', dataVolume: { name: 'vm-disk-root' } }] },
          dataVolumeTemplates: [
            {
              metadata: { name: 'vm-disk-root' },
              spec: { source: { registry: { url: 'docker://quay.io/containerdisks/fedora:latest' } }, storage: { accessModes: ['ReadWriteMany'], resources: { requests: { storage: '5Gi' } } } },
            },
          ],
        }),
      );
      const vmi = await waitForVMI('vm-disk', running, 'Running');
      const dv = await client.get<DataVolume>(DATA_VOLUME_TYPE, { namespace: ns, name: 'vm-disk-root' }, { direct: true });
      expect(dv?.status?.phase).to.equal('Succeeded');
      expect(dv?.status?.progress).to.equal('100.0%');
      expect(dv?.status?.claimName).to.equal('vm-disk-root');
      expect(dv?.metadata.ownerReferences?.[0]).to.include({ kind: 'VirtualMachine', name: 'vm-disk', controller: true });
      const readySince = dv?.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True')?.lastTransitionTime ?? '';
      expect(Date.parse(vmi.metadata.creationTimestamp ?? '')).to.be.at.least(Date.parse(readySince), 'the VMI was created only once its disk was ready');
      expect(vmi.status?.conditions?.find((c) => c.type === 'DataVolumesReady')).to.include({ status: 'True', reason: 'AllDVsReady' });

      const pvc = await client.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM, { namespace: ns, name: 'vm-disk-root' }, { direct: true });
      expect(pvc?.status?.phase).to.equal('Bound');
      expect(pvc?.metadata.labels).to.include({ app: 'containerized-data-importer' });
      expect(pvc?.metadata.ownerReferences?.[0]).to.include({ kind: 'DataVolume', name: 'vm-disk-root', controller: true });
      const pv = await client.get<PersistentVolume>(PERSISTENT_VOLUME, { name: pvc?.spec.volumeName ?? '' }, { direct: true });
      expect(pv?.status?.phase).to.equal('Bound');
      expect(pv?.spec.capacity.storage).to.equal('5Gi');
    });

    it('keeps a VM whose DataVolume import fails from starting, with the importer error as the reason', async () => {
      await client.create(
        virtualMachine(ns, 'vm-baddisk', {
          spec: { volumes: [{ name: 'root', dataVolume: { name: 'vm-baddisk-root' } }] },
          dataVolumeTemplates: [
            { metadata: { name: 'vm-baddisk-root' }, spec: { source: { http: { url: 'https://images.example.invalid/disk.qcow2' } }, storage: { resources: { requests: { storage: '1Gi' } } } } },
          ],
        }),
      );
      const vm = await waitForVM('vm-baddisk', (v) => v.status?.printableStatus === 'DataVolumeError', 'DataVolumeError');
      const dv = await client.get<DataVolume>(DATA_VOLUME_TYPE, { namespace: ns, name: 'vm-baddisk-root' }, { direct: true });
      expect(dv?.status?.phase).to.equal('Failed');
      const runningCondition = dv?.status?.conditions?.find((c) => c.type === 'Running');
      expect(runningCondition).to.include({ status: 'False', reason: 'Error' });
      expect(runningCondition?.message).to.contain('lookup images.example.invalid: no such host');
      expect(dv?.status?.conditions?.find((c) => c.type === 'Bound')?.status).to.equal('True');
      const dvsReady = vm.status?.conditions?.find((c) => c.type === 'DataVolumesReady');
      expect(dvsReady).to.include({ status: 'False', reason: 'NotAllDVsReady' });
      expect(dvsReady?.message).to.contain('no such host');
      expect(vm.status?.created).to.equal(false);
      expect(await getVMI('vm-baddisk')).to.equal(undefined);
    });

    it('live-migrates a migratable VMI to another node, following the new pod, and refuses a non-migratable one', async () => {
      await client.create(virtualMachine(ns, 'vm-mig', {}));
      const before = await waitForVMI('vm-mig', running, 'Running');
      const [source] = await launcherPods(before);
      await client.create<VirtualMachineInstanceMigration>({ ...VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE, metadata: { name: 'mig-1', namespace: ns }, spec: { vmiName: 'vm-mig' } });
      const migration = await waitFor(
        async () => {
          const m = await client.get<VirtualMachineInstanceMigration>(VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE, { namespace: ns, name: 'mig-1' }, { direct: true });
          if (m?.status?.phase === 'Succeeded') return m;
          throw new Error(`phase=${m?.status?.phase ?? '-'} state=${JSON.stringify(m?.status?.migrationState)}`);
        },
        { timeoutMs: 60_000, what: 'migration mig-1 to succeed' },
      );
      expect(migration.status?.phaseTransitionTimestamps?.map((p) => p.phase)).to.deep.equal(['Scheduling', 'Scheduled', 'PreparingTarget', 'TargetReady', 'Running', 'Succeeded']);
      const after = await waitForVMI('vm-mig', (v) => v.status?.nodeName !== before.status?.nodeName && running(v), 'Running on another node');
      const state = after.status?.migrationState;
      expect(state).to.include({ completed: true, sourceNode: before.status?.nodeName, targetNode: after.status?.nodeName, sourcePod: source?.metadata.name });
      expect(after.metadata.labels?.['kubevirt.io/nodeName']).to.equal(after.status?.nodeName);
      await waitFor(async () => ((await launcherPods(after)).length === 1 ? true : undefined), { timeoutMs: 30_000, what: 'the source pod to be deleted' });
      const [target] = await launcherPods(after);
      expect(target?.metadata.name).to.equal(state?.targetPod);
      expect(target?.spec.nodeName).to.equal(after.status?.nodeName);
      const [iface] = after.status?.interfaces ?? [];
      expect(iface?.ipAddress).to.equal(target?.status?.podIP);
      expect(iface?.ipAddress).to.not.equal(before.status?.interfaces?.[0]?.ipAddress);
      expect(iface?.ipAddresses?.[1]).to.equal(before.status?.interfaces?.[0]?.ipAddresses?.[1], 'the IPv6 address stays with the VMI');

      await client.create(virtualMachine(ns, 'vm-bridge', { spec: { domain: { devices: { interfaces: [{ name: 'default', bridge: {} }] } } } }));
      const bridged = await waitForVMI('vm-bridge', running, 'Running');
      expect(bridged.status?.conditions?.find((c) => c.type === 'LiveMigratable')).to.include({ status: 'False', reason: 'InterfaceNotLiveMigratable' });
      const refused = await rejection(
        client.create<VirtualMachineInstanceMigration>({ ...VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE, metadata: { name: 'mig-bridge', namespace: ns }, spec: { vmiName: 'vm-bridge' } }),
        'a migration of a VMI with a bridge on the pod network',
      );
      expect(refused.message).to.contain('Cannot migrate VMI, Reason: InterfaceNotLiveMigratable');
    });

    it('marks a VMI with evictionStrategy External for evacuation instead of letting its pod be evicted', async () => {
      await client.create(virtualMachine(ns, 'vm-external', { spec: { evictionStrategy: 'External' } }));
      const vmi = await waitForVMI('vm-external', running, 'Running');
      const [pod] = await launcherPods(vmi);
      if (!pod) throw new Error('no launcher pod');
      const refused = await rejection(evict(pod), 'the eviction of the launcher pod');
      expect((refused as ApiError).status).to.equal(429);
      expect(refused.message).to.contain(`Eviction triggered evacuation of VMI "${ns}/vm-external"`);
      const marked = await getVMI('vm-external');
      expect(marked?.status?.evacuationNodeName).to.equal(pod.spec.nodeName);
      const again = await rejection(evict(pod), 'a second eviction');
      expect(again.message).to.contain('Evacuation in progress');
      const still = await client.get<Pod>(POD, { namespace: ns, name: pod.metadata.name ?? '' }, { direct: true });
      expect(still?.metadata.deletionTimestamp).to.equal(undefined);
      expect(marked?.status?.phase).to.equal('Running');
    });

    it('evacuates a VMI with evictionStrategy LiveMigrate by migrating it off the drained node', async () => {
      await client.create(virtualMachine(ns, 'vm-evacuate', { spec: { evictionStrategy: 'LiveMigrate' } }));
      const vmi = await waitForVMI('vm-evacuate', running, 'Running');
      const [pod] = await launcherPods(vmi);
      if (!pod) throw new Error('no launcher pod');
      const refused = await rejection(evict(pod), 'the eviction of the launcher pod');
      expect((refused as ApiError).status).to.equal(429);
      const moved = await waitForVMI(
        'vm-evacuate',
        (v) => v.status?.nodeName !== pod.spec.nodeName && v.status?.migrationState?.completed === true && v.status.evacuationNodeName === undefined,
        'migrated off the evacuated node',
      );
      expect(running(moved)).to.equal(true);
      const migrations = await client.list<VirtualMachineInstanceMigration>(VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE, { namespace: ns, labelSelector: 'kubevirt.io/vmi-name=vm-evacuate', direct: true });
      expect(migrations).to.have.length(1);
      expect(migrations[0]?.metadata.annotations?.['kubevirt.io/evacuationMigration']).to.equal(pod.spec.nodeName);
    });

    it('migrates LiveMigrate VMIs off a node tainted kubevirt.io/drain', async () => {
      await client.create(virtualMachine(ns, 'vm-drain', { spec: { evictionStrategy: 'LiveMigrate' } }));
      const vmi = await waitForVMI('vm-drain', running, 'Running');
      const nodeName = vmi.status?.nodeName ?? '';
      const node = await client.get<Node>(NODE_TYPE, { name: nodeName }, { direct: true });
      const taints = node?.spec?.taints ?? [];
      await client.mergePatch(NODE_TYPE, { name: nodeName }, { spec: { taints: [...taints, { key: 'kubevirt.io/drain', value: 'draining', effect: 'NoSchedule' }] } });
      try {
        const moved = await waitForVMI('vm-drain', (v) => v.status?.nodeName !== nodeName && v.status?.migrationState?.completed === true && running(v), 'migrated off the tainted node');
        expect(moved.status?.migrationState?.sourceNode).to.equal(nodeName);
      } finally {
        await client.mergePatch(NODE_TYPE, { name: nodeName }, { spec: { taints } });
      }
    });

    it('lets a VMI without eviction strategy be evicted, and its Always VM start a new one', async () => {
      await client.create(virtualMachine(ns, 'vm-evictable', {}));
      const vmi = await waitForVMI('vm-evictable', running, 'Running');
      const [pod] = await launcherPods(vmi);
      if (!pod) throw new Error('no launcher pod');
      await evict(pod);
      await waitForVMI('vm-evictable', (v) => v.metadata.uid !== vmi.metadata.uid && running(v), 'a new VMI Running');
    });

    it('writes nothing to a running VM, its VMI or its pod at steady state', async () => {
      await client.create(virtualMachine(ns, 'vm-steady', {}));
      await waitForVMI('vm-steady', running, 'Running');
      await waitForVM('vm-steady', (v) => v.status?.printableStatus === 'Running', 'Running');
      const versions = async () => {
        const vmi = await getVMI('vm-steady');
        const pods = vmi ? await launcherPods(vmi) : [];
        return [(await getVM('vm-steady'))?.metadata.resourceVersion, vmi?.metadata.resourceVersion, ...pods.map((p) => p.metadata.resourceVersion)];
      };
      const first = await versions();
      // A measurement window, not a synchronisation: any write in it would be a controller that never settles.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      expect(await versions()).to.deep.equal(first);
    });

    it('deletes a VM with its VMI, launcher pod, DataVolume, PVC and volume', async function () {
      this.timeout(120_000);
      await client.create(
        virtualMachine(ns, 'vm-delete', {
          spec: { volumes: [{ name: 'root', dataVolume: { name: 'vm-delete-root' } }] },
          dataVolumeTemplates: [{ metadata: { name: 'vm-delete-root' }, spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '1Gi' } } } } }],
        }),
      );
      const vmi = await waitForVMI('vm-delete', running, 'Running');
      const [pod] = await launcherPods(vmi);
      const pvc = await client.get<PersistentVolumeClaim>(PERSISTENT_VOLUME_CLAIM, { namespace: ns, name: 'vm-delete-root' }, { direct: true });
      const volume = pvc?.spec.volumeName ?? '';
      expect(pod, 'launcher pod').to.not.equal(undefined);
      expect(volume).to.match(/^pvc-/);
      await client.delete(VIRTUAL_MACHINE_TYPE, { namespace: ns, name: 'vm-delete' });
      const stopping = await waitForVM('vm-delete', (v) => v.status?.printableStatus === 'Terminating', 'Terminating').catch(() => undefined);
      if (stopping) expect(stopping.metadata.finalizers).to.include('kubevirt.io/virtualMachineControllerFinalize');
      await waitGone(VIRTUAL_MACHINE_TYPE, 'vm-delete');
      await waitGone(VIRTUAL_MACHINE_INSTANCE_TYPE, 'vm-delete');
      await waitGone(POD, pod?.metadata.name ?? '');
      await waitGone(DATA_VOLUME_TYPE, 'vm-delete-root');
      await waitGone(PERSISTENT_VOLUME_CLAIM, 'vm-delete-root');
      await waitGone(PERSISTENT_VOLUME, volume, undefined);
    });

    it('leaves nothing in the namespace once every VM (and finished migration) is deleted', async function () {
      this.timeout(120_000);
      const vms = await client.list<VirtualMachine>(VIRTUAL_MACHINE_TYPE, { namespace: ns, direct: true });
      const volumes = (await client.list<PersistentVolume>(PERSISTENT_VOLUME, { direct: true })).filter((pv) => pv.spec.claimRef?.namespace === ns);
      for (const vm of vms) await client.delete(VIRTUAL_MACHINE_TYPE, { namespace: ns, name: vm.metadata.name ?? '' });
      // Finished migrations outlive their VMI upstream too (kept as history); the user removes them.
      const migrations = await client.list<VirtualMachineInstanceMigration>(VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE, { namespace: ns, direct: true });
      for (const m of migrations) await client.delete(VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE, { namespace: ns, name: m.metadata.name ?? '' });
      const kinds = [VIRTUAL_MACHINE_TYPE, VIRTUAL_MACHINE_INSTANCE_TYPE, VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE, POD, DATA_VOLUME_TYPE, PERSISTENT_VOLUME_CLAIM];
      await waitFor(
        async () => {
          const left: string[] = [];
          for (const kind of kinds) {
            const items = await client.list<KubeObject>(kind, { namespace: ns, direct: true });
            left.push(...items.map((o) => `${kind.kind} ${o.metadata.name ?? ''}`));
          }
          for (const pv of volumes) if (await client.get(PERSISTENT_VOLUME, { name: pv.metadata.name ?? '' }, { direct: true })) left.push(`PersistentVolume ${pv.metadata.name ?? ''}`);
          if (left.length === 0) return true;
          throw new Error(`still there: ${left.join(', ')}`);
        },
        { timeoutMs: 90_000, what: `every VM of ${String(vms.length)} and what it made to be gone` },
      );
    });
  });

  describe('after the simulator stopped', () => {
    it('has removed its admission webhook, so evictions and migrations are admitted as without KubeVirt', async () => {
      const configuration = await suite.client.get({ apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration' }, { name: WEBHOOK_CONFIGURATION_NAME }, { direct: true });
      expect(configuration).to.equal(undefined);
    });
  });
});
