// Benchmark: N TenantControlPlanes (one replica each, real kube-apiserver/controller-manager/scheduler processes
// through the local cluster's pod runner) created at once on one shared etcd DataStore. Prints seconds from
// creation to Ready per tenant, and the operator's CPU seconds and memory per tenant (the operator runs as its own
// process: CPU from /proc, memory as heap in use after a forced collection, baseline with 0 tenants in the same
// run), beside Kamaji's published ~4.5 s and ~6 MiB per TenantControlPlane. Heavy, so not part of `make test`.
// Run inside the cluster network namespace: tsx localcloud/cluster/netns.ts tsx bench/tenant-control-planes.ts [N]
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '../lib/kube/client.js';
import type { KubeObject } from '../lib/kube/object.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import { RestTransport } from '../lib/kube/rest-transport.js';
import { startCluster } from '../localcloud/cluster/cluster.js';
import { waitFor } from '../localcloud/wait.js';
import { controlPlaneProviderObjects } from '../localcloud/install-controlplane.js';
import { dataStoreFor, startSharedEtcd } from '../localcloud/etcd-datastore.js';

const N = Number(process.argv[2] ?? 20);
const KAMAJI = { secondsPerTCP: 4.5, mibPerTCP: 6 };
const TCP = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane' };
const NS = 'bench-tenants';
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface Status extends KubeObject {
  status?: { kubernetesResources?: { version?: { status?: string } } };
}

const MiB = 1024 * 1024;
const SAMPLES = 5;

/** CPU seconds (user + system) of a process, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

interface Memory {
  heapUsed: number;
  external: number;
  rss: number;
}

/** One forced-GC reading from the operator (bench/operator-heap-probe.ts answers it). */
async function measureOnce(child: ChildProcess): Promise<Memory> {
  const reply = once(child, 'message') as Promise<[Memory]>;
  child.send('measure');
  const [m] = await reply;
  return m;
}

/** The median of several readings a second apart: background work (resyncs, probes) moves single ones. */
async function settledMemory(child: ChildProcess): Promise<Memory> {
  const readings: Memory[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    readings.push(await measureOnce(child));
    await new Promise((r) => setTimeout(r, 1000));
  }
  const median = (k: keyof Memory) => readings.map((m) => m[k]).sort((a, b) => a - b)[Math.floor(SAMPLES / 2)] ?? 0;
  return { heapUsed: median('heapUsed'), external: median('external'), rss: median('rss') };
}

/** Stops the operator and waits for it to be gone, killing it if its graceful shutdown stalls. */
async function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

