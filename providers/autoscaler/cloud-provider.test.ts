import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import { DELETE_MACHINE_ANNOTATION, GPU_LABEL, SCALE_DOWN_REQUESTED_ANNOTATION } from './api/annotations.js';
import { RpcError } from './cloud-provider.js';
import { Env, kubevirtMachine, machine, machineDeployment, machineTemplate, NS } from './env.testdata.js';
import { decodeNode } from './externalgrpc/protos.js';
import { pendingMachineId } from './instance.js';

const GROUP = `MachineDeployment/${NS}/workers`;

/** The gRPC code a call fails with; fails the test when it succeeds. */
async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (err) {
    if (err instanceof RpcError) return status[err.code];
    throw err;
  }
  throw new Error('the call succeeded');
}

describe('providers/autoscaler/cloud-provider', () => {
  let env: Env;

  beforeEach(async () => {
    env = new Env();
    await env.seed(
      machineDeployment('workers', { replicas: 2, min: '1', max: '4' }),
      machineDeployment('not-autoscaled', { replicas: 1 }),
      machineDeployment('half', { replicas: 1, min: '1' }),
      machineDeployment('other-cluster', { replicas: 1, min: '0', max: '3', cluster: 'globex' }),
      machine('workers-a', 'workers', { providerID: 'kubevirt://workers-a', node: 'workers-a', created: '2026-01-01T00:00:00Z' }),
      machine('workers-b', 'workers', { providerID: 'kubevirt://workers-b', node: 'workers-b', created: '2026-01-01T00:00:01Z' }),
      machine('plain-a', 'not-autoscaled', { providerID: 'kubevirt://plain-a', node: 'plain-a' }),
      machineTemplate('workers-template', { cpu: '2', memory: '4Gi', 'nvidia.com/gpu': '1' }, ['nvidia.com/TU104GL_Tesla_T4']),
    );
  });
  afterEach(() => env.close());

  it('lists the annotated MachineDeployments of every Cluster in scope as node groups, with their bounds', async () => {
    const groups = await env.provider.nodeGroups();
    expect(groups.map((g) => [g.id, g.minSize, g.maxSize])).to.deep.equal([
      [`MachineDeployment/${NS}/other-cluster`, 0, 3],
      [GROUP, 1, 4],
    ]);
    expect(groups[1]?.debug).to.contain('replicas 2, min 1, max 4');
  });

  it('limits node groups to the Clusters it was given', async () => {
    const scoped = new Env({ namespace: NS, clusters: ['globex'] });
    try {
      await scoped.seed(machineDeployment('workers', { replicas: 2, min: '1', max: '4' }), machineDeployment('other-cluster', { replicas: 1, min: '0', max: '3', cluster: 'globex' }));
      expect((await scoped.provider.nodeGroups()).map((g) => g.id)).to.deep.equal([`MachineDeployment/${NS}/other-cluster`]);
      expect(await codeOf(scoped.provider.targetSize(GROUP))).to.equal('NOT_FOUND');
    } finally {
      await scoped.close();
    }
  });

  it('finds the node group of a node by providerID, by the placeholder id of an unregistered Machine and by Cluster API node annotations', async () => {
    await env.seed(machine('workers-c', 'workers'));
    expect((await env.provider.nodeGroupForNode({ providerID: 'kubevirt://workers-a', name: 'workers-a' }))?.id).to.equal(GROUP);
    const pending = env.machine('workers-c');
    if (!pending) throw new Error('missing');
    expect((await env.provider.nodeGroupForNode({ providerID: pendingMachineId(pending), name: pendingMachineId(pending) }))?.id).to.equal(GROUP);
    expect((await env.provider.nodeGroupForNode({ name: 'workers-b', annotations: { 'cluster.x-k8s.io/machine': 'workers-b', 'cluster.x-k8s.io/cluster-namespace': NS } }))?.id).to.equal(GROUP);
    expect(await env.provider.nodeGroupForNode({ providerID: 'kubevirt://plain-a' }), 'a MachineDeployment without bounds').to.equal(undefined);
    expect(await env.provider.nodeGroupForNode({ providerID: 'kubevirt://unknown' }), 'a node that is not ours').to.equal(undefined);
    expect(await env.provider.nodeGroupForNode({ name: 'bare' }), 'no providerID, no annotations').to.equal(undefined);
    expect(await codeOf(env.provider.nodeGroupForNode(undefined))).to.equal('INVALID_ARGUMENT');
    expect(await codeOf(env.provider.nodeGroupForNode({}))).to.equal('INVALID_ARGUMENT');
  });

  it('looks a providerID up only among the Machines of the namespace it is limited to', async () => {
    const scoped = new Env({ namespace: NS });
    try {
      await scoped.seed(
        machineDeployment('workers', { replicas: 1, min: '1', max: '4' }),
        machineDeployment('workers', { replicas: 2, min: '1', max: '4', namespace: 'elsewhere' }),
        machine('workers-a', 'workers', { providerID: 'kubevirt://workers-a' }),
        machine('workers-a', 'workers', { namespace: 'elsewhere', providerID: 'kubevirt://workers-a' }),
        machine('stray', 'workers', { namespace: 'elsewhere', providerID: 'kubevirt://stray' }),
      );
      expect((await scoped.provider.nodeGroupForNode({ providerID: 'kubevirt://workers-a' }))?.id, 'the same providerID elsewhere does not count').to.equal(GROUP);
      expect(await scoped.provider.nodeGroupForNode({ providerID: 'kubevirt://stray' }), 'a Machine outside the namespace').to.equal(undefined);
    } finally {
      await scoped.close();
    }
  });

  it('refuses to guess when one providerID is on Machines of two namespaces without a namespace annotation', async () => {
    await env.seed(machine('workers-a', 'workers', { namespace: 'elsewhere', providerID: 'kubevirt://workers-a' }));
    expect(await codeOf(env.provider.nodeGroupForNode({ providerID: 'kubevirt://workers-a' }))).to.equal('FAILED_PRECONDITION');
    const group = await env.provider.nodeGroupForNode({ providerID: 'kubevirt://workers-a', annotations: { 'cluster.x-k8s.io/cluster-namespace': NS } });
    expect(group?.id).to.equal(GROUP);
  });

  it('answers unknown, malformed and half-annotated groups with NOT_FOUND, INVALID_ARGUMENT and FAILED_PRECONDITION', async () => {
    expect(await env.provider.targetSize(GROUP)).to.equal(2);
    expect(await codeOf(env.provider.targetSize(`MachineDeployment/${NS}/nope`))).to.equal('NOT_FOUND');
    expect(await codeOf(env.provider.targetSize(`MachineDeployment/${NS}/not-autoscaled`))).to.equal('NOT_FOUND');
    expect(await codeOf(env.provider.targetSize(''))).to.equal('INVALID_ARGUMENT');
    expect(await codeOf(env.provider.targetSize('workers'))).to.equal('INVALID_ARGUMENT');
    expect(await codeOf(env.provider.targetSize(`MachineDeployment/${NS}/half`))).to.equal('FAILED_PRECONDITION');
  });

  it('increases the replicas through the scale subresource up to the max size, recording the decision', async () => {
    await env.provider.increaseSize(GROUP, 2);
    expect(env.md('workers')?.spec?.replicas).to.equal(4);
    const scalePatches = env.api.writes().filter((w) => w.path.endsWith('/machinedeployments/workers/scale'));
    expect(scalePatches).to.have.length(1);
    expect(scalePatches[0]?.body).to.have.nested.property('metadata.resourceVersion');
    expect(await codeOf(env.provider.increaseSize(GROUP, 1))).to.equal('OUT_OF_RANGE');
    expect(await codeOf(env.provider.increaseSize(GROUP, 0))).to.equal('INVALID_ARGUMENT');
    expect(await codeOf(env.provider.increaseSize(GROUP, -1))).to.equal('INVALID_ARGUMENT');
    expect(env.md('workers')?.spec?.replicas).to.equal(4);
    const reasons = await env.eventReasons();
    expect(reasons.some((r) => r.startsWith('ScaledUp: cluster-autoscaler asked for 2 more node(s): replicas 2 -> 4'))).to.equal(true);
    expect(reasons.some((r) => r.startsWith('ScaleRejected: increase size by 1 to 5 would exceed max size 4'))).to.equal(true);
    const metrics = await env.registry.getMetricsAsJSON();
    const decisions = metrics.find((m) => m.name === 'kvcloud_autoscaler_scale_decisions_total')?.values.map((v) => `${String(v.labels.result)}=${String(v.value)}`);
    expect(decisions).to.have.members(['executed=1', 'rejected=1']);
  });

  it('applies two concurrent increases one after the other, so neither is lost', async () => {
    await Promise.all([env.provider.increaseSize(GROUP, 1), env.provider.increaseSize(GROUP, 1)]);
    expect(env.md('workers')?.spec?.replicas).to.equal(4);
  });

  it('decides again when another writer changed the replicas after the read', async () => {
    let raced = false;
    const md = env.md('workers');
    if (!md) throw new Error('missing');
    // The first scale patch carries a resourceVersion that a user's write has just made stale.
    env.api.failNext((req) => {
      if (raced || !req.path.endsWith('/scale')) return false;
      raced = true;
      env.api.seed({ ...md, spec: { ...md.spec, clusterName: 'acme', selector: {}, template: md.spec?.template ?? { spec: { clusterName: 'acme' } }, replicas: 3 } });
      return true;
    }, 409, 'Conflict');
    await env.provider.increaseSize(GROUP, 1);
    expect(env.md('workers')?.spec?.replicas).to.equal(4);
  });

  it('gives up with ABORTED when the MachineDeployment keeps changing, and says so on it', async () => {
    for (let i = 0; i < 5; i++) env.api.failNext((req) => req.path.endsWith('/scale'), 409, 'Conflict');
    expect(await codeOf(env.provider.increaseSize(GROUP, 1))).to.equal('ABORTED');
    expect((await env.eventReasons()).some((r) => r.startsWith('ScaleFailed'))).to.equal(true);
  });

  it('deletes a node by marking its Machine first and then lowering the replicas by one', async () => {
    await env.provider.deleteNodes(GROUP, [{ providerID: 'kubevirt://workers-b', name: 'workers-b' }]);
    expect(env.md('workers')?.spec?.replicas).to.equal(1);
    expect(env.machine('workers-b')?.metadata.annotations).to.have.property(DELETE_MACHINE_ANNOTATION);
    expect(env.machine('workers-a')?.metadata.annotations ?? {}).to.not.have.property(DELETE_MACHINE_ANNOTATION);
    const order = env.api.writes().filter((w) => !w.path.includes('/events')).map((w) => w.path.split('/').slice(-2).join('/'));
    expect(order).to.deep.equal(['machines/workers-b', 'workers/scale']);
    expect((await env.eventReasons()).some((r) => r.startsWith('ScaledDown: delete node(s) workers-b (Machine workers-b): replicas 2 -> 1'))).to.equal(true);
  });

  it('lowers the replicas once when the same node is asked for twice, concurrently or again later', async () => {
    await env.seed({ ...machineDeployment('workers', { replicas: 3, min: '0', max: '4' }) }, machine('workers-c', 'workers', { providerID: 'kubevirt://workers-c', node: 'workers-c' }));
    const node = { providerID: 'kubevirt://workers-a', name: 'workers-a' };
    await Promise.all([env.provider.deleteNodes(GROUP, [node]), env.provider.deleteNodes(GROUP, [node, node])]);
    await env.provider.deleteNodes(GROUP, [node]);
    expect(env.md('workers')?.spec?.replicas).to.equal(2);
    expect(Object.keys(env.machine('workers-a')?.metadata.annotations ?? {})).to.include.members([DELETE_MACHINE_ANNOTATION, SCALE_DOWN_REQUESTED_ANNOTATION]);
  });

  it('deletes the nodes of two concurrent calls, each its own Machine', async () => {
    await env.seed({ ...machineDeployment('workers', { replicas: 2, min: '0', max: '4' }) });
    await Promise.all([
      env.provider.deleteNodes(GROUP, [{ providerID: 'kubevirt://workers-a' }]),
      env.provider.deleteNodes(GROUP, [{ providerID: 'kubevirt://workers-b' }]),
    ]);
    expect(env.md('workers')?.spec?.replicas).to.equal(0);
    for (const m of ['workers-a', 'workers-b']) expect(env.machine(m)?.metadata.annotations, m).to.have.property(DELETE_MACHINE_ANNOTATION);
  });

  it('refuses deletions below the min size, of other groups\' nodes, of unknown nodes and without nodes, changing nothing', async () => {
    await env.seed(machine('workers-z', 'workers'));
    expect(await codeOf(env.provider.deleteNodes(GROUP, [{ providerID: 'kubevirt://workers-a' }, { providerID: 'kubevirt://workers-b' }]))).to.equal('OUT_OF_RANGE');
    expect(await codeOf(env.provider.deleteNodes(GROUP, [{ providerID: 'kubevirt://plain-a' }]))).to.equal('INVALID_ARGUMENT');
    expect(await codeOf(env.provider.deleteNodes(GROUP, [{ providerID: 'kubevirt://ghost', name: 'ghost' }]))).to.equal('NOT_FOUND');
    expect(await codeOf(env.provider.deleteNodes(GROUP, []))).to.equal('INVALID_ARGUMENT');
    expect(await codeOf(env.provider.deleteNodes(GROUP, [null]))).to.equal('INVALID_ARGUMENT');
    expect(await codeOf(env.provider.deleteNodes(GROUP, undefined))).to.equal('INVALID_ARGUMENT');
    expect(env.md('workers')?.spec?.replicas).to.equal(2);
    for (const m of ['workers-a', 'workers-b', 'plain-a']) expect(env.machine(m)?.metadata.annotations ?? {}, m).to.not.have.property(DELETE_MACHINE_ANNOTATION);
  });

  it('takes the delete mark back when the replicas cannot be lowered, keeping a mark a user had set', async () => {
    await env.seed(machine('workers-a', 'workers', { providerID: 'kubevirt://workers-a', node: 'workers-a', annotations: { [DELETE_MACHINE_ANNOTATION]: 'yes' } }));
    env.api.failNext((req) => req.path.endsWith('/scale'), 500);
    expect(await codeOf(env.provider.deleteNodes(GROUP, [{ providerID: 'kubevirt://workers-b' }])).catch((err: unknown) => (err as Error).message)).to.contain('injected failure');
    expect(env.machine('workers-b')?.metadata.annotations ?? {}).to.not.have.any.keys(DELETE_MACHINE_ANNOTATION, SCALE_DOWN_REQUESTED_ANNOTATION);
    env.api.failNext((req) => req.path.endsWith('/scale'), 500);
    await env.provider.deleteNodes(GROUP, [{ providerID: 'kubevirt://workers-a' }]).catch(() => undefined);
    expect(env.machine('workers-a')?.metadata.annotations).to.deep.equal({ [DELETE_MACHINE_ANNOTATION]: 'yes' });
  });

  it('re-checks the min size when a concurrent writer lowered the replicas between mark and scale', async () => {
    const md = env.md('workers');
    if (!md) throw new Error('missing');
    let raced = false;
    env.api.failNext((req) => {
      if (raced || !req.path.endsWith('/scale')) return false;
      raced = true;
      env.api.seed({ ...md, spec: { ...md.spec, clusterName: 'acme', selector: {}, template: md.spec?.template ?? { spec: { clusterName: 'acme' } }, replicas: 1 } });
      return true;
    }, 409, 'Conflict');
    expect(await codeOf(env.provider.deleteNodes(GROUP, [{ providerID: 'kubevirt://workers-b' }]))).to.equal('OUT_OF_RANGE');
    expect(env.md('workers')?.spec?.replicas).to.equal(1);
    expect(env.machine('workers-b')?.metadata.annotations ?? {}).to.not.have.property(DELETE_MACHINE_ANNOTATION);
  });

  it('decreases the target by cancelling replicas without Machines, then unregistered Machines, never a registered node', async () => {
    await env.seed(
      machineDeployment('workers', { replicas: 5, min: '0', max: '6' }),
      machine('workers-c', 'workers', { created: '2026-01-01T00:00:02Z' }),
      machine('workers-d', 'workers', { created: '2026-01-01T00:00:03Z' }),
    );
    await env.provider.decreaseTargetSize(GROUP, -1);
    expect(env.md('workers')?.spec?.replicas).to.equal(4);
    expect(env.machine('workers-d')?.metadata.annotations ?? {}, 'one replica had no Machine').to.not.have.property(DELETE_MACHINE_ANNOTATION);
    await env.provider.decreaseTargetSize(GROUP, -1);
    expect(env.md('workers')?.spec?.replicas).to.equal(3);
    expect(env.machine('workers-d')?.metadata.annotations, 'the newest unregistered Machine').to.have.property(DELETE_MACHINE_ANNOTATION);
    expect(await codeOf(env.provider.decreaseTargetSize(GROUP, -2))).to.equal('FAILED_PRECONDITION');
    expect(await codeOf(env.provider.decreaseTargetSize(GROUP, 1))).to.equal('INVALID_ARGUMENT');
    await env.provider.decreaseTargetSize(GROUP, -1);
    expect(env.md('workers')?.spec?.replicas).to.equal(2);
    expect(env.machine('workers-a')?.metadata.annotations ?? {}).to.not.have.property(DELETE_MACHINE_ANNOTATION);
  });

  it('refuses to decrease the target below the min size', async () => {
    await env.seed(machineDeployment('workers', { replicas: 3, min: '2', max: '6' }));
    expect(await codeOf(env.provider.decreaseTargetSize(GROUP, -2))).to.equal('OUT_OF_RANGE');
  });

  it('lists the Machines as instances with their states, and why a VM is not up from its KubevirtMachine in the cache', async () => {
    // Cluster API mirrors only the KubevirtMachine's Ready summary into the Machine; the reason is on VMProvisioned.
    const infraNotReady = { type: 'InfrastructureReady', status: 'False' as const, reason: 'IssuesReported', message: '* VMProvisioned: 0/2 nodes are available' };
    await env.seed(
      machine('workers-c', 'workers', { conditions: [infraNotReady] }),
      kubevirtMachine('workers-c', [{ type: 'VMProvisioned', status: 'False', reason: 'Unschedulable', message: '0/2 nodes are available' }]),
      machine('workers-d', 'workers', { conditions: [infraNotReady] }),
      kubevirtMachine('workers-d', [{ type: 'VMProvisioned', status: 'False', reason: 'VMNotReady' }]),
    );
    await env.provider.refresh();
    const instances = await env.provider.nodes(GROUP);
    expect(instances.map((i) => [i.id, i.status.instanceState, i.status.errorInfo?.errorCode ?? ''])).to.deep.equal([
      ['kubevirt://workers-a', 'instanceRunning', ''],
      ['kubevirt://workers-b', 'instanceRunning', ''],
      [`kvcloud-machine://${NS}/workers-c`, 'instanceCreating', 'Unschedulable'],
      [`kvcloud-machine://${NS}/workers-d`, 'instanceCreating', ''],
    ]);
    // The VM got placed: the next answer follows the watch.
    await env.seed(kubevirtMachine('workers-c', [{ type: 'VMProvisioned', status: 'False', reason: 'VMNotReady' }]));
    expect((await env.provider.nodes(GROUP)).find((i) => i.id.endsWith('workers-c'))?.status.errorInfo).to.equal(null);
  });

  it('builds the template node from the template capacity, and answers UNIMPLEMENTED when the template has none', async () => {
    const node = decodeNode(await env.provider.templateNodeInfo(GROUP)) as { metadata: { labels: Record<string, string> }; status: { capacity: Record<string, { string: string }> } };
    expect(node.status.capacity.cpu?.string).to.equal('2');
    expect(node.status.capacity.memory?.string).to.equal('4Gi');
    expect(node.metadata.labels[GPU_LABEL]).to.equal('TU104GL_Tesla_T4');
    expect(node.metadata.labels['kubernetes.io/arch']).to.equal('arm64');
    await env.seed(machineTemplate('workers-template', undefined));
    expect(await codeOf(env.provider.templateNodeInfo(GROUP))).to.equal('UNIMPLEMENTED');
    await env.seed(machineDeployment('other-cluster', { replicas: 0, min: '0', max: '3', cluster: 'globex' }));
    expect(await codeOf(env.provider.templateNodeInfo(`MachineDeployment/${NS}/other-cluster`)), 'template missing').to.equal('FAILED_PRECONDITION');
    const md = env.md('workers');
    if (!md?.spec) throw new Error('missing');
    md.spec.template.spec.infrastructureRef = { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'DockerMachineTemplate', name: 'x' };
    await env.seed(md);
    expect(await codeOf(env.provider.templateNodeInfo(GROUP))).to.equal('UNIMPLEMENTED');
  });

  it('reports the GPU types of the node groups\' templates and the GPU label', async () => {
    expect(await env.provider.availableGpuTypes()).to.deep.equal(['TU104GL_Tesla_T4']);
    expect(env.provider.gpuLabel()).to.equal(GPU_LABEL);
  });

  it('returns the defaults with the group\'s option annotations on top, and warns about the ones it ignored', async () => {
    await env.seed(
      machineDeployment('workers', {
        replicas: 2,
        min: '1',
        max: '4',
        annotations: { 'cluster.x-k8s.io/autoscaling-options-scaledownunneededtime': '90s', 'cluster.x-k8s.io/autoscaling-options-scaledownutilizationthreshold': 'lots' },
      }),
    );
    const defaults = { scaleDownUtilizationThreshold: 0.5, scaleDownGpuUtilizationThreshold: 0.5, zeroOrMaxNodeScaling: false, ignoreDaemonSetsUtilization: false, scaleDownUnneededDuration: { seconds: 600, nanos: 0 }, scaleDownUnreadyDuration: null, MaxNodeProvisionDuration: null };
    const options = await env.provider.options(GROUP, defaults);
    expect(options).to.deep.equal({ ...defaults, scaleDownUnneededDuration: { seconds: 90, nanos: 0 } });
    expect((await env.provider.options(GROUP, null)).scaleDownUtilizationThreshold).to.equal(0);
    expect((await env.eventReasons()).some((r) => r.startsWith('InvalidAutoscalingOption'))).to.equal(true);
  });

  it('refreshes by listing through the cache', async () => {
    await env.provider.refresh();
    expect(env.api.writes()).to.have.length(0);
  });
});
