// The clusters the infrastructure reconcilers act on, as in-memory apiservers: the management cluster, an external
// infra cluster and the tenant cluster, wired as setup.ts wires them. A pass runs one reconcile the way the
// toolkit's controller does (patch what changed, also after a failure), so the suites assert on what was written.
import type { KubeConfigSource } from '../../../lib/kube/kubeconfig-source.js';
import { CDI_API_VERSION, DATA_VOLUME_TYPE } from '../../../lib/apis/cdi.js';
import { CLUSTER_TYPE, MACHINE_CONTROL_PLANE_LABEL, MACHINE_TYPE, type Cluster, type Machine } from '../../../lib/apis/cluster-api.js';
import { NODE_TYPE, POD_TYPE, SECRET_TYPE, SERVICE_TYPE, type Secret } from '../../../lib/apis/core.js';
import {
  VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE,
  VIRTUAL_MACHINE_INSTANCE_TYPE,
  VIRTUAL_MACHINE_TYPE,
} from '../../../lib/apis/kubevirt.js';
import { getCondition, type Condition } from '../../../lib/controller/conditions.js';
import { InformerCache } from '../../../lib/controller/informer-cache.js';
import { PatchHelper } from '../../../lib/controller/patch-helper.js';
import type { ReconcileContext, Reconciler, Result } from '../../../lib/controller/reconciler.js';
import type { RemoteCluster } from '../../../lib/controller/remote-cluster.js';
import { Client } from '../../../lib/kube/client.js';
import { ClusterAccessCache, tenantKubeconfigSecretName } from '../../../lib/kube/cluster-access-cache.js';
import type { KubeObject, TypeMeta } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { createLogger } from '../../../lib/observability/logger.js';
import { FakeApiServer, type FakeResource, type Stored } from '../../../lib/testing/fake-apiserver.js';
import { FakeListWatcher } from '../../../lib/testing/fake-list-watcher.js';
import {
  CLUSTER_NAME_LABEL,
  INFRA_KUBECONFIG_KEY,
  KubevirtClusterGVK,
  KubevirtMachineGVK,
  KubevirtMachineTemplateGVK,
  SSH_PRIVATE_KEY_SECRET_KEY,
  SSH_PUBLIC_KEY_SECRET_KEY,
  type KubevirtCluster,
  type KubevirtMachine,
  type KubevirtMachineSpec,
} from '../api/index.js';
import { ClusterConnections } from './cluster-connections.js';

export const NS = 'tenants';
export const CLUSTER = 'acme';
const TENANT_SERVER = 'https://acme.invalid:6443';
const INFRA_SERVER = 'https://infra.invalid:6443';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

const CORE: FakeResource[] = [
  { ...SECRET_TYPE, resource: 'secrets', namespaced: true },
  { ...SERVICE_TYPE, resource: 'services', namespaced: true, statusSubresource: true },
  { ...NODE_TYPE, resource: 'nodes', namespaced: false, statusSubresource: true },
];
const KUBEVIRT: FakeResource[] = [
  { ...VIRTUAL_MACHINE_TYPE, resource: 'virtualmachines', namespaced: true, statusSubresource: true },
  { ...VIRTUAL_MACHINE_INSTANCE_TYPE, resource: 'virtualmachineinstances', namespaced: true, statusSubresource: true },
  { ...VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE, resource: 'virtualmachineinstancemigrations', namespaced: true, statusSubresource: true },
  { apiVersion: CDI_API_VERSION, kind: DATA_VOLUME_TYPE.kind, resource: 'datavolumes', namespaced: true, statusSubresource: true },
];
const CLUSTER_API: FakeResource[] = [
  { ...CLUSTER_TYPE, resource: 'clusters', namespaced: true, statusSubresource: true },
  { ...MACHINE_TYPE, resource: 'machines', namespaced: true, statusSubresource: true },
  { ...KubevirtClusterGVK, resource: 'kubevirtclusters', namespaced: true, statusSubresource: true },
  { ...KubevirtMachineGVK, resource: 'kubevirtmachines', namespaced: true, statusSubresource: true },
  { ...KubevirtMachineTemplateGVK, resource: 'kubevirtmachinetemplates', namespaced: true, statusSubresource: true },
];

// What cluster templates add beside the Cluster (the tenant's CCM), removed with the KubevirtCluster.
const TEMPLATE_EXTRAS: FakeResource[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true },
  { apiVersion: 'v1', kind: 'ServiceAccount', resource: 'serviceaccounts', namespaced: true },
  { apiVersion: 'apps/v1', kind: 'Deployment', resource: 'deployments', namespaced: true, statusSubresource: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', resource: 'roles', namespaced: true },
  { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'RoleBinding', resource: 'rolebindings', namespaced: true },
];

function apiserver(resources: FakeResource[]): FakeApiServer {
  const api = new FakeApiServer();
  for (const r of resources) api.serve(r);
  return api;
}

