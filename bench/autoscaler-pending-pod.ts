// Benchmark: a tenant pod that fits no node, to Running on a new VM, split into phases, on the autoscaler suites'
// tenant (e2e/harness/autoscaler-tenant.ts: clusterctl with Cluster API and both kvcloud providers, the KubeVirt
// simulator, a hosted control plane, one worker) and kvcloud's externalgrpc server. This script plays
// cluster-autoscaler: when the scheduler has marked the pod Unschedulable it makes the calls a scale-up makes
// (Refresh, NodeGroups, per group NodeGroupTargetSize, NodeGroupNodes and NodeGroupTemplateNodeInfo, then
// NodeGroupIncreaseSize), so the autoscaler's own decision time (its scan interval and simulation) is not in it;
// the real cluster-autoscaler is `make test-autoscaler`. Baseline in the same run: the same pod on a node with room.
// Every bench pod repels the others, so each round's pod needs a node of its own. Heavy, so not part of `make test`.
// Run inside the cluster network namespace: tsx localcloud/cluster/netns.ts tsx bench/autoscaler-pending-pod.ts [rounds=2]
import { MACHINE_DEPLOYMENT_NAME_LABEL, MACHINE_TYPE, type Machine } from '../lib/apis/cluster-api.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, type VirtualMachineInstance } from '../lib/apis/kubevirt.js';
import { Client } from '../lib/kube/client.js';
import { loadKubeConfig } from '../lib/kube/kubeconfig.js';
import type { KubeObject } from '../lib/kube/object.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import { RestTransport } from '../lib/kube/rest-transport.js';
import { TEST_ECHO_IMAGE } from '../localcloud/cluster/images.js';
import { NODE, type Node } from '../localcloud/node-object.js';
import { waitFor } from '../localcloud/wait.js';
import { dialExternalGrpc, startAutoscalerTenant, type ExternalGrpcCall } from '../e2e/harness/autoscaler-tenant.js';

const ROUNDS = Number(process.argv[2] ?? 2);
const NAMESPACE = 'autoscaled';
const CLUSTER = 'bench';
const POD = { apiVersion: 'v1', kind: 'Pod' } as const;
const APP = 'autoscaler-bench';
const SAMPLE_MS = 100;
const PHASE_TIMEOUT_MS = 8 * 60_000;

interface PodView extends KubeObject {
  spec?: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string; reason?: string }[] };
}

function benchPod(name: string): KubeObject & { spec: object } {
  const labels = { app: APP };
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels },
    spec: {
      terminationGracePeriodSeconds: 1,
      affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: labels } }] } },
      containers: [{ name: 'echo', image: TEST_ECHO_IMAGE, args: ['--port=8080'] }],
    },
  };
}

const isReady = (n: Node): boolean => n.status?.conditions.find((c) => c.type === 'Ready')?.status === 'True';
// The tenant's CCM takes this taint off once it has given the Node its providerID and addresses.
const initialized = (n: Node): boolean => !(n.spec?.taints ?? []).some((t) => t.key === 'node.cloudprovider.kubernetes.io/uninitialized' || t.key === 'node.kubernetes.io/not-ready');
const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** Polls `probe` every SAMPLE_MS until it gives a value; returns the value and when it was first seen. */
async function milestone<T>(what: string, probe: () => Promise<T | undefined>): Promise<{ value: T; at: number }> {
  const value = await waitFor(probe, { timeoutMs: PHASE_TIMEOUT_MS, intervalMs: SAMPLE_MS, what });
  return { value, at: performance.now() };
}

/** The scale-up calls cluster-autoscaler makes, growing `group` by one; the milliseconds each RPC took, summed by method. */
async function scaleUp(call: ExternalGrpcCall, group: string): Promise<Map<string, number>> {
  const took = new Map<string, number>();
  const timed = async (method: string, request: object) => {
    const t = performance.now();
    const response = await call(method, request);
    took.set(method, (took.get(method) ?? 0) + performance.now() - t);
    return response;
  };
  await timed('Refresh', {});
  const groups = (await timed('NodeGroups', {})).nodeGroups as { id: string }[];
  for (const { id } of groups) {
    await timed('NodeGroupTargetSize', { id });
    await timed('NodeGroupNodes', { id });
    await timed('NodeGroupTemplateNodeInfo', { id });
  }
  await timed('NodeGroupIncreaseSize', { id: group, delta: 1 });
  return took;
}

