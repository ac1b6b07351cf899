import { expect } from 'chai';
import { DATA_VOLUME_TYPE, type DataVolume } from '../../../lib/apis/cdi.js';
import { NODE_TYPE, SECRET_TYPE, type Node, type Secret } from '../../../lib/apis/core.js';
import {
  VIRTUAL_MACHINE_INSTANCE_TYPE,
  VIRTUAL_MACHINE_TYPE,
  type VirtualMachine,
  type VirtualMachineInstance,
} from '../../../lib/apis/kubevirt.js';
import { getCondition, type Condition } from '../../../lib/controller/conditions.js';
import { PAUSED_CONDITION } from '../../../lib/controller/paused.js';
import type { RestRequest } from '../../../lib/kube/rest-transport.js';
import {
  KubevirtMachineGVK,
  MACHINE_FINALIZER,
  MANAGED_BY_ANNOTATION,
  PAUSED_ANNOTATION,
  VMI_DELETION_GRACE_TIME_ANNOTATION,
  VM_TERMINAL_LABEL,
  type KubevirtMachine,
  type KubevirtMachineSpec,
} from '../api/index.js';
import { BOOTSTRAP_EXEC_SUCCEEDED, EVACUATED, Reasons, TERMINAL_FAILURE_REASON, VM_LIVE_MIGRATABLE, VM_PROVISIONED } from './conditions.js';
import { KubevirtMachineReconciler } from './kubevirtmachine.js';
import {
  NS,
  InfraEnv,
  bootstrapSecret,
  cluster,
  conditionOf,
  infraKubeconfigSecret,
  kubevirtCluster,
  kubevirtMachine,
  machine,
  sshKeysSecret,
  tenantKubeconfigSecret,
  v1beta1ConditionOf,
  type Pass,
} from './reconcile-env.testdata.js';
import type { SentinelCheck } from './ssh-sentinel.js';

const M = 'm1';
const BOOTSTRAP = `${M}-bootstrap`;
const NOW = new Date('2026-03-01T12:00:00Z');

interface Setup {
  clusterStatus?: Parameters<typeof cluster>[0];
  clusterSpec?: Parameters<typeof cluster>[1];
  controlPlane?: boolean;
  /** False: the Machine has no bootstrap.dataSecretName yet. */
  dataSecretName?: boolean;
  bootstrapSecret?: boolean;
  sshKeys?: boolean;
  spec?: Partial<KubevirtMachineSpec>;
  metadata?: Partial<KubevirtMachine['metadata']>;
  kubevirtClusterSpec?: Parameters<typeof kubevirtCluster>[0];
  kubevirtClusterMetadata?: Parameters<typeof kubevirtCluster>[1];
}

/** A Cluster whose infrastructure is provisioned and a Machine with bootstrap data, unless `s` says otherwise. */
function seedMachine(env: InfraEnv, s: Setup = {}): void {
  env.seed(cluster(s.clusterStatus, s.clusterSpec));
  env.seed(kubevirtCluster(s.kubevirtClusterSpec, s.kubevirtClusterMetadata));
  if (s.sshKeys !== false) env.seed(sshKeysSecret());
  env.seed(machine(M, { controlPlane: s.controlPlane ?? false, ...(s.dataSecretName === false ? {} : { dataSecretName: BOOTSTRAP }) }));
  if (s.bootstrapSecret !== false) env.seed(bootstrapSecret(BOOTSTRAP));
  env.seed(kubevirtMachine(M, s.spec, s.metadata));
}

function vmi(opts: { ready?: boolean; ip?: string; status?: VirtualMachineInstance['status']; spec?: VirtualMachineInstance['spec'] } = {}): VirtualMachineInstance {
  const ready = opts.ready ?? true;
  return {
    ...VIRTUAL_MACHINE_INSTANCE_TYPE,
    metadata: { namespace: NS, name: M },
    ...(opts.spec ? { spec: opts.spec } : {}),
    status: {
      phase: ready ? 'Running' : 'Scheduling',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      ...(opts.ip !== undefined ? { interfaces: [{ name: 'default', ipAddress: opts.ip }] } : {}),
      ...opts.status,
    },
  };
}

function tenantNode(providerID?: string): Node {
  return { ...NODE_TYPE, metadata: { name: M }, ...(providerID ? { spec: { providerID } } : {}), status: { conditions: [{ type: 'Ready', status: 'True' }] } };
}