const cluster = await startCluster();
let operator: ChildProcess | undefined;
let stopEtcd: () => Promise<void> = () => Promise.resolve();
try {
  const transport = await RestTransport.fromKubeConfig(cluster.plane.kubeConfig);
  const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-bench' });
  // The provider's CRDs, namespaces, admission and registry; the operator itself runs below as a measured process.
  const objects = (await controlPlaneProviderObjects()).filter((o) => (o as { kind?: string }).kind !== 'Deployment');
  await cluster.plane.applyManifests(objects);
  const etcd = await startSharedEtcd(client, 'shared-etcd');
  stopEtcd = () => etcd.stop();

  const main = fileURLToPath(new URL('../providers/controlplane/main.ts', import.meta.url));
  const probe = fileURLToPath(new URL('./operator-heap-probe.ts', import.meta.url));
  const args = ['--expose-gc', '--import', 'tsx', '--import', probe, main, `--kubeconfig=${cluster.plane.kubeconfigPath}`];
  const child = spawn(process.execPath, [...args, '--metrics-bind-address=0', '--health-probe-bind-address=0', '--concurrency=20', '--log-level=warn'], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  operator = child;
  const pid = child.pid ?? 0;

  await client.create(dataStoreFor('shared-etcd', etcd));
  await waitFor(
    async () => ((await client.get<KubeObject & { status?: { ready?: boolean } }>({ apiVersion: TCP.apiVersion, kind: 'DataStore' }, { name: 'shared-etcd' }, { direct: true }))?.status?.ready ? true : undefined),
    { timeoutMs: 120_000, what: 'the DataStore to be ready' },
  );
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await waitFor(async () => ((await client.get({ apiVersion: 'v1', kind: 'ServiceAccount' }, { namespace: NS, name: 'default' }, { direct: true })) ? true : undefined), {
    timeoutMs: 30_000,
    what: 'the default ServiceAccount',
  });
  const idleCpu = cpuSeconds(pid);
  const idle = await settledMemory(child); // the baseline: the same operator, informers running, 0 tenants

  const names = Array.from({ length: N }, (_, i) => `t${String(i).padStart(3, '0')}`);
  const started = performance.now();
  await Promise.all(
    names.map((name) =>
      client.create({
        ...TCP,
        metadata: { name, namespace: NS },
        spec: {
          dataStore: 'shared-etcd',
          controlPlane: { deployment: { replicas: 1 }, service: { serviceType: 'LoadBalancer' } },
          kubernetes: { version: 'v1.37.2', kubelet: {} },
          addons: { coreDNS: {}, kubeProxy: {} },
        },
      }),
    ),
  );
  const readyAt = new Map<string, number>();
  await waitFor(
    async () => {
      const list = await client.list<Status>(TCP, { namespace: NS, direct: true });
      for (const t of list) {
        const name = t.metadata.name ?? '';
        if (t.status?.kubernetesResources?.version?.status === 'Ready' && !readyAt.has(name)) readyAt.set(name, performance.now());
      }
      return readyAt.size === N ? true : undefined;
    },
    { timeoutMs: 30 * 60_000, intervalMs: 500, what: `${N} TenantControlPlanes to be Ready` },
  );
  const total = (performance.now() - started) / 1000;
  const busyCpu = cpuSeconds(pid);
  await new Promise((r) => setTimeout(r, 10_000)); // let the last tenants' follow-up reconciles finish
  const loaded = await settledMemory(child);
  const seconds = [...readyAt.values()].map((t) => (t - started) / 1000).sort((a, b) => a - b);
  const median = seconds[Math.floor(seconds.length / 2)] ?? 0;
  const cpuPerTCP = (busyCpu - idleCpu) / N;
  // Live memory (heap in use after a full collection, plus buffers held outside the heap): what each tenant costs
  // the operator to keep, as opposed to garbage not yet collected.
  const live = (m: Memory) => (m.heapUsed + m.external) / MiB;
  const memPerTCP = (live(loaded) - live(idle)) / N;
  const secondsPerTCP = total / N;

  console.log(`${N} TenantControlPlanes created at once on one etcd DataStore, all Ready after ${total.toFixed(1)} s`);
  console.log(`  creation -> Ready: first ${seconds[0]?.toFixed(1) ?? '?'} s, median ${median.toFixed(1)} s, last ${seconds[seconds.length - 1]?.toFixed(1) ?? '?'} s`);
  const ratio = (ours: number, theirs: number) => `${(ours / theirs).toFixed(2)}x Kamaji's ~${String(theirs)}`;
  console.log(`  wall seconds per TenantControlPlane (all Ready / N): ${secondsPerTCP.toFixed(2)} s = ${ratio(secondsPerTCP, KAMAJI.secondsPerTCP)} s`);
  console.log(`  operator CPU per TenantControlPlane: ${cpuPerTCP.toFixed(3)} CPU-s (total ${(busyCpu - idleCpu).toFixed(1)} CPU-s)`);
  console.log(`  operator memory per TenantControlPlane: ${memPerTCP.toFixed(2)} MiB = ${ratio(memPerTCP, KAMAJI.mibPerTCP)} MiB`);
  console.log(
    `    (live heap+external after forced GC, median of ${String(SAMPLES)}: ${live(idle).toFixed(1)} MiB with 0 tenants, ${live(loaded).toFixed(1)} MiB with ${String(N)};` +
      ` RSS ${(idle.rss / MiB).toFixed(0)} -> ${(loaded.rss / MiB).toFixed(0)} MiB)`,
  );
  transport.close();
} finally {
  if (operator) await stopProcess(operator);
  await stopEtcd();
  await cluster.stop();
}
