// Benchmark: pods on tenant VMs against pods on the management cluster's own nodes, in one run. (a) N idle echo
// pods pinned to the management node (the local cluster's pod runner), (b) N pinned to one tenant VM (the guest
// kubelet's runner): pods/s from creation to Running+Ready and memory per idle pod, with the ratio tenant/management;
// (c) a capacity probe that adds tenant VMs with 10 pods each until memory headroom, a VM that does not come up, the
// time budget or the VM cap stops it, and prints how many such workers this machine held and the memory per VM.
// Memory of a pod is the RSS (and PSS, which splits shared pages) of the processes in its network namespace:
// sandbox holder and containers. Heavy, so not part of `make test`. Run inside the cluster network namespace:
//   tsx localcloud/cluster/netns.ts tsx bench/tenant-pods.ts [pods=20] [probe-minutes=15] [max-workers=8]
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Client } from '../lib/kube/client.js';
import type { KubeObject } from '../lib/kube/object.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import { RestTransport } from '../lib/kube/rest-transport.js';
import type { KubeConfig } from '@kubernetes/client-node';
import { TEST_ECHO_IMAGE } from '../localcloud/cluster/images.js';
import type { Pod } from '../localcloud/cluster/pod-api.js';
import { kubectl } from '../localcloud/kubectl.js';
import type { Node } from '../localcloud/node-object.js';
import { waitFor } from '../localcloud/wait.js';
import { COMPUTE_CONTAINER, launcherPodName } from '../simulators/kubevirt/launcher-pod.js';
import { launcherPod, startTenantNodes } from '../e2e/harness/tenant-nodes.js';

const N = Number(process.argv[2] ?? 20);
const PROBE_BUDGET_MS = Number(process.argv[3] ?? 15) * 60_000;
const MAX_WORKERS = Number(process.argv[4] ?? 8);
const PODS_PER_WORKER = 10;
const MIN_AVAILABLE_FRACTION = 0.15;
const VM_READY_TIMEOUT_MS = 180_000;
const CLUSTER_NAME = 'acme';
const NS = 'default';
const MGMT_NODE = 'kvcloud-node-1'; // startCluster's default node
const BENCH_LABEL = 'kvcloud.local/bench';
const TICKS_PER_SECOND = 100; // USER_HZ on Linux
const CPU_SAMPLE_MS = 5_000;
const KiB = 1024;
const MiB = 1024 * KiB;

const vmName = (i: number) => `${CLUSTER_NAME}-md-0-vm${String(i)}`;
/** The fixture names launcher pods from the seed uid-<vm>; extra VMs get theirs the same way. */
const launcherName = (vm: string) => launcherPodName(vm, `uid-${vm}`);

interface PodView extends KubeObject {
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

const isReady = (p: PodView) => p.status?.phase === 'Running' && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
const isReadyNode = (n: Node) => n.status?.conditions.find((c) => c.type === 'Ready')?.status === 'True';

/** An idle pod: the echo server with a readiness probe, pinned to a node so no scheduler time is measured. */
function idlePod(name: string, nodeName: string): Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { [BENCH_LABEL]: 'idle' } },
    spec: {
      nodeName,
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'echo', image: TEST_ECHO_IMAGE, ports: [{ containerPort: 8080 }], readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 1 } }],
    },
  };
}

async function clientFor(kubeConfig: KubeConfig): Promise<Client> {
  const transport = await RestTransport.fromKubeConfig(kubeConfig);
  return new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-bench' });
}

/** Creates the pods at once and returns the seconds until every one is Running and Ready. */
async function startPods(client: Client, names: string[], nodeName: string, timeoutMs: number): Promise<number> {
  const started = performance.now();
  await Promise.all(names.map((name) => client.create(idlePod(name, nodeName))));
  const wanted = new Set(names);
  await waitFor(
    async () => {
      const pods = await client.list<PodView>({ apiVersion: 'v1', kind: 'Pod' }, { namespace: NS, labelSelector: `${BENCH_LABEL}=idle`, direct: true });
      const ready = pods.filter((p) => wanted.has(p.metadata.name ?? '') && isReady(p)).length;
      if (ready === wanted.size) return true;
      throw new Error(`${String(ready)}/${String(wanted.size)} Ready on ${nodeName}`);
    },
    { timeoutMs, intervalMs: 200, what: `${String(names.length)} pods Running and Ready on ${nodeName}` },
  );
  return (performance.now() - started) / 1000;
}

interface Proc {
  pid: number;
  ppid: number;
  netns: string;
  rss: number;
  pss: number;
  /** user + system CPU seconds so far */
  cpu: number;
  hostname: string | undefined;
}

/** Every process of this PID namespace (the run's own: netns.ts mounts a fresh /proc), with its memory in bytes. */
function processes(): Proc[] {
  const procs: Proc[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpu = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
      const rollup = readFileSync(`/proc/${entry}/smaps_rollup`, 'utf8');
      const kib = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(rollup)?.[1] ?? 0) * KiB;
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      const hostname = environ.find((e) => e.startsWith('HOSTNAME='))?.slice('HOSTNAME='.length);
      procs.push({ pid: Number(entry), ppid: Number(fields[1]), cpu, netns: readlinkSync(`/proc/${entry}/ns/net`), rss: kib('Rss'), pss: kib('Pss'), hostname });
    } catch {
      // ended meanwhile, or a kernel thread without a memory map
    }
  }
  return procs;
}

