// The part of `kvcloud local up` and `kvcloud demo` that runs inside the cluster's private network namespace: it
// builds the local cloud step by step (the management cluster, clusterctl init of Cluster API and both kvcloud
// providers from the local repository, the KubeVirt/CDI simulator, an etcd DataStore "default"), for the demo the
// tenant clusters from the default template, reports each step in progress.json, relays the apiservers to Unix
// sockets the host side forwards, and keeps it all running until asked to stop.
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { CLUSTER_TYPE, MACHINE_DEPLOYMENT_NAME_LABEL, MACHINE_TYPE, type Cluster as CapiCluster, type Machine } from '../../lib/apis/cluster-api.js';
import { Client } from '../../lib/kube/client.js';
import { kubeConfigFromString } from '../../lib/kube/kubeconfig.js';
import type { KubeObject } from '../../lib/kube/object.js';
import { RestMapper } from '../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../lib/kube/rest-transport.js';
import { startKubevirtSimulator } from '../../simulators/kubevirt/index.js';
import { startCluster, type Cluster } from '../cluster/cluster.js';
import { addKvcloudControlPlane, clusterctlInitWithKubevirtAndKamaji } from '../clusterctl/kvcloud-control-plane.js';
import { addKvcloudInfrastructure, describeCluster, generateCluster, installKubevirtCRDs, QUICK_START_VARIABLES } from '../clusterctl/kvcloud-infrastructure.js';
import { createClusterctlRepository, type ClusterctlRepository } from '../clusterctl/repository.js';
import { createReadyDataStore, startSharedEtcd } from '../etcd-datastore.js';
import { apiServerAddress, type ApiServerAddress } from '../host-access/kubeconfig.js';
import { startRelay } from '../host-access/forward.js';
import { kubectl } from '../kubectl.js';
import { upstreamVersion } from '../versions.js';
import { waitFor } from '../wait.js';
import type { Profile } from './args.js';
import { layout, writeJSON, type Endpoint, type Layout, type Progress, type Tenant } from './state.js';
import { TaskList, type TaskHandle } from './tasks.js';
import { TENANT_POD_CIDRS } from '../cluster/topology.js';

const NODES = [
  { name: 'kvcloud-node-1', zone: 'zone-a', region: 'kvcloud-local' },
  { name: 'kvcloud-node-2', zone: 'zone-b', region: 'kvcloud-local' },
];
const TENANT_NAMESPACE = 'tenants';
const WORKERS = 2;
const KCP_TYPE = { apiVersion: 'controlplane.cluster.x-k8s.io/v1alpha2', kind: 'KamajiControlPlane' };

/** The pod range of the i-th tenant: the template's default first, then ranges no other tenant here uses. */
export function tenantPodCIDR(i: number): string {
  const cidr = TENANT_POD_CIDRS[i];
  if (!cidr) throw new Error(`no tenant pod range for tenant ${(i + 1).toString()}: the local cloud has ${TENANT_POD_CIDRS.length.toString()}`);
  return cidr;
}