function clientOf(api: FakeApiServer): Client {
  return new Client({ transport: api, mapper: new RestMapper(api), fieldManager: 'kvcloud-infrastructure' });
}

// A connection as connectRemoteCluster makes it, over an in-memory apiserver. Its informers never start (enough
// for the reconcilers to register remote watches), so its client reads the apiserver directly.
function remoteCluster(api: FakeApiServer, namespace: string | undefined): RemoteCluster {
  const mapper = new RestMapper(api);
  const cache = new InformerCache({ transport: api, mapper, listWatcherFactory: () => Promise.resolve(new FakeListWatcher<KubeObject>()) });
  return {
    client: new Client({ transport: api, mapper, fieldManager: 'kvcloud-infrastructure' }),
    cache,
    namespace,
    healthy: () => Promise.resolve(true),
    close: () => cache.stop(),
  };
}

function kubeconfig(server: string): string {
  return `apiVersion: v1
kind: Config
clusters: [{ name: c, cluster: { server: "${server}" } }]
users: [{ name: u, user: { token: t } }]
contexts: [{ name: ctx, context: { cluster: c, user: u } }]
current-context: ctx
`;
}

export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

/** One reconcile: what it returned or threw, the object as the apiserver holds it afterwards, its Events. */
export interface Pass<T> {
  result: Result | undefined;
  error: Error | undefined;
  /** Undefined when the object is gone (its last finalizer removed). */
  stored: T | undefined;
  events: RecordedEvent[];
}

export class InfraEnv {
  /** The management cluster: Cluster API objects, ours, and (without infraClusterSecretRef) the VMs. */
  readonly api = apiserver([...CORE, ...KUBEVIRT, ...CLUSTER_API, ...TEMPLATE_EXTRAS]);
  /** An external infra cluster, reached through an infraClusterSecretRef kubeconfig Secret. */
  readonly infraApi = apiserver([...CORE, ...KUBEVIRT]);
  /** The tenant cluster, reached through <cluster>-kubeconfig. */
  readonly tenantApi = apiserver([...CORE, { ...POD_TYPE, resource: 'pods', namespaced: true }]);
  readonly client = clientOf(this.api);
  readonly enqueued: string[] = [];
  readonly connections: ClusterConnections;
  private readonly access: ClusterAccessCache<RemoteCluster>;
  private readonly remotes: RemoteCluster[] = [];
  private readonly cache: InformerCache;

  constructor() {
    const log = createLogger({ level: 'silent' });
    this.access = new ClusterAccessCache<RemoteCluster>({
      client: this.client,
      connect: (kc: KubeConfigSource, info) => {
        const remote = remoteCluster(kc.getCurrentCluster()?.server === TENANT_SERVER ? this.tenantApi : this.infraApi, info.namespace);
        this.remotes.push(remote);
        return Promise.resolve(remote);
      },
      log,
    });
    this.connections = new ClusterConnections(this.client, this.access, log);
    this.cache = new InformerCache({ transport: this.api, mapper: new RestMapper(this.api) });
  }

  readonly enqueue = (key: string): void => {
    this.enqueued.push(key);
  };

  seed<T extends KubeObject>(obj: T): T {
    return this.api.seed(obj);
  }

  /** The object as the management apiserver holds it now. */
  stored(type: TypeMeta, name: string, namespace: string | undefined = NS): Stored | undefined {
    return this.api.peek(type.apiVersion, type.kind, namespace ? `${namespace}/${name}` : name);
  }

  async pass<T extends KubeObject>(reconciler: Reconciler<T>, type: TypeMeta, name: string): Promise<Pass<T>> {
    const obj = await this.client.get<T>(type, { namespace: NS, name });
    if (!obj) throw new Error(`${type.kind} ${NS}/${name} not found`);
    const events: RecordedEvent[] = [];
    const helper = PatchHelper.snapshot(this.client, obj);
    let result: Result | undefined;
    let error: Error | undefined;
    try {
      result = await reconciler.reconcile(obj, this.context(name, events));
    } catch (err) {
      error = err as Error;
    }
    await helper.patch(obj);
    return { result, error, stored: this.stored(type, name) as T | undefined, events };
  }

  async close(): Promise<void> {
    await this.access.close();
    await Promise.all(this.remotes.map((r) => r.close()));
    await this.cache.stop();
  }

  private context(name: string, events: RecordedEvent[]): ReconcileContext {
    const record = (type: RecordedEvent['type'], reason: string, note: string): void => {
      events.push({ type, reason, note });
    };
    return {
      controller: 'test',
      reconcileID: 'test',
      key: `${NS}/${name}`,
      log: createLogger({ level: 'silent' }),
      events: {
        normal: (reason, _action, note) => { record('Normal', reason, note); },
        warning: (reason, _action, note) => { record('Warning', reason, note); },
        record: (input) => { record(input.type, input.reason, input.note); },
      },
      client: this.client,
      cache: this.cache,
    };
  }
}