interface Memory {
  rss: number;
  pss: number;
}

const sum = (procs: Proc[]): Memory => procs.reduce((m, p) => ({ rss: m.rss + p.rss, pss: m.pss + p.pss }), { rss: 0, pss: 0 });

/** The memory of each named pod: the processes sharing the network namespace of the one named after it. */
function podMemory(names: string[]): Memory {
  const procs = processes();
  const total = { rss: 0, pss: 0 };
  for (const name of names) {
    const container = procs.find((p) => p.hostname === name);
    if (!container) throw new Error(`no process of pod ${name} (HOSTNAME=${name}) in /proc`);
    const m = sum(procs.filter((p) => p.netns === container.netns));
    total.rss += m.rss;
    total.pss += m.pss;
  }
  return total;
}

/** A process and all its descendants: a VM is its launcher's compute process, whose guest runs the tenant pods. */
function tree(root: number): Proc[] {
  const procs = processes();
  const inTree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of procs) {
      if (inTree.has(p.pid) || !inTree.has(p.ppid)) continue;
      inTree.add(p.pid);
      grew = true;
    }
  }
  return procs.filter((p) => inTree.has(p.pid));
}

/** The share of one core a process tree used over a few idle seconds (its probes, heartbeats and leases). */
async function treeCpu(root: number): Promise<number> {
  const cpu = () => tree(root).reduce((s, p) => s + p.cpu, 0);
  const before = cpu();
  await new Promise((r) => setTimeout(r, CPU_SAMPLE_MS));
  return (cpu() - before) / (CPU_SAMPLE_MS / 1000);
}

/** Machine-wide, so other runs on the machine move it too. */
function meminfo(): { available: number; total: number } {
  const text = readFileSync('/proc/meminfo', 'utf8');
  const bytes = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * KiB;
  return { available: bytes('MemAvailable'), total: bytes('MemTotal') };
}

const availableFraction = () => meminfo().available / meminfo().total;

const settle = () => new Promise((r) => setTimeout(r, 5_000)); // past the first probes' and status writes' churn
const mib = (bytes: number) => (bytes / MiB).toFixed(1);
const names = (prefix: string, count: number) => Array.from({ length: count }, (_, i) => `${prefix}-${String(i).padStart(2, '0')}`);