/** acme, then acme-2, acme-3...: the picture's tenant first. */
export function tenantNames(count: number): string[] {
  return Array.from({ length: count }, (_, i) => (i === 0 ? 'acme' : `acme-${(i + 1).toString()}`));
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

const isTrue = (conditions: Condition[] | undefined, type: string) => conditions?.some((c) => c.type === type && c.status === 'True') === true;
const notTrue = (conditions: Condition[] | undefined) =>
  (conditions ?? [])
    .filter((c) => c.status !== 'True')
    .map((c) => `${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ''}`)
    .join(', ');

/** Everything started so far, stopped in reverse order whatever happens. */
class Started {
  private readonly stops: { what: string; stop: () => Promise<void> }[] = [];
  add(what: string, stop: () => Promise<void>): void {
    this.stops.push({ what, stop });
  }
  async stopAll(): Promise<void> {
    for (const { what, stop } of this.stops.reverse()) {
      try {
        await stop();
      } catch (err) {
        console.error(`stopping ${what}: ${(err as Error).message}`);
      }
    }
  }
}

interface Management {
  cluster: Cluster;
  client: Client;
  repo: ClusterctlRepository;
}

export async function serve(profile: Profile, clusters: number, stateDir: string): Promise<number> {
  const files = layout(stateDir);
  const progress: Progress = { phase: 'running', tasks: [], endpoints: [], tenants: [] };
  let saving = Promise.resolve();
  const save = () => {
    const snapshot = structuredClone(progress);
    saving = saving.then(() => writeJSON(files.progress, snapshot)).catch((err: unknown) => { console.error(`write ${files.progress}: ${(err as Error).message}`); });
  };
  const tasks = new TaskList((list) => {
    progress.tasks = list.map((t) => ({ ...t }));
    save();
  });
  const started = new Started();
  const stop = { asked: false };
  const ask = () => (stop.asked = true);
  process.on('SIGTERM', ask);
  process.on('SIGINT', ask);
  let management: Management | undefined;
  try {
    await mkdir(files.sockets, { recursive: true });
    await mkdir(files.inside, { recursive: true });
    management = await startManagement(tasks, started, files, progress);
    if (profile === 'demo') {
      const m = management;
      await m.client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: TENANT_NAMESPACE } });
      progress.tenants = await Promise.all(tenantNames(clusters).map((name, i) => startTenant(tasks, started, files, progress, m, name, tenantPodCIDR(i))));
    }
    progress.phase = 'ready';
    save();
    console.log('ready');
    while (!stop.asked && !existsSync(files.stop)) await delay(300);
    console.log('stopping');
    return 0;
  } catch (err) {
    progress.phase = 'failed';
    progress.error = (err as Error).message;
    console.error(`failed: ${(err as Error).message}`);
    // The pods' logs explain most failures; the cluster's run directory goes with it, so keep a copy.
    if (management) await cp(join(management.cluster.dir, 'logs'), files.podLogs, { recursive: true }).catch(() => undefined);
    save();
    return 1;
  } finally {
    await started.stopAll();
    await saving;
  }
}

async function startManagement(tasks: TaskList, started: Started, files: Layout, progress: Progress): Promise<Management> {
  const cluster = await tasks.run(`management cluster (etcd, kube-apiserver, controller-manager, scheduler, ${NODES.length.toString()} nodes)`, async (t) => {
    t.waiting('the apiserver, and the nodes to be schedulable');
    return startCluster({ nodes: NODES });
  });
  started.add('the management cluster', () => cluster.stop());
  const kubeconfig = cluster.plane.kubeconfigPath;
  const transport = await RestTransport.fromKubeConfig(cluster.plane.kubeConfig);
  started.add('the management client', () => {
    transport.close();
    return Promise.resolve();
  });
  const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-cli' });
  await relay(started, progress, files, 'management', kubeconfig, apiServerAddress(await readFile(kubeconfig, 'utf8'), kubeconfig));

  const repo = await tasks.run('clusterctl repository: Cluster API, cert-manager, and kvcloud releases from this work tree', async () => {
    const r = await createClusterctlRepository();
    started.add('the clusterctl repository', () => r.remove());
    await addKvcloudInfrastructure(r);
    await addKvcloudControlPlane(r);
    return r;
  });
  await tasks.run('KubeVirt and CDI CRDs', async (t) => {
    t.waiting('the CRDs to be Established');
    await installKubevirtCRDs(kubeconfig);
  });
  await tasks.run('clusterctl init --infrastructure kubevirt --control-plane kamaji', async (t) => {
    t.waiting("cert-manager, Cluster API core, kubeadm bootstrap and kvcloud's two providers to be Available");
    const init = await clusterctlInitWithKubevirtAndKamaji(repo, kubeconfig);
    console.log(init.output);
  });
  await tasks.run('KubeVirt/CDI simulator', async () => {
    const simulator = await startKubevirtSimulator({ kubeconfig });
    started.add('the KubeVirt simulator', () => simulator.stop());
  });
  await tasks.run('DataStore "default" on a shared etcd', async (t) => {
    t.waiting('the etcd pod to be Ready');
    const etcd = await startSharedEtcd(client, 'shared-etcd');
    t.waiting('the DataStore to be ready');
    await createReadyDataStore(client, 'default', etcd);
  });
  return { cluster, client, repo };
}

