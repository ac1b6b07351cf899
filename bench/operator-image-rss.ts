// Benchmark: the control plane operator's resident memory as it ships, started by the pod runner from its OCI image
// (image mode: the image's Node and node_modules in the image's root), against the baseline of the same operator
// and manifests run from the work tree's compiled JavaScript on this machine's Node, in the same run. For each:
// RSS idle (informers running, no tenant) and RSS per TenantControlPlane (N created at once on one etcd DataStore,
// measured once all are Ready). RSS is what a cluster's memory limit counts; bench/tenant-control-planes.ts measures
// the live heap. Needs `make image` first (out/image/latest). Heavy, so not part of `make test`. Run inside the
// cluster network namespace: tsx localcloud/cluster/netns.ts tsx bench/operator-image-rss.ts [N]
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEPLOYMENT_TYPE } from '../lib/apis/apps.js';
import { Client } from '../lib/kube/client.js';
import type { KubeObject } from '../lib/kube/object.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import { RestTransport } from '../lib/kube/rest-transport.js';
import { startCluster, type Cluster } from '../localcloud/cluster/cluster.js';
import { IMAGE_LAYOUT_ENV } from '../localcloud/cluster/image-rootfs.js';
import { createReadyDataStore, startSharedEtcd, type SharedEtcd } from '../localcloud/etcd-datastore.js';
import { installControlPlaneProvider } from '../localcloud/install-controlplane.js';
import { waitFor } from '../localcloud/wait.js';
import { createReadyTenants, TCP } from './tenant-fleet.js';

const N = Number(process.argv[2] ?? 5);
const LAYOUT = realpathSync(fileURLToPath(new URL('../out/image/latest', import.meta.url)));
const OPERATOR = { namespace: 'kamaji-system', labelSelector: 'app.kubernetes.io/name=kvcloud-controlplane', container: 'manager' };
const POD = { apiVersion: 'v1', kind: 'Pod' };
const MiB = 1024 * 1024;
const SAMPLES = 5;

type OperatorPod = KubeObject & { status?: { conditions?: { type: string; status: string }[]; containerStatuses?: { imageID?: string }[] } };

/** Resident memory of a process (VmRSS), in bytes. */
function rss(pid: number): number {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${String(pid)}/status`, 'utf8'))?.[1];
  if (kib === undefined) throw new Error(`process ${String(pid)} has no VmRSS`);
  return Number(kib) * 1024;
}

/** The median of readings a second apart: resyncs and probes move single ones. */
async function settledRss(pid: number): Promise<number> {
  const readings: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    readings.push(rss(pid));
    await new Promise((r) => setTimeout(r, 1000));
  }
  return readings.sort((a, b) => a - b)[Math.floor(SAMPLES / 2)] ?? 0;
}

/** The NODE_OPTIONS a process started with (the image's V8 flags), as its environment shows them. */
function nodeOptions(pid: number): string {
  const env = readFileSync(`/proc/${String(pid)}/environ`, 'utf8').split('\0');
  return env.find((kv) => kv.startsWith('NODE_OPTIONS='))?.slice('NODE_OPTIONS='.length) ?? '(none)';
}

interface Measured {
  mode: string;
  imageID: string;
  nodeOptions: string;
  idle: number;
  loaded: number;
}

/** Installs the operator, measures it idle and with N tenants, then removes the tenants and the operator. */
async function measure(cluster: Cluster, client: Client, etcd: SharedEtcd, mode: string, layout: string | undefined): Promise<Measured> {
  // The pod runner reads the layout when a container starts: this operator's pod runs from the image or not.
  if (layout === undefined) Reflect.deleteProperty(process.env, IMAGE_LAYOUT_ENV);
  else process.env[IMAGE_LAYOUT_ENV] = layout;
  await installControlPlaneProvider(cluster, client);
  const [pod] = await client.list<OperatorPod>(POD, { namespace: OPERATOR.namespace, labelSelector: OPERATOR.labelSelector, direct: true });
  const run = cluster.runner.containerRun(OPERATOR.namespace, pod?.metadata.name ?? '', OPERATOR.container);
  if (!pod || !run?.process.running) throw new Error(`${mode}: the operator's container does not run`);
  const imageID = pod.status?.containerStatuses?.[0]?.imageID ?? '';
  const options = nodeOptions(run.process.pid);
  // Made by the first operator (it reports the DataStore ready), kept for the next.
  if (!(await client.get({ ...TCP, kind: 'DataStore' }, { name: 'shared-etcd' }, { direct: true }))) await createReadyDataStore(client, 'shared-etcd', etcd);
  await new Promise((r) => setTimeout(r, 15_000)); // past start-up: caches synced, first reconciles done
  const idle = await settledRss(run.process.pid);

  const namespace = `bench-${mode.replace(/\W+/g, '-')}`;
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  const names = await createReadyTenants(client, namespace, N, `${mode}: `);
  await new Promise((r) => setTimeout(r, 10_000)); // the last tenants' follow-up reconciles
  const loaded = await settledRss(run.process.pid);

  // The next operator starts as this one did: no tenant, no operator.
  await Promise.all(names.map((name) => client.delete(TCP, { namespace, name })));
  await waitFor(async () => ((await client.list(TCP, { namespace, direct: true })).length === 0 ? true : undefined), { timeoutMs: 10 * 60_000, what: `${mode}: the tenants to be gone` });
  await client.delete(DEPLOYMENT_TYPE, { namespace: OPERATOR.namespace, name: 'kvcloud-controlplane-manager' });
  await waitFor(async () => ((await client.list(POD, { namespace: OPERATOR.namespace, labelSelector: OPERATOR.labelSelector, direct: true })).length === 0 ? true : undefined), {
    timeoutMs: 120_000,
    what: `${mode}: the operator pod to be gone`,
  });
  return { mode, imageID, nodeOptions: options, idle, loaded };
}

const cluster = await startCluster();
let stopEtcd: () => Promise<void> = () => Promise.resolve();
try {
  const transport = await RestTransport.fromKubeConfig(cluster.plane.kubeConfig);
  const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-bench' });
  const etcd = await startSharedEtcd(client, 'shared-etcd');
  stopEtcd = () => etcd.stop();
  const baseline = await measure(cluster, client, etcd, 'work tree', undefined);
  const image = await measure(cluster, client, etcd, 'image', LAYOUT);
  const perTCP = (m: Measured) => (m.loaded - m.idle) / N / MiB;
  console.log(`control plane operator RSS, median of ${String(SAMPLES)} readings, ${String(N)} TenantControlPlanes at once on one etcd DataStore`);
  for (const m of [baseline, image]) {
    console.log(`  ${m.mode.padEnd(9)} idle ${(m.idle / MiB).toFixed(1)} MiB, with ${String(N)} ${(m.loaded / MiB).toFixed(1)} MiB, per TenantControlPlane ${perTCP(m).toFixed(2)} MiB  (NODE_OPTIONS ${m.nodeOptions}; ${m.imageID})`);
  }
  console.log(`  image / work tree: idle ${(image.idle / baseline.idle).toFixed(2)}x, per TenantControlPlane ${(perTCP(image) / perTCP(baseline)).toFixed(2)}x`);
  transport.close();
} finally {
  await stopEtcd();
  await cluster.stop();
}