/** `type` condition's status and reason, for compact assertions. */
export function conditionOf(obj: { status?: { conditions?: Condition[] } & Record<string, unknown> } & KubeObject | undefined, type: string): { status: string; reason: string } | undefined {
  const c = getCondition(obj, type);
  return c ? { status: c.status, reason: c.reason } : undefined;
}

/** The same from the v1beta1 mirror (status.deprecated.v1beta1.conditions); a True one has no reason there. */
export function v1beta1ConditionOf(obj: { status?: { deprecated?: { v1beta1?: { conditions?: { type: string; status: string; reason?: string }[] } } } } | undefined, type: string): { status: string; reason?: string } | undefined {
  const c = obj?.status?.deprecated?.v1beta1?.conditions?.find((x) => x.type === type);
  return c ? { status: c.status, ...(c.reason !== undefined ? { reason: c.reason } : {}) } : undefined;
}

// --- Fixtures: a Cluster "acme" with its KubevirtCluster, and Machines with their KubevirtMachines.

export function cluster(status: { infrastructureProvisioned?: boolean; controlPlaneInitialized?: boolean } = {}, spec: Cluster['spec'] = {}): Cluster {
  return {
    ...CLUSTER_TYPE,
    metadata: { namespace: NS, name: CLUSTER },
    spec: { infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: KubevirtClusterGVK.kind, name: CLUSTER }, ...spec },
    status: { initialization: { infrastructureProvisioned: true, controlPlaneInitialized: true, ...status } },
  };
}

export function kubevirtCluster(spec: KubevirtCluster['spec'] = {}, metadata: Partial<KubevirtCluster['metadata']> = {}): KubevirtCluster {
  return {
    ...KubevirtClusterGVK,
    metadata: {
      namespace: NS,
      name: CLUSTER,
      labels: { [CLUSTER_NAME_LABEL]: CLUSTER },
      ownerReferences: [{ ...CLUSTER_TYPE, name: CLUSTER, uid: 'cluster-uid' }],
      ...metadata,
    },
    spec,
  };
}

export function sshKeysSecret(): Secret {
  return {
    ...SECRET_TYPE,
    metadata: { namespace: NS, name: `${CLUSTER}-ssh-keys` },
    data: { [SSH_PUBLIC_KEY_SECRET_KEY]: b64('ssh-rsa AAAAtest'), [SSH_PRIVATE_KEY_SECRET_KEY]: b64('-----BEGIN RSA PRIVATE KEY-----\n') },
  };
}

export function tenantKubeconfigSecret(): Secret {
  return { ...SECRET_TYPE, metadata: { namespace: NS, name: tenantKubeconfigSecretName(CLUSTER) }, data: { value: b64(kubeconfig(TENANT_SERVER)) } };
}

/** An infraClusterSecretRef Secret; `namespace` is the key that sets the infra namespace. */
export function infraKubeconfigSecret(name: string, namespace?: string): Secret {
  return {
    ...SECRET_TYPE,
    metadata: { namespace: NS, name },
    data: { [INFRA_KUBECONFIG_KEY]: b64(kubeconfig(INFRA_SERVER)), ...(namespace ? { namespace: b64(namespace) } : {}) },
  };
}

export function bootstrapSecret(name: string, value = '#cloud-config\nruncmd: [kubeadm join]\n'): Secret {
  return { ...SECRET_TYPE, metadata: { namespace: NS, name, labels: { [CLUSTER_NAME_LABEL]: CLUSTER } }, data: { value: b64(value) } };
}

export function machine(name: string, opts: { controlPlane?: boolean; dataSecretName?: string; failureDomain?: string } = {}): Machine {
  return {
    ...MACHINE_TYPE,
    metadata: {
      namespace: NS,
      name,
      labels: { [CLUSTER_NAME_LABEL]: CLUSTER, ...(opts.controlPlane ? { [MACHINE_CONTROL_PLANE_LABEL]: '' } : {}) },
    },
    spec: {
      clusterName: CLUSTER,
      bootstrap: opts.dataSecretName ? { dataSecretName: opts.dataSecretName } : {},
      infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: KubevirtMachineGVK.kind, name },
      ...(opts.failureDomain ? { failureDomain: opts.failureDomain } : {}),
    },
  };
}

export function kubevirtMachine(name: string, spec: Partial<KubevirtMachineSpec> = {}, metadata: Partial<KubevirtMachine['metadata']> = {}): KubevirtMachine {
  return {
    ...KubevirtMachineGVK,
    metadata: {
      namespace: NS,
      name,
      labels: { [CLUSTER_NAME_LABEL]: CLUSTER },
      ownerReferences: [{ ...MACHINE_TYPE, name, uid: `${name}-uid` }],
      ...metadata,
    },
    spec: {
      virtualMachineTemplate: {
        spec: {
          runStrategy: 'Always',
          template: { spec: { domain: { cpu: { cores: 2 }, memory: { guest: '2Gi' }, devices: {} } } },
        },
      },
      ...spec,
    },
  };
}