/** Relays an apiserver to a socket in the state directory and records it for the host side. */
async function relay(started: Started, progress: Progress, files: Layout, name: string, kubeconfig: string, target: ApiServerAddress): Promise<void> {
  const socket = join(files.sockets, `${name}.sock`);
  const listener = await startRelay(socket, target);
  started.add(`the relay of ${name}`, () => listener.close());
  const endpoint: Endpoint = { name, kubeconfig, socket };
  progress.endpoints.push(endpoint);
}

async function startTenant(tasks: TaskList, started: Started, files: Layout, progress: Progress, m: Management, name: string, podCIDR: string): Promise<Tenant> {
  const kubeconfig = m.cluster.plane.kubeconfigPath;
  const version = upstreamVersion('KUBERNETES_VERSION');
  const place = `${TENANT_NAMESPACE}/${name}`;
  await tasks.run(`tenant ${name}: clusterctl generate cluster ${name} (default template), kubectl apply`, async () => {
    const generated = await generateCluster(m.repo, {
      source: {},
      kubeconfig,
      clusterName: name,
      namespace: TENANT_NAMESPACE,
      kubernetesVersion: version,
      workerMachineCount: WORKERS,
      // The hosted control plane's variables keep their defaults (DataStore "default", a LoadBalancer Service).
      variables: { ...QUICK_START_VARIABLES, POD_CIDR: podCIDR },
    });
    await kubectl(kubeconfig, ['apply', '-f', '-'], generated);
  });
  await tasks.run(`tenant ${name}: hosted control plane`, (t) =>
    waitFor(
      async () => {
        const kcp = await m.client.get<KubeObject & { status?: { initialization?: { controlPlaneInitialized?: boolean }; conditions?: Condition[] } }>(KCP_TYPE, { namespace: TENANT_NAMESPACE, name }, { direct: true });
        t.waiting(`KamajiControlPlane ${place} to be initialized${kcp ? ` (${notTrue(kcp.status?.conditions) || 'no conditions yet'})` : ''}`);
        return kcp?.status?.initialization?.controlPlaneInitialized === true ? true : undefined;
      },
      { timeoutMs: 10 * 60_000, intervalMs: 2000, what: `KamajiControlPlane ${place} to be initialized` },
    ),
  );
  const machineDeployment = `${name}-md-0`;
  await tasks.run(`tenant ${name}: ${WORKERS.toString()} workers (KubeVirt VMs running kubeadm join)`, async (t) => {
    await waitFor(
      async () => {
        const machines = await m.client.list<Machine>(MACHINE_TYPE, { namespace: TENANT_NAMESPACE, labelSelector: `${MACHINE_DEPLOYMENT_NAME_LABEL}=${machineDeployment}`, direct: true });
        const running = machines.filter((x) => x.status?.phase === 'Running' && x.status.nodeRef?.name).length;
        t.waiting(`${WORKERS.toString()} Machines Running with a Node (${running.toString()}/${WORKERS.toString()})`);
        return running === WORKERS ? true : undefined;
      },
      { timeoutMs: 15 * 60_000, intervalMs: 2000, what: `${WORKERS.toString()} Running Machines of ${TENANT_NAMESPACE}/${machineDeployment}` },
    );
    await withTenantClient((await tenantKubeconfigFile(m.client, files, name)).text, name, (tenant) => waitForReadyNodes(t, tenant, name, WORKERS));
  });
  const kcp = await m.client.get<KubeObject & { spec?: { addons?: { konnectivity?: unknown } } }>(KCP_TYPE, { namespace: TENANT_NAMESPACE, name }, { direct: true });
  if (kcp?.spec?.addons?.konnectivity !== undefined) {
    // With Konnectivity on, the tenant apiserver reaches kubelets only through a connected agent: until one is,
    // `kubectl logs` and the node proxy answer "No agent available". The demo is ready when they work.
    await tasks.run(`tenant ${name}: Konnectivity agents connected`, async (t) => {
      await withTenantClient((await tenantKubeconfigFile(m.client, files, name)).text, name, (tenant) => waitForConnectedAgents(t, tenant, name, WORKERS));
    });
  }
  await tasks.run(`tenant ${name}: Cluster Available`, (t) =>
    waitFor(
      async () => {
        const cluster = await m.client.get<CapiCluster>(CLUSTER_TYPE, { namespace: TENANT_NAMESPACE, name }, { direct: true });
        const conditions = cluster?.status?.conditions as Condition[] | undefined;
        t.waiting(`Cluster ${place} to be Available (${notTrue(conditions) || 'no conditions yet'})`);
        return isTrue(conditions, 'Available') ? true : undefined;
      },
      { timeoutMs: 5 * 60_000, intervalMs: 2000, what: `Cluster ${place} to be Available` },
    ),
  );
  // Read once the Cluster is Available, so the relay targets the endpoint the tenant settled on.
  const tenantKubeconfig = await tenantKubeconfigFile(m.client, files, name);
  await relay(started, progress, files, `tenant-${name}`, tenantKubeconfig.path, tenantKubeconfig.target);
  const describe = await describeCluster(m.repo, kubeconfig, TENANT_NAMESPACE, name);
  return { name, namespace: TENANT_NAMESPACE, machineDeployment, workers: WORKERS, describe };
}

