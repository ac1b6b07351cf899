// Shared pieces of the local cluster suites: a cluster per suite with an admin client, namespaces, pod builders
// for the test image, and waits that print the pod as last seen when they time out.
import { randomBytes } from 'node:crypto';
import { Client } from '../../../lib/kube/client.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import { startCluster, type Cluster, type ClusterOptions } from '../../../localcloud/cluster/cluster.js';
import { TEST_ECHO_IMAGE } from '../../../localcloud/cluster/images.js';
import { POD, type Container, type Pod } from '../../../localcloud/cluster/pod-api.js';
import { waitFor } from '../../../localcloud/wait.js';

export interface ClusterSuite {
  readonly cluster: Cluster;
  /** Cluster admin, through the toolkit's client (objects travel exactly as written). */
  readonly client: Client;
}

/** Registers hooks that start a cluster for the enclosing describe and stop it afterwards. */
export function clusterSuite(opts: ClusterOptions = {}): ClusterSuite {
  const state: { cluster?: Cluster; client?: Client; transport?: RestTransport } = {};
  before(async function () {
    this.timeout(20 * 60_000); // the first run may build the upstream binaries
    state.cluster = await startCluster(opts);
    state.transport = await RestTransport.fromKubeConfig(state.cluster.plane.kubeConfig);
    state.client = new Client({ transport: state.transport, mapper: new RestMapper(state.transport), fieldManager: 'kvcloud-e2e' });
  });
  after(async function () {
    this.timeout(60_000);
    state.transport?.close();
    await state.cluster?.stop();
  });
  const started = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the cluster of this suite did not start (see the before hook)');
    return value;
  };
  return {
    get cluster() {
      return started(state.cluster);
    },
    get client() {
      return started(state.client);
    },
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function createNamespace(client: Client, prefix: string): Promise<string> {
  const name = uniqueName(prefix);
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // Pods need the namespace's default ServiceAccount, which kube-controller-manager creates a moment later.
  await waitFor(async () => ((await client.get({ apiVersion: 'v1', kind: 'ServiceAccount' }, { namespace: name, name: 'default' }, { direct: true })) ? true : undefined), {
    timeoutMs: 30_000,
    what: `the default ServiceAccount of ${name}`,
  });
  return name;
}

/**
 * The test image with its pod's name and namespace in its environment, as the echo program reports them, Ready
 * once it serves HTTP.
 */
export function echoContainer(overrides: Partial<Container> = {}): Container {
  return {
    name: 'echo',
    image: TEST_ECHO_IMAGE,
    ports: [{ name: 'http', containerPort: 8080 }],
    readinessProbe: { httpGet: { path: '/healthz', port: 'http' } },
    env: [
      { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    ],
    ...overrides,
  };
}

export function podObject(namespace: string, name: string, spec: Pod['spec']): Pod {
  return { ...POD, metadata: { namespace, name }, spec };
}

/** One line per container: how the pod looks, for timeout messages. */
export function describePod(pod: Pod | undefined): string {
  if (!pod) return 'no such pod';
  const s = pod.status;
  const containers = [...(s?.initContainerStatuses ?? []), ...(s?.containerStatuses ?? [])]
    .map((c) => `${c.name}: ${JSON.stringify(c.state)} restarts=${c.restartCount} ready=${c.ready} last=${JSON.stringify(c.lastState)}`)
    .join('; ');
  const conditions = (s?.conditions ?? []).map((c) => `${c.type}=${c.status}`).join(',');
  return `phase=${s?.phase ?? '-'} node=${pod.spec.nodeName ?? '-'} ip=${s?.podIP ?? '-'} [${conditions}] ${containers}`;
}

export function getPod(client: Client, namespace: string, name: string): Promise<Pod | undefined> {
  return client.get<Pod>(POD, { namespace, name }, { direct: true });
}

/** Waits until `check` holds for the pod, and on timeout shows the pod as last seen. */
export async function waitForPod(client: Client, namespace: string, name: string, check: (pod: Pod) => boolean, what: string, timeoutMs = 60_000): Promise<Pod> {
  return waitFor(
    async () => {
      const pod = await getPod(client, namespace, name);
      if (pod && check(pod)) return pod;
      throw new Error(describePod(pod));
    },
    { timeoutMs, what: `${namespace}/${name}: ${what}` },
  );
}

export const isReady = (pod: Pod) => pod.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True';

export async function waitGone(client: Client, namespace: string, name: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(
    async () => {
      const pod = await getPod(client, namespace, name);
      if (!pod) return true;
      throw new Error(describePod(pod));
    },
    { timeoutMs, what: `${namespace}/${name} to be deleted` },
  );
}

export async function getJSON<T>(url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000) });
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