const fixture = await startAutoscalerTenant({ namespace: NAMESPACE, clusterName: CLUSTER, workers: { min: 1, max: ROUNDS + 1 }, atZero: { max: 1 } });
try {
  const server = await fixture.startExternalGrpcServer();
  const grpcClient = dialExternalGrpc(server.port, server.pem);
  const transport = await RestTransport.fromKubeConfig(loadKubeConfig(fixture.tenantKubeconfig));
  const tenant = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-bench' });
  const mgmt = fixture.mgmt;
  const group = `MachineDeployment/${NAMESPACE}/${fixture.workers}`;
  const podOf = (name: string) => tenant.get<PodView>(POD, { namespace: 'default', name }, { direct: true });
  const nodes = () => tenant.list<Node>(NODE, { direct: true });
  const machines = () => mgmt.list<Machine>(MACHINE_TYPE, { namespace: NAMESPACE, labelSelector: `${MACHINE_DEPLOYMENT_NAME_LABEL}=${fixture.workers}`, direct: true });

  // Baseline: the first bench pod, on the worker that has room.
  const baselineStart = performance.now();
  await tenant.create(benchPod(`${APP}-0`));
  const baseline = (await milestone(`pod ${APP}-0 Running`, async () => ((await podOf(`${APP}-0`))?.status?.phase === 'Running' ? true : undefined))).at - baselineStart;

  const PHASES = [
    'scheduler marks the pod Unschedulable',
    'our server: the scale-up calls',
    'Cluster API: a Machine for the new replica',
    'KubeVirt: VM created and running',
    'guest: kubeadm join, Node registered',
    'Node Ready and initialized (CCM)',
    'pod scheduled and Running',
  ];
  const rows: number[][] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    const name = `${APP}-${String(round)}`;
    const knownMachines = new Set((await machines()).map((m) => m.metadata.name));
    const knownNodes = new Set((await nodes()).map((n) => n.metadata.name));
    const t0 = performance.now();
    await tenant.create(benchPod(name));
    const unschedulable = await milestone(`pod ${name} Unschedulable`, async () => {
      const scheduled = (await podOf(name))?.status?.conditions?.find((c) => c.type === 'PodScheduled');
      return scheduled?.status === 'False' && scheduled.reason === 'Unschedulable' ? true : undefined;
    });
    const took = await scaleUp(grpcClient.call, group);
    const called = performance.now();
    const machine = await milestone('a new Machine', async () => (await machines()).find((m) => !knownMachines.has(m.metadata.name)));
    const vmName = machine.value.spec?.infrastructureRef?.name ?? '';
    const vmi = await milestone(`VirtualMachineInstance ${vmName} Running`, async () => {
      const found = await mgmt.get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace: NAMESPACE, name: vmName }, { direct: true });
      return found?.status?.phase === 'Running' ? true : undefined;
    });
    const registered = await milestone('a new tenant Node', async () => (await nodes()).find((n) => !knownNodes.has(n.metadata.name))?.metadata.name);
    const ready = await milestone(`Node ${registered.value} Ready and initialized`, async () => {
      const node = (await nodes()).find((n) => n.metadata.name === registered.value);
      return node && isReady(node) && initialized(node) ? true : undefined;
    });
    const running = await milestone(`pod ${name} Running`, async () => ((await podOf(name))?.status?.phase === 'Running' ? true : undefined));
    const marks = [t0, unschedulable.at, called, machine.at, vmi.at, registered.at, ready.at, running.at];
    rows.push(marks.slice(1).map((m, i) => m - (marks[i] ?? m)));
    console.log(`round ${String(round)}: ${name} Running on ${registered.value} after ${seconds(running.at - t0)}; RPCs ${[...took].map(([m, t]) => `${m} ${t.toFixed(0)} ms`).join(', ')}`);
  }

  const mean = (i: number) => rows.reduce((s, r) => s + (r[i] ?? 0), 0) / rows.length;
  const total = rows.reduce((s, r) => s + r.reduce((a, b) => a + b, 0), 0) / rows.length;
  console.log(`\npending tenant pod to Running on a new VM, mean of ${String(ROUNDS)} round(s), sampled every ${String(SAMPLE_MS)} ms:`);
  PHASES.forEach((phase, i) => {
    console.log(`  ${phase.padEnd(44)} ${seconds(mean(i)).padStart(9)} ${`${((mean(i) / total) * 100).toFixed(1)}%`.padStart(7)}`);
  });
  console.log(`  ${'total'.padEnd(44)} ${seconds(total).padStart(9)}`);
  console.log(`baseline, the same pod on a node with room: ${seconds(baseline)}; new VM/baseline ${(total / baseline).toFixed(1)}x; our server's share of the total ${((mean(1) / total) * 100).toFixed(2)}%`);
  grpcClient.close();
  transport.close();
  await server.stop();
} finally {
  await fixture.stop();
}