/** The tenant's admin kubeconfig from <cluster>-kubeconfig, written where the host side reads it. */
async function tenantKubeconfigFile(client: Client, files: Layout, name: string): Promise<{ path: string; text: string; target: ApiServerAddress }> {
  const value = await waitFor(
    async () => (await client.get<KubeObject & { data?: Record<string, string> }>({ apiVersion: 'v1', kind: 'Secret' }, { namespace: TENANT_NAMESPACE, name: `${name}-kubeconfig` }, { direct: true }))?.data?.value,
    { timeoutMs: 2 * 60_000, intervalMs: 1000, what: `Secret ${TENANT_NAMESPACE}/${name}-kubeconfig with the key "value"` },
  );
  const text = Buffer.from(value, 'base64').toString('utf8');
  const path = join(files.inside, `tenant-${name}.kubeconfig`);
  await writeFile(path, text, { mode: 0o600 });
  return { path, text, target: apiServerAddress(text, path) };
}

async function withTenantClient<T>(kubeconfigText: string, name: string, use: (client: Client) => Promise<T>): Promise<T> {
  const transport = await RestTransport.fromKubeConfig(kubeConfigFromString(kubeconfigText, `tenant ${name}`));
  try {
    return await use(new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-cli' }));
  } finally {
    transport.close();
  }
}

async function waitForReadyNodes(t: TaskHandle, client: Client, name: string, count: number): Promise<void> {
  await waitFor(
    async () => {
      const nodes = await client.list<KubeObject & { status?: { conditions?: Condition[] } }>({ apiVersion: 'v1', kind: 'Node' }, { direct: true });
      const ready = nodes.filter((n) => isTrue(n.status?.conditions, 'Ready')).length;
      t.waiting(`${count.toString()} tenant Nodes Ready (${ready.toString()}/${count.toString()})`);
      return ready === count ? true : undefined;
    },
    { timeoutMs: 5 * 60_000, intervalMs: 2000, what: `${count.toString()} Ready Nodes in tenant ${name}` },
  );
}

/** The konnectivity-agent DaemonSet Ready on every worker: its readiness probe passes once it holds a server connection. */
async function waitForConnectedAgents(t: TaskHandle, client: Client, name: string, count: number): Promise<void> {
  await waitFor(
    async () => {
      const ds = await client.get<KubeObject & { status?: { desiredNumberScheduled?: number; numberReady?: number } }>(
        { apiVersion: 'apps/v1', kind: 'DaemonSet' },
        { namespace: 'kube-system', name: 'konnectivity-agent' },
        { direct: true },
      );
      const ready = ds?.status?.numberReady ?? 0;
      t.waiting(`a connected konnectivity-agent on each of the ${count.toString()} workers (${ready.toString()}/${count.toString()} Ready)`);
      return ready >= count && ready === ds?.status?.desiredNumberScheduled ? true : undefined;
    },
    { timeoutMs: 5 * 60_000, intervalMs: 1000, what: `the konnectivity agents of tenant ${name} to connect` },
  );
}