const fixture = await startTenantNodes({ clusterName: CLUSTER_NAME, vms: [vmName(1)], namespace: NS });
try {
  const mgmt = await clientFor(fixture.cluster.plane.kubeConfig);
  const tenant = await clientFor(fixture.tenant.plane.kubeConfig);
  const computePid = (vm: string) => {
    const pid = fixture.cluster.runner.containerRun(NS, launcherName(vm), COMPUTE_CONTAINER)?.process.pid;
    if (pid === undefined) throw new Error(`no running compute container for VM ${vm} (pod ${launcherName(vm)})`);
    return pid;
  };

  // (a) the management node: its runner lives in this process.
  const mgmtPods = names('mgmt', N);
  const mgmtSeconds = await startPods(mgmt, mgmtPods, MGMT_NODE, 300_000);
  await settle();
  const mgmtMemory = podMemory(mgmtPods);

  // (b) one tenant VM: its runner lives in the guest, inside the VM's launcher pod.
  const vm1 = vmName(1);
  const tenantPods = names('vm1', N);
  const tenantSeconds = await startPods(tenant, tenantPods, vm1, 300_000);
  await settle();
  const tenantMemory = podMemory(tenantPods);

  const row = (label: string, seconds: number, m: Memory) =>
    `  ${label.padEnd(26)} ${seconds.toFixed(1).padStart(8)} ${(N / seconds).toFixed(2).padStart(8)} ${mib(m.rss / N).padStart(13)} ${mib(m.pss / N).padStart(13)}`;
  console.log(`\n${String(N)} idle ${TEST_ECHO_IMAGE} pods created at once, pinned by nodeName, to Running+Ready:`);
  console.log(`  ${'runner'.padEnd(26)} ${'all (s)'.padStart(8)} ${'pods/s'.padStart(8)} ${'RSS/pod MiB'.padStart(13)} ${'PSS/pod MiB'.padStart(13)}`);
  console.log(row(`management (${MGMT_NODE})`, mgmtSeconds, mgmtMemory));
  console.log(row(`tenant VM (${vm1})`, tenantSeconds, tenantMemory));
  console.log(
    `  tenant/management: pods/s ${(mgmtSeconds / tenantSeconds).toFixed(2)}x, RSS/pod ${(tenantMemory.rss / mgmtMemory.rss).toFixed(2)}x, PSS/pod ${(tenantMemory.pss / mgmtMemory.pss).toFixed(2)}x`,
  );

  // (c) capacity: only the probe's workers run from here on.
  await kubectl(fixture.mgmt, ['delete', 'pod', '-n', NS, '-l', BENCH_LABEL, '--wait=true', '--timeout=120s']);
  await kubectl(fixture.admin, ['delete', 'pod', '-n', NS, '-l', BENCH_LABEL, '--wait=true', '--timeout=120s']);
  console.log(`\ncapacity: tenant workers with ${String(PODS_PER_WORKER)} idle pods each, added one at a time`);
  console.log(
    `  ${'worker'.padEnd(16)} ${'boot (s)'.padStart(9)} ${'pods (s)'.padStart(9)} ${'VM RSS MiB'.padStart(11)} ${'VM PSS MiB'.padStart(11)} ${'guest PSS'.padStart(10)} ${'idle CPU'.padStart(9)} ${'MemAvailable'.padStart(13)}`,
  );
  const availableBefore = meminfo().available;
  const probeDeadline = Date.now() + PROBE_BUDGET_MS;
  const perVM: (Memory & { cpu: number })[] = [];
  let stopReason = `the cap of ${String(MAX_WORKERS)} workers`;
  for (let i = 1; i <= MAX_WORKERS; i++) {
    if (i > 1 && availableFraction() < MIN_AVAILABLE_FRACTION) {
      stopReason = `MemAvailable below ${String(MIN_AVAILABLE_FRACTION * 100)}%`;
      break;
    }
    if (Date.now() > probeDeadline) {
      stopReason = `the ${String(PROBE_BUDGET_MS / 60_000)}-minute time budget`;
      break;
    }
    const vm = vmName(i);
    let bootSeconds = 0;
    try {
      if (i > 1) {
        const booted = performance.now();
        await mgmt.create(launcherPod(vm, NS, `${CLUSTER_NAME}-md-0-userdata`));
        await waitFor(
          async () => {
            const node = await tenant.get<Node>({ apiVersion: 'v1', kind: 'Node' }, { name: vm }, { direct: true });
            return node && isReadyNode(node) && node.spec?.podCIDR ? true : undefined;
          },
          { timeoutMs: VM_READY_TIMEOUT_MS, intervalMs: 500, what: `tenant Node ${vm} Ready with a podCIDR` },
        );
        bootSeconds = (performance.now() - booted) / 1000;
        // As the fixture does for its VMs, playing Cluster API.
        await kubectl(fixture.admin, ['taint', 'node', vm, 'node.cluster.x-k8s.io/uninitialized:NoSchedule-']);
      }
      const workerPods = names(`vm${String(i)}`, PODS_PER_WORKER);
      const podSeconds = await startPods(tenant, workerPods, vm, VM_READY_TIMEOUT_MS);
      await settle();
      const m = sum(tree(computePid(vm)));
      const cpu = await treeCpu(computePid(vm));
      const guestPss = m.pss - podMemory(workerPods).pss; // the guest itself: kubelet, runner, agent
      perVM.push({ ...m, cpu });
      const boot = i === 1 ? '(fixture)' : bootSeconds.toFixed(1);
      console.log(
        `  ${vm.padEnd(16)} ${boot.padStart(9)} ${podSeconds.toFixed(1).padStart(9)} ${mib(m.rss).padStart(11)} ${mib(m.pss).padStart(11)} ${mib(guestPss).padStart(10)} ${`${(cpu * 100).toFixed(0)}%`.padStart(9)} ${`${(availableFraction() * 100).toFixed(0)}%`.padStart(13)}`,
      );
    } catch (err) {
      stopReason = `worker ${vm} not up within ${String(VM_READY_TIMEOUT_MS / 1000)} s: ${(err as Error).message}`;
      break;
    }
  }
  const mean = (k: 'rss' | 'pss' | 'cpu') => perVM.reduce((s, m) => s + m[k], 0) / Math.max(perVM.length, 1);
  console.log(
    `  held ${String(perVM.length)} workers with ${String(PODS_PER_WORKER)} pods each (stopped by ${stopReason}); ` +
      `per VM (guest + its pods) ${mib(mean('rss'))} MiB RSS, ${mib(mean('pss'))} MiB PSS, ${(mean('cpu') * 100).toFixed(0)}% of a core idle`,
  );
  // Where the probe stopped early of a real limit: what memory alone, or the idle CPU alone, would allow.
  if (perVM.length > 0) {
    const cores = availableParallelism();
    console.log(`  idle CPU alone would fill this machine's ${String(cores)} cores at ~${String(Math.floor(cores / mean('cpu')))} workers`);
  }
  const fell = perVM.length > 0 ? (availableBefore - meminfo().available) / perVM.length : 0;
  if (fell > 0) {
    const { available, total } = meminfo();
    const headroom = available - MIN_AVAILABLE_FRACTION * total;
    const estimate = perVM.length + Math.max(0, Math.floor(headroom / fell));
    console.log(
      `  MemAvailable fell ${mib(fell)} MiB per worker (machine-wide); at that rate memory would hold ~${String(estimate)} workers ` +
        `before MemAvailable < ${String(MIN_AVAILABLE_FRACTION * 100)}% of ${mib(total)} MiB`,
    );
  }
  mgmt.transport.close();
  tenant.transport.close();
} finally {
  await fixture.stop();
}
