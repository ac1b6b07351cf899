// Benchmark: N TenantControlPlanes (one replica each, real kube-apiserver/controller-manager/scheduler processes
// through the local cluster's pod runner) created at once on one shared etcd DataStore. Prints seconds from
// creation to Ready per tenant, and the operator's CPU seconds and memory per tenant (the operator runs as its own
// process, measured from /proc), beside Kamaji's published ~4.5 s and ~6 MiB per TenantControlPlane.
// Run inside the cluster network namespace: tsx e2e/harness/cluster/netns.ts tsx bench/tenant-control-planes.ts [N]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '../lib/kube/client.js';
import type { KubeObject } from '../lib/kube/object.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import { RestTransport } from '../lib/kube/rest-transport.js';
import { startCluster } from '../e2e/harness/cluster/cluster.js';
import { waitFor } from '../e2e/harness/wait.js';
import { controlPlaneProviderObjects } from '../e2e/suites/controlplane/install.js';
import { dataStoreFor, startSharedEtcd } from '../e2e/suites/controlplane/shared-etcd.js';

const N = Number(process.argv[2] ?? 20);
const KAMAJI = { secondsPerTCP: 4.5, mibPerTCP: 6 };
const TCP = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane' };
const NS = 'bench-tenants';
const TICKS_PER_SECOND = 100; // USER_HZ on Linux

interface Status extends KubeObject {
  status?: { kubernetesResources?: { version?: { status?: string } } };
}

/** CPU seconds (user + system), resident memory and its peak so far, of a process, from /proc. */
function usage(pid: number): { cpuSeconds: number; rssMiB: number; peakMiB: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kib = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? '0');
  return { cpuSeconds, rssMiB: kib('VmRSS') / 1024, peakMiB: kib('VmHWM') / 1024 };
}

const cluster = await startCluster();
const operator = { pid: 0, stop: (): void => undefined };
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
  const child = spawn(process.execPath, ['--import', 'tsx', main, `--kubeconfig=${cluster.plane.kubeconfigPath}`, '--metrics-bind-address=0', '--health-probe-bind-address=0', '--concurrency=20', '--log-level=warn'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  operator.pid = child.pid ?? 0;
  operator.stop = () => {
    child.kill('SIGTERM');
  };

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
  const idle = usage(operator.pid);

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
  const busy = usage(operator.pid);
  const seconds = [...readyAt.values()].map((t) => (t - started) / 1000).sort((a, b) => a - b);
  const median = seconds[Math.floor(seconds.length / 2)] ?? 0;
  const cpuPerTCP = (busy.cpuSeconds - idle.cpuSeconds) / N;
  // Peak RSS: the garbage collector returns memory between samples, so the settled RSS understates the cost.
  const memPerTCP = (busy.peakMiB - idle.rssMiB) / N;

  console.log(`${N} TenantControlPlanes created at once on one etcd DataStore, all Ready after ${total.toFixed(1)} s`);
  console.log(`  creation -> Ready: first ${seconds[0]?.toFixed(1) ?? '?'} s, median ${median.toFixed(1)} s, last ${seconds[seconds.length - 1]?.toFixed(1) ?? '?'} s`);
  console.log(`  wall seconds per TenantControlPlane (all Ready / N): ${(total / N).toFixed(2)} s   Kamaji: ~${KAMAJI.secondsPerTCP} s`);
  console.log(`  operator CPU per TenantControlPlane: ${cpuPerTCP.toFixed(3)} CPU-s (total ${(busy.cpuSeconds - idle.cpuSeconds).toFixed(1)} CPU-s)`);
  console.log(`  operator memory per TenantControlPlane: ${memPerTCP.toFixed(2)} MiB   Kamaji: ~${KAMAJI.mibPerTCP} MiB (RSS idle ${idle.rssMiB.toFixed(0)} MiB, peak ${busy.peakMiB.toFixed(0)} MiB, after ${busy.rssMiB.toFixed(0)} MiB)`);
  transport.close();
} finally {
  operator.stop();
  await stopEtcd();
  await cluster.stop();
}