function deleting(km: KubevirtMachine): KubevirtMachine {
  return { ...km, metadata: { ...km.metadata, finalizers: [MACHINE_FINALIZER], deletionTimestamp: '2026-03-01T11:00:00Z' } };
}

function provisionedConditions(): Condition[] {
  const at = '2026-03-01T10:00:00Z';
  return [
    { type: VM_PROVISIONED, status: 'True', reason: Reasons.vmProvisioned, message: '', lastTransitionTime: at },
    { type: BOOTSTRAP_EXEC_SUCCEEDED, status: 'True', reason: Reasons.bootstrapExecSucceeded, message: '', lastTransitionTime: at },
    { type: 'Ready', status: 'True', reason: 'InfoReported', message: '', lastTransitionTime: at },
  ];
}

const vmOf = (env: InfraEnv): VirtualMachine | undefined => env.stored(VIRTUAL_MACHINE_TYPE, M) as VirtualMachine | undefined;

describe('providers/infrastructure/controllers: KubevirtMachine reconciler', () => {
  let env: InfraEnv;
  let sshChecks: SentinelCheck[];
  let reconciler: KubevirtMachineReconciler;
  const pass = (): Promise<Pass<KubevirtMachine>> => env.pass(reconciler, KubevirtMachineGVK, M);

  beforeEach(() => {
    env = new InfraEnv();
    sshChecks = [];
    reconciler = new KubevirtMachineReconciler({
      client: env.client,
      connections: env.connections,
      enqueue: env.enqueue,
      now: () => NOW,
      sshCheck: () => Promise.resolve(sshChecks.shift() ?? { ok: false, outcome: 'unreachable', detail: 'no answer' }),
    });
  });
  afterEach(async () => {
    await env.close();
  });

  describe('normal path', () => {
    it('writes the userdata Secret and creates the VM named after the machine, then waits for it to start', async () => {
      seedMachine(env);

      const { error, stored, events } = await pass();

      expect(error).to.equal(undefined);
      const userdata = env.stored(SECRET_TYPE, `${BOOTSTRAP}-userdata`) as Secret | undefined;
      const rendered = Buffer.from(userdata?.data?.userdata ?? '', 'base64').toString('utf8');
      expect(rendered).to.contain('kubeadm join').and.to.contain('ssh-rsa AAAAtest');
      const vm = vmOf(env);
      expect(vm?.metadata.labels).to.include({ 'capk.cluster.x-k8s.io/kubevirt-machine-name': M, 'cluster.x-k8s.io/role': 'worker' });
      expect(vm?.spec?.runStrategy).to.equal('Always');
      expect(stored?.metadata.finalizers).to.deep.equal([MACHINE_FINALIZER]);
      expect(conditionOf(stored, VM_PROVISIONED)).to.deep.equal({ status: 'False', reason: Reasons.vmNotReady });
      expect(conditionOf(stored, 'Ready')).to.deep.equal({ status: 'False', reason: 'IssuesReported' });
      expect(v1beta1ConditionOf(stored, 'Ready'), 'v1beta1 Ready carries the worst condition\'s reason').to.deep.equal({ status: 'False', reason: Reasons.vmNotReady });
      expect(stored?.status?.ready).to.equal(false);
      expect(events.map((e) => e.reason)).to.deep.equal(['CreatedVirtualMachine']);
    });

    it('never creates a second VM on a retry', async () => {
      seedMachine(env);
      await pass();
      const { events } = await pass();

      expect(events).to.deep.equal([]);
      expect(env.api.writes().filter((w) => w.method === 'POST' && w.path.includes('/virtualmachines'))).to.have.length(1);
    });

    it('reports addresses, the providerID and Ready once the VMI runs and the tenant Node registered, and gives the Node the providerID', async () => {
      seedMachine(env, { metadata: {} });
      env.seed(tenantKubeconfigSecret());
      env.tenantApi.seed(tenantNode());
      await pass();
      env.seed(vmi({ ip: '10.244.0.7' }));

      const { stored, result, events } = await pass();

      expect(result).to.deep.equal({});
      expect(stored?.spec.providerID).to.equal(`kubevirt://${M}`);
      expect(stored?.status?.addresses).to.deep.include({ type: 'InternalIP', address: '10.244.0.7' });
      expect(conditionOf(stored, VM_PROVISIONED)).to.deep.equal({ status: 'True', reason: Reasons.vmProvisioned });
      expect(conditionOf(stored, BOOTSTRAP_EXEC_SUCCEEDED)).to.deep.equal({ status: 'True', reason: Reasons.bootstrapExecSucceeded });
      expect(conditionOf(stored, 'Ready')).to.deep.equal({ status: 'True', reason: 'InfoReported' });
      expect(stored?.status).to.deep.include({ ready: true, initialization: { provisioned: true }, nodeupdated: true });
      expect(stored?.status?.deprecated?.v1beta1?.conditions?.[0]).to.include({ type: 'Ready', status: 'True' });
      expect((env.tenantApi.peek('v1', 'Node', M) as Node | undefined)?.spec?.providerID).to.equal(`kubevirt://${M}`);
      expect(events.map((e) => e.reason)).to.deep.equal(['SetNodeProviderID']);
    });

    const migratable: { name: string; vmi?: { status: 'True' | 'False'; reason?: string; message?: string }; want?: { status: string; reason: string } }[] = [
      { name: 'True with CAPK\'s reason when the VMI can live-migrate', vmi: { status: 'True' }, want: { status: 'True', reason: Reasons.vmLiveMigratable } },
      {
        name: 'False with the VMI\'s own reason when it cannot',
        vmi: { status: 'False', reason: 'DisksNotLiveMigratable', message: 'cannot migrate VMI: PVC rootdisk is not shared' },
        want: { status: 'False', reason: 'DisksNotLiveMigratable' },
      },
      { name: 'absent until the VMI says' },
    ];
    for (const tc of migratable) {
      it(`reports VMLiveMigratable ${tc.name}, outside the Ready summary`, async () => {
        seedMachine(env, { spec: { virtualMachineBootstrapCheck: { checkStrategy: 'none' } } });
        await pass();
        const conditions = [{ type: 'Ready', status: 'True' as const }, ...(tc.vmi ? [{ type: 'LiveMigratable', ...tc.vmi }] : [])];
        env.seed(vmi({ ip: '10.244.0.7', status: { phase: 'Running', conditions } }));

        const { stored } = await pass();

        expect(conditionOf(stored, VM_LIVE_MIGRATABLE)).to.deep.equal(tc.want);
        if (tc.vmi?.message) expect(getCondition(stored, VM_LIVE_MIGRATABLE)?.message).to.contain(tc.vmi.message);
        expect(conditionOf(stored, 'Ready')).to.deep.equal({ status: 'True', reason: 'InfoReported' });
      });
    }

    it('writes nothing in steady state', async () => {
      seedMachine(env);
      env.seed(tenantKubeconfigSecret());
      env.tenantApi.seed(tenantNode(`kubevirt://${M}`));
      await pass();
      env.seed(vmi({ ip: '10.244.0.7' }));
      await pass();
      await pass(); // the providerID written to spec moved the generation: conditions record the new one
      const writes = env.api.writes().length;

      const { stored } = await pass();

      expect(env.api.writes().length).to.equal(writes);
      expect(conditionOf(stored, 'Ready')?.status).to.equal('True');
    });

    it('creates the VM in the external infra cluster and pins the KubevirtCluster\'s infraClusterSecretRef on the machine', async () => {
      seedMachine(env, { kubevirtClusterSpec: { infraClusterSecretRef: { name: 'infra-kubeconfig' } } });
      env.seed(infraKubeconfigSecret('infra-kubeconfig', 'vms'));

      const { stored } = await pass();

      expect(stored?.spec.infraClusterSecretRef).to.deep.equal({ name: 'infra-kubeconfig' });
      expect(env.infraApi.peek(VIRTUAL_MACHINE_TYPE.apiVersion, 'VirtualMachine', `vms/${M}`)).to.not.equal(undefined);
      expect(env.infraApi.peek('v1', 'Secret', `vms/${BOOTSTRAP}-userdata`)).to.not.equal(undefined);
      expect(vmOf(env)).to.equal(undefined);
    });

    const checks: {
      name: string;
      spec: Partial<KubevirtMachineSpec>;
      /** An externally managed KubevirtCluster: no SSH key pair. */
      externalCluster?: boolean;
      tenant?: boolean;
      /** The guest registered its tenant Node. */
      node?: boolean;
      ssh?: SentinelCheck;
      want: { status: string; reason: string };
      requeue?: boolean;
    }[] = [
      { name: 'checkStrategy none trusts the VM', spec: { virtualMachineBootstrapCheck: { checkStrategy: 'none' } }, want: { status: 'True', reason: Reasons.bootstrapExecSucceeded } },
      { name: 'the default check waits for the tenant cluster to be reachable', spec: {}, want: { status: 'False', reason: Reasons.bootstrapFailed }, requeue: true },
      { name: 'the default check waits for the tenant Node', spec: {}, tenant: true, want: { status: 'False', reason: Reasons.bootstrapFailed }, requeue: false },
      {
        name: 'checkStrategy ssh passes when the sentinel file is there',
        spec: { virtualMachineBootstrapCheck: { checkStrategy: 'ssh' } },
        ssh: { ok: true, outcome: 'succeeded', detail: 'sentinel found' },
        want: { status: 'True', reason: Reasons.bootstrapExecSucceeded },
      },
      {
        name: 'checkStrategy ssh without a key pair (external KubevirtCluster) waits for the tenant Node',
        spec: { virtualMachineBootstrapCheck: { checkStrategy: 'ssh' } },
        externalCluster: true,
        tenant: true,
        want: { status: 'False', reason: Reasons.bootstrapFailed },
        requeue: false,
      },
      {
        name: 'checkStrategy ssh without a key pair (external KubevirtCluster) reports BootstrapCheckingNotSupported once the Node registered',
        spec: { virtualMachineBootstrapCheck: { checkStrategy: 'ssh' } },
        externalCluster: true,
        tenant: true,
        node: true,
        want: { status: 'True', reason: Reasons.bootstrapCheckingNotSupported },
      },
      {
        name: 'checkStrategy ssh polls while the sentinel file is missing',
        spec: { virtualMachineBootstrapCheck: { checkStrategy: 'ssh' } },
        ssh: { ok: false, outcome: 'not-yet', detail: 'no sentinel yet' },
        want: { status: 'False', reason: Reasons.bootstrapFailed },
        requeue: true,
      },
    ];
    for (const tc of checks) {
      it(`bootstrap check: ${tc.name}`, async () => {
        seedMachine(env, tc.externalCluster ? { spec: tc.spec, sshKeys: false, kubevirtClusterMetadata: { annotations: { [MANAGED_BY_ANNOTATION]: 'hosted-control-plane' } } } : { spec: tc.spec });
        if (tc.tenant) env.seed(tenantKubeconfigSecret());
        if (tc.node) env.tenantApi.seed(tenantNode(`kubevirt://${M}`));
        if (tc.ssh) sshChecks.push(tc.ssh);
        await pass();
        env.seed(vmi({ ip: '10.244.0.7' }));

        const { stored, result } = await pass();

        expect(conditionOf(stored, VM_PROVISIONED)?.status).to.equal('True');
        expect(conditionOf(stored, BOOTSTRAP_EXEC_SUCCEEDED)).to.deep.equal(tc.want);
        expect(conditionOf(stored, 'Ready')?.status).to.equal(tc.want.status);
        // Polling only for what no watch reports: the tenant kubeconfig appearing, the sentinel file.
        if (tc.requeue !== undefined) expect(result?.requeueAfter !== undefined).to.equal(tc.requeue);
      });
    }

    it('live-migrates a VMI off a draining infra node and reports it Evacuated once it moved', async () => {
      seedMachine(env, { spec: { virtualMachineBootstrapCheck: { checkStrategy: 'none' } } });
      await pass();
      const draining = vmi({
        ip: '10.244.0.7',
        spec: { evictionStrategy: 'External', domain: { devices: {} } },
        status: { evacuationNodeName: 'infra-1', conditions: [{ type: 'Ready', status: 'True' }, { type: 'LiveMigratable', status: 'True' }] },
      });
      env.seed(draining);

      const first = await pass();
      expect(conditionOf(first.stored, EVACUATED)).to.deep.equal({ status: 'False', reason: Reasons.migrating });
      expect(env.api.writes().some((w) => w.method === 'POST' && w.path.includes('/virtualmachineinstancemigrations'))).to.equal(true);
      expect(first.events.map((e) => e.reason)).to.deep.equal(['MigratingVirtualMachine']);

      env.seed(vmi({ ip: '10.244.0.8' }));
      const second = await pass();
      expect(conditionOf(second.stored, EVACUATED)).to.deep.equal({ status: 'True', reason: Reasons.evacuationCompleted });
      expect(conditionOf(second.stored, 'Ready')?.status).to.equal('True');
    });
  });

  describe('evacuation of a VMI that cannot live-migrate', () => {
    const onDrainingNode = (): VirtualMachineInstance =>
      vmi({ ip: '10.244.0.7', spec: { evictionStrategy: 'External', domain: { devices: {} } }, status: { evacuationNodeName: 'infra-1' } });
    const isEviction = (req: RestRequest): boolean => req.method === 'POST' && req.path.endsWith('/eviction');
    const tenantNodeOf = (env: InfraEnv): Node | undefined => env.tenantApi.peek('v1', 'Node', M) as Node | undefined;

    beforeEach(async () => {
      seedMachine(env, { spec: { virtualMachineBootstrapCheck: { checkStrategy: 'none' } } });
      env.seed(tenantKubeconfigSecret());
      env.tenantApi.seed(tenantNode(`kubevirt://${M}`));
      env.tenantApi.seed({ apiVersion: 'v1', kind: 'Pod', metadata: { namespace: 'apps', name: 'web-0' }, spec: { nodeName: M } });
      await pass();
    });

    it('cordons and drains the tenant Node while a disruption budget holds, then replaces the VMI and uncordons', async () => {
      env.seed(onDrainingNode());
      env.tenantApi.failNext(isEviction, 429, 'TooManyRequests');

      const draining = await pass();
      expect(conditionOf(draining.stored, EVACUATED)).to.deep.equal({ status: 'False', reason: Reasons.drainingNode });
      expect(draining.result?.requeueAfter).to.be.greaterThan(0);
      expect(tenantNodeOf(env)?.spec?.unschedulable).to.equal(true);
      expect(draining.stored?.metadata.annotations?.[VMI_DELETION_GRACE_TIME_ANNOTATION]).to.equal('2026-03-01T12:10:00Z');

      await env.tenantApi.request({ method: 'DELETE', path: '/api/v1/namespaces/apps/pods/web-0' });
      const replacing = await pass();
      expect(conditionOf(replacing.stored, EVACUATED)).to.deep.equal({ status: 'False', reason: Reasons.replacingVMI });
      expect(env.stored(VIRTUAL_MACHINE_INSTANCE_TYPE, M)).to.equal(undefined);
      expect(replacing.stored?.metadata.annotations?.[VMI_DELETION_GRACE_TIME_ANNOTATION]).to.equal(undefined);

      env.seed(vmi({ ip: '10.244.0.9' }));
      const back = await pass();
      expect(conditionOf(back.stored, EVACUATED)).to.deep.equal({ status: 'True', reason: Reasons.evacuationCompleted });
      expect(tenantNodeOf(env)?.spec?.unschedulable).to.equal(undefined);
      expect(back.events.map((e) => e.reason)).to.deep.equal(['UncordonedNode']);
    });

    it('replaces the VMI without waiting for the drain once the grace period is over', async () => {
      const live = env.stored(KubevirtMachineGVK, M) as KubevirtMachine | undefined;
      if (!live) throw new Error('KubevirtMachine missing');
      env.seed({ ...live, metadata: { ...live.metadata, annotations: { [VMI_DELETION_GRACE_TIME_ANNOTATION]: '2026-03-01T11:00:00Z' } } });
      env.seed(onDrainingNode());

      const { stored, events } = await pass();

      expect(conditionOf(stored, EVACUATED)).to.deep.equal({ status: 'False', reason: Reasons.replacingVMI });
      expect(env.stored(VIRTUAL_MACHINE_INSTANCE_TYPE, M)).to.equal(undefined);
      expect(events.map((e) => e.reason)).to.deep.equal(['ReplacedVirtualMachineInstance']);
      expect(events[0]?.note).to.contain('after the drain grace period');
    });
  });

  describe('waiting', () => {
    const cases: { name: string; setup: Setup; after?: (env: InfraEnv) => void; reason: string }[] = [
      { name: 'for the cluster infrastructure', setup: { clusterStatus: { infrastructureProvisioned: false } }, reason: Reasons.waitingForClusterInfrastructure },
      {
        name: 'for the control plane, as a worker without bootstrap data',
        setup: { clusterStatus: { controlPlaneInitialized: false }, dataSecretName: false },
        reason: Reasons.waitingForControlPlaneAvailable,
      },
      { name: 'for the bootstrap data, as a control-plane machine', setup: { controlPlane: true, clusterStatus: { controlPlaneInitialized: false }, dataSecretName: false }, reason: Reasons.waitingForBootstrapData },
      { name: 'for the bootstrap data Secret', setup: { bootstrapSecret: false }, reason: Reasons.waitingForBootstrapData },
      { name: 'for the KubevirtCluster\'s SSH key pair', setup: { sshKeys: false }, reason: Reasons.waitingForSSHKeys },
      { name: 'for the VMI to be ready', setup: {}, after: (e) => { e.seed(vmi({ ready: false })); }, reason: Reasons.vmNotReady },
      { name: 'for the VMI to report an IP address', setup: {}, after: (e) => { e.seed(vmi({ ip: undefined })); }, reason: Reasons.vmNotReady },
      {
        name: 'for a pending DataVolume of the VM',
        setup: { spec: { virtualMachineTemplate: { spec: { dataVolumeTemplates: [{ metadata: { name: 'root' }, spec: {} }], template: { spec: { domain: { devices: {} } } } } } } },
        after: (e) => {
          e.seed<DataVolume>({ ...DATA_VOLUME_TYPE, metadata: { namespace: NS, name: `${M}-root` }, status: { phase: 'Pending' } });
        },
        reason: 'DVPending',
      },
    ];
    for (const tc of cases) {
      it(`waits ${tc.name}, with Ready False`, async () => {
        seedMachine(env, tc.setup);
        if (tc.after) {
          await pass(); // creates the VM
          tc.after(env);
        }

        const { error, result, stored } = await pass();

        expect(error).to.equal(undefined);
        expect(result).to.deep.equal({});
        expect(conditionOf(stored, VM_PROVISIONED)).to.deep.equal({ status: 'False', reason: tc.reason });
        expect(conditionOf(stored, 'Ready')).to.deep.equal({ status: 'False', reason: 'IssuesReported' });
        expect(v1beta1ConditionOf(stored, 'Ready')).to.deep.equal({ status: 'False', reason: tc.reason });
        expect(stored?.status?.ready).to.equal(false);
      });
    }

    it('reports a VM marked terminal as failed, so Cluster API replaces the machine', async () => {
      seedMachine(env);
      await pass();
      const vm = vmOf(env);
      if (!vm) throw new Error('VM not created');
      await env.client.mergePatch(VIRTUAL_MACHINE_TYPE, { namespace: NS, name: M }, { metadata: { labels: { [VM_TERMINAL_LABEL]: 'disk lost' } } });

      const { stored, events } = await pass();

      expect(conditionOf(stored, VM_PROVISIONED)).to.deep.equal({ status: 'False', reason: Reasons.vmTerminal });
      expect(conditionOf(stored, 'Ready')).to.deep.equal({ status: 'False', reason: 'IssuesReported' });
      expect(v1beta1ConditionOf(stored, 'Ready')).to.deep.equal({ status: 'False', reason: Reasons.vmTerminal });
      expect(stored?.status?.failureReason).to.equal(TERMINAL_FAILURE_REASON);
      expect(stored?.status?.failureMessage).to.contain('disk lost');
      expect(events.map((e) => [e.type, e.reason])).to.deep.equal([['Warning', Reasons.vmTerminal]]);
    });
  });

  describe('pause and ownership', () => {
    const cases: { name: string; setup: Setup }[] = [
      { name: 'its Cluster has spec.paused', setup: { clusterSpec: { paused: true } } },
      { name: 'it has the paused annotation', setup: { metadata: { annotations: { [PAUSED_ANNOTATION]: '' } } } },
    ];
    for (const tc of cases) {
      it(`only reports Paused while ${tc.name}`, async () => {
        seedMachine(env, tc.setup);

        const { stored } = await pass();

        expect(conditionOf(stored, PAUSED_CONDITION)).to.deep.equal({ status: 'True', reason: 'Paused' });
        expect(stored?.metadata.finalizers).to.equal(undefined);
        expect(vmOf(env)).to.equal(undefined);
      });
    }

    it('does nothing until a Machine owns the KubevirtMachine', async () => {
      seedMachine(env, { metadata: { ownerReferences: [] } });

      const { stored } = await pass();

      expect(env.api.writes()).to.have.length(0);
      expect(stored?.status).to.equal(undefined);
    });
  });

  describe('deletion', () => {
    it('deletes the VM with Ready False, then the userdata Secret and the finalizer once the VM is gone', async () => {
      seedMachine(env);
      await pass();
      const live = env.stored(KubevirtMachineGVK, M) as KubevirtMachine | undefined;
      if (!live) throw new Error('KubevirtMachine missing');
      env.seed({ ...deleting(live), status: { ...live.status, ready: true, conditions: provisionedConditions() } });

      const first = await pass();
      expect(vmOf(env)).to.equal(undefined);
      expect(first.stored?.metadata.finalizers).to.deep.equal([MACHINE_FINALIZER]);
      expect(conditionOf(first.stored, VM_PROVISIONED)).to.deep.equal({ status: 'False', reason: Reasons.deleting });
      expect(conditionOf(first.stored, 'Ready')).to.deep.equal({ status: 'False', reason: 'IssuesReported' });
      expect(v1beta1ConditionOf(first.stored, 'Ready')).to.deep.equal({ status: 'False', reason: Reasons.deleting });
      expect(first.events.map((e) => e.reason)).to.deep.equal(['DeletedVirtualMachine']);

      const second = await pass();
      expect(second.error).to.equal(undefined);
      expect(env.stored(SECRET_TYPE, `${BOOTSTRAP}-userdata`)).to.equal(undefined);
      expect(second.stored).to.equal(undefined);
    });

    it('keeps the finalizer and reports Ready False while the infra cluster cannot be reached', async () => {
      seedMachine(env, { spec: { infraClusterSecretRef: { name: 'gone-kubeconfig' } } });
      const live = env.stored(KubevirtMachineGVK, M) as KubevirtMachine | undefined;
      if (!live) throw new Error('KubevirtMachine missing');
      env.seed({ ...deleting(live), status: { conditions: provisionedConditions() } });

      const { error, stored, events } = await pass();

      expect(error?.message).to.match(/gone-kubeconfig not found/);
      expect(stored?.metadata.finalizers).to.deep.equal([MACHINE_FINALIZER]);
      expect(conditionOf(stored, 'Ready')).to.deep.equal({ status: 'False', reason: 'IssuesReported' });
      expect(events.map((e) => [e.type, e.reason])).to.deep.equal([['Warning', Reasons.infraClusterUnavailable]]);
    });

    it('keeps the finalizer and the VM while its Cluster is paused', async () => {
      seedMachine(env);
      await pass();
      env.seed(cluster({}, { paused: true }));
      const live = env.stored(KubevirtMachineGVK, M) as KubevirtMachine | undefined;
      if (!live) throw new Error('KubevirtMachine missing');
      env.seed(deleting(live));

      const { stored } = await pass();

      expect(stored?.metadata.finalizers).to.deep.equal([MACHINE_FINALIZER]);
      expect(vmOf(env)).to.not.equal(undefined);
    });
  });

  describe('failures turn Ready False with the reason', () => {
    const isVMCreate = (req: RestRequest): boolean => req.method === 'POST' && req.path.endsWith('/virtualmachines');
    const cases: { name: string; setup: Setup; inject?: (env: InfraEnv) => void; reason: string; error: RegExp }[] = [
      {
        name: 'the infra cluster kubeconfig Secret is missing',
        setup: { spec: { infraClusterSecretRef: { name: 'missing-kubeconfig' } } },
        reason: Reasons.infraClusterUnavailable,
        error: /missing-kubeconfig not found/,
      },
      {
        name: 'the apiserver refuses to create the VM',
        setup: {},
        inject: (e) => { e.api.failNext(isVMCreate, 500); },
        reason: Reasons.vmCreateFailed,
        error: /create VM tenants\/m1: .*injected failure/,
      },
    ];
    for (const tc of cases) {
      it(`when ${tc.name}`, async () => {
        seedMachine(env, tc.setup);
        tc.inject?.(env);

        const { error, stored } = await pass();

        expect(error?.message).to.match(tc.error);
        expect(conditionOf(stored, VM_PROVISIONED)).to.deep.equal({ status: 'False', reason: tc.reason });
        expect(conditionOf(stored, 'Ready')).to.deep.equal({ status: 'False', reason: 'IssuesReported' });
        expect(v1beta1ConditionOf(stored, 'Ready')).to.deep.equal({ status: 'False', reason: tc.reason });
        expect(stored?.status?.deprecated?.v1beta1?.conditions?.[0]).to.include({ type: 'Ready', status: 'False' });
      });
    }
  });
});
