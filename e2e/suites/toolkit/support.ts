// Shared pieces of the toolkit suites: clients and managers built the way a kvcloud binary builds them, the
// Widget test CRD, unique namespaces, and metric readers. Everything waits through the harness's waitFor.
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { Client } from '../../../lib/kube/client.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import { Manager, type ManagerOptions } from '../../../lib/controller/manager.js';
import { parseManagerFlags } from '../../../lib/controller/manager-flags.js';
import { createLogger } from '../../../lib/observability/logger.js';
import { ToolkitMetrics } from '../../../lib/observability/metrics.js';
import { sharedPlane, type Plane } from '../../../localcloud/plane.js';
import { WIDGET_CRD } from './test-kinds.js';

export { WIDGET, WIDGET_CRD, type Widget } from './test-kinds.js';
export const CONFIG_MAP = { apiVersion: 'v1', kind: 'ConfigMap' };

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** A kubeconfig like the plane's admin one, optionally pointed at another address (a proxy). */
export function kubeConfigFor(plane: Plane, server?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(plane.kubeconfigPath);
  if (server) kc.clusters = kc.clusters.map((c) => ({ ...c, server }));
  return kc;
}

export interface TestClient {
  client: Client;
  transport: RestTransport;
  metrics: ToolkitMetrics;
}

/** A direct (uncached) client with its own metrics: the tests' hands on the cluster. */
export async function directClient(plane: Plane, server?: string): Promise<TestClient> {
  const metrics = new ToolkitMetrics({ defaultMetrics: false });
  const transport = await RestTransport.fromKubeConfig(kubeConfigFor(plane, server), { metrics });
  return { client: new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-e2e' }), transport, metrics };
}

export async function createNamespace(client: Client, name: string): Promise<void> {
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
}

export async function deleteNamespace(client: Client, name: string): Promise<void> {
  await client.delete({ apiVersion: 'v1', kind: 'Namespace' }, { name });
}

/** A manager as a kvcloud binary builds one, on loopback ports picked by the OS. */
export async function testManager(plane: Plane, args: string[] = [], overrides: Partial<ManagerOptions> = {}): Promise<Manager> {
  const { flags } = parseManagerFlags(['--metrics-bind-address=127.0.0.1:0', '--health-probe-bind-address=127.0.0.1:0', ...args]);
  return Manager.create({
    component: 'toolkit-e2e',
    flags,
    kubeConfig: kubeConfigFor(plane),
    log: createLogger({ level: process.env.E2E_LOG_LEVEL === 'debug' ? 'debug' : 'silent' }),
    metrics: new ToolkitMetrics({ defaultMetrics: true }),
    ...overrides,
  });
}

const WRITE_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Write requests counted by rest_client_requests_total, whatever their answer. */
export function writeRequests(metrics: ToolkitMetrics): Promise<number> {
  return metrics.counterValue('rest_client_requests_total', { method: (m) => WRITE_METHODS.has(m) });
}

export interface WidgetSuite {
  readonly plane: Plane;
  readonly api: TestClient;
  readonly ns: string;
  /** Managers a test started; all are stopped after the suite. */
  readonly managers: Manager[];
}

/**
 * Registers the hooks every Widget suite needs: the shared plane with the Widget CRD, a direct client and a
 * namespace of its own, torn down with the managers the suite started.
 */
export function widgetSuite(prefix: string): WidgetSuite {
  const state = { ns: uniqueName(prefix), managers: [] as Manager[] } as { plane: Plane; api: TestClient; ns: string; managers: Manager[] };
  before(async function () {
    this.timeout(20 * 60_000);
    state.plane = await sharedPlane();
    await state.plane.applyManifests([WIDGET_CRD]);
    state.api = await directClient(state.plane);
    await createNamespace(state.api.client, state.ns);
  });
  after(async () => {
    for (const m of state.managers) await m.stop();
    await deleteNamespace(state.api.client, state.ns);
    state.api.transport.close();
  });
  return state;
}
