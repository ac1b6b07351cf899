// Benchmark: where the control plane operator's memory goes per TenantControlPlane. Runs the operator's compiled
// JavaScript as a child process (with bench/operator-heap-probe.ts), takes a heap snapshot idle and one with N
// TenantControlPlanes Ready on one etcd DataStore, and prints the heap spaces and the object kinds whose own (self)
// bytes grew the most per tenant, beside RSS. Heavy, so not part of `make test`. Run inside the cluster network
// namespace: tsx localcloud/cluster/netns.ts tsx bench/operator-heap-snapshot.ts [N] [node flags...]
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '../lib/kube/client.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import { RestTransport } from '../lib/kube/rest-transport.js';
import { startCluster } from '../localcloud/cluster/cluster.js';
import { createReadyDataStore, startSharedEtcd } from '../localcloud/etcd-datastore.js';
import { controlPlaneProviderObjects } from '../localcloud/install-controlplane.js';
import { compiledMain } from '../packaging/compiled-js.js';
import { createReadyTenants } from './tenant-fleet.js';

const N = Number(process.argv[2] ?? 5);
const NODE_FLAGS = process.argv.slice(3);
const NS = 'bench-heap';
const MiB = 1024 * 1024;
const TOP = 25;

interface Reading {
  heapUsed: number;
  heapTotal: number;
  external: number;
  rss: number;
  spaces: Record<string, { used: number; committed: number }>;
}

/** Self bytes and counts per node type and constructor (strings and code lumped by type) of a .heapsnapshot. */
function heapByKind(path: string): Map<string, { bytes: number; count: number }> {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const out = new Map<string, { bytes: number; count: number }>();
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    const type = types[snap.nodes[i + (typeAt ?? 0)] ?? 0] ?? '?';
    const lumped = type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'code' || type === 'number';
    const key = lumped ? `(${type})` : `${type} ${snap.strings[snap.nodes[i + (nameAt ?? 0)] ?? 0] ?? ''}`.slice(0, 90);
    const entry = out.get(key) ?? { bytes: 0, count: 0 };
    entry.bytes += snap.nodes[i + (sizeAt ?? 0)] ?? 0;
    entry.count++;
    out.set(key, entry);
  }
  return out;
}

async function read(child: ChildProcess, snapshot?: string): Promise<Reading> {
  const reply = once(child, 'message') as Promise<[Reading]>;
  child.send(snapshot === undefined ? 'measure' : { snapshot });
  return (await reply)[0];
}

function describe(label: string, r: Reading): string {
  const spaces = Object.entries(r.spaces)
    .filter(([, s]) => s.committed > MiB / 2)
    .map(([name, s]) => `${name.replace(/_space$/, '')} ${(s.used / MiB).toFixed(1)}/${(s.committed / MiB).toFixed(1)}`)
    .join(', ');
  return `${label}: RSS ${(r.rss / MiB).toFixed(1)} MiB, heap ${(r.heapUsed / MiB).toFixed(1)} used of ${(r.heapTotal / MiB).toFixed(1)}, external ${(r.external / MiB).toFixed(1)}\n    spaces used/committed MiB: ${spaces}`;
}

const dir = mkdtempSync(join(tmpdir(), 'operator-heap-'));
const cluster = await startCluster();
let operator: ChildProcess | undefined;
let stopEtcd: () => Promise<void> = () => Promise.resolve();
try {
  const transport = await RestTransport.fromKubeConfig(cluster.plane.kubeConfig);
  const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-bench' });
  const objects = (await controlPlaneProviderObjects()).filter((o) => (o as { kind?: string }).kind !== 'Deployment');
  await cluster.plane.applyManifests(objects);
  const etcd = await startSharedEtcd(client, 'shared-etcd');
  stopEtcd = () => etcd.stop();

  const probe = fileURLToPath(new URL('./operator-heap-probe.ts', import.meta.url));
  const main = compiledMain('providers/controlplane/main.ts');
  const args = ['--expose-gc', ...NODE_FLAGS, '--import', 'tsx', '--import', probe, main, `--kubeconfig=${cluster.plane.kubeconfigPath}`];
  const child = spawn(process.execPath, [...args, '--metrics-bind-address=0', '--health-probe-bind-address=0', '--log-level=warn'], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  operator = child;
  await createReadyDataStore(client, 'shared-etcd', etcd);
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  await new Promise((r) => setTimeout(r, 15_000)); // caches synced, first reconciles done
  const idle = await read(child, join(dir, 'idle.heapsnapshot'));

  await createReadyTenants(client, NS, N, '');
  await new Promise((r) => setTimeout(r, 10_000)); // the last tenants' follow-up reconciles
  const rssLoaded = (await read(child)).rss; // before the snapshot, whose own buffers raise RSS
  const loaded = await read(child, join(dir, 'loaded.heapsnapshot'));

  console.log(`control plane operator, ${String(N)} TenantControlPlanes on one etcd DataStore, node flags: ${NODE_FLAGS.join(' ') || '(none)'}`);
  console.log(`  ${describe('idle', idle)}`);
  console.log(`  ${describe(`with ${String(N)}`, { ...loaded, rss: rssLoaded })}`);
  console.log(`  per TenantControlPlane: RSS ${((rssLoaded - idle.rss) / N / MiB).toFixed(2)} MiB, live heap ${((loaded.heapUsed - idle.heapUsed) / N / MiB).toFixed(2)} MiB, external ${((loaded.external - idle.external) / N / MiB).toFixed(2)} MiB`);
  const before = heapByKind(join(dir, 'idle.heapsnapshot'));
  const after = heapByKind(join(dir, 'loaded.heapsnapshot'));
  const grown = [...after].map(([key, a]) => ({ key, bytes: a.bytes - (before.get(key)?.bytes ?? 0), count: a.count - (before.get(key)?.count ?? 0) })).sort((x, y) => y.bytes - x.bytes);
  console.log(`  the ${String(TOP)} kinds of heap object that grew most, per TenantControlPlane (KiB, objects):`);
  for (const g of grown.slice(0, TOP)) console.log(`    ${(g.bytes / N / 1024).toFixed(1).padStart(8)} KiB ${(g.count / N).toFixed(0).padStart(7)}  ${g.key}`);
  transport.close();
} finally {
  if (operator?.exitCode === null) {
    const exited = once(operator, 'exit');
    operator.kill('SIGTERM');
    const timer = setTimeout(() => operator?.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(dir, { recursive: true, force: true });
  await stopEtcd();
  await cluster.stop();
}
