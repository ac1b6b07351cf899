// What the control plane reconcilers' unit tests run against: the management cluster as the toolkit's in-memory
// apiserver, an in-memory etcd per DataStore behind the DriverPool, the tenant cluster as a second in-memory
// apiserver behind the ClusterAccessCache (refusing users' writes the way its write-permissions policy makes the
// real one refuse them), and an HTTPS endpoint that answers /readyz for the tenant apiserver probe.
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { CLUSTER_TYPE } from '../../../lib/apis/cluster-api.js';
import { KUBEVIRT_CLUSTER_TYPE } from '../../../lib/apis/kubevirt-infrastructure.js';
import { InformerCache } from '../../../lib/controller/informer-cache.js';
import type { ReconcileContext } from '../../../lib/controller/reconciler.js';
import type { RemoteCluster } from '../../../lib/controller/remote-cluster.js';
import { ApiError } from '../../../lib/kube/api-error.js';
import { Client } from '../../../lib/kube/client.js';
import { ClusterAccessCache } from '../../../lib/kube/cluster-access-cache.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import type { LineStream, RestRequest, Transport } from '../../../lib/kube/rest-transport.js';
import { createLogger } from '../../../lib/observability/logger.js';
import { certificatePem, createCertificateAuthority, issueCertificate, privateKeyPem, type CertificateAuthority } from '../../../lib/pki/x509.js';
import { FakeApiServer, type FakeResource, type Stored } from '../../../lib/testing/fake-apiserver.js';
import {
  DATASTORE_PLURAL,
  DATASTORE_TYPE,
  TENANT_CONTROL_PLANE_PLURAL,
  TENANT_CONTROL_PLANE_TYPE,
  type DataStore,
  type TenantControlPlane,
} from '../api/index.js';
import { KAMAJI_CONTROL_PLANE_PLURAL, KAMAJI_CONTROL_PLANE_TYPE } from '../api/kamajicontrolplane.js';
import type { DataStoreCredentials } from '../datastore/credentials.js';
import { DriverPool } from '../datastore/driver-pool.js';
import { EtcdClient } from '../datastore/etcd-client.js';
import { EtcdDriver, prefixRangeEnd, tenantPrefix, type TenantGrant, type TenantStorage } from '../datastore/etcd-driver.js';
import { buildClusterCA, CA_SECRET, DEFAULT_PKI_OPTIONS, loadCA, type SecretData } from '../pki/index.js';
import { WRITE_PERMISSIONS_POLICY } from '../tenant/write-permissions.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');
const FAKE_ETCD_ENDPOINT = 'fake-etcd.invalid:2379';

// --- etcd -------------------------------------------------------------------------------------------------------

/** One DataStore's etcd as the driver sees it: users with their roles, roles granting their prefix, and keys. */
export class FakeEtcd {
  readonly users = new Map<string, Set<string>>();
  /** Role name -> whether it grants the READWRITE range of its prefix. */
  readonly roles = new Map<string, boolean>();
  readonly keys = new Map<string, string>();
  authEnabled = true;
  /** Every driver call, e.g. "removeTenant acme_user deleteData=false". */
  readonly calls: string[] = [];
  private readonly failures = new Map<string, string>();

  /** The next call of `method` fails with etcd's `message`, as a refused or unreachable etcd would. */
  failNext(method: string, message: string): void {
    this.failures.set(method, message);
  }

  hasTenant(t: TenantStorage): boolean {
    return this.users.get(t.user)?.has(t.schema) === true && this.roles.get(t.schema) === true;
  }

  /** Runs a driver call: recorded, failed when asked. */
  call<T>(method: string, detail: string, fn: () => T): Promise<T> {
    this.calls.push(`${method} ${detail}`.trim());
    const failure = this.failures.get(method);
    if (failure !== undefined) {
      this.failures.delete(method);
      return Promise.reject(new Error(`etcd ${method} at ${FAKE_ETCD_ENDPOINT}: ${failure}`));
    }
    return Promise.resolve(fn());
  }

  keysUnder(prefix: string): string[] {
    const end = prefixRangeEnd(prefix).toString();
    return [...this.keys.keys()].filter((k) => k >= prefix && k < end).sort();
  }
}

/** The KV calls a migration's copy makes (etcd-copy.ts), served from a FakeEtcd's keys. */
class FakeEtcdKV extends EtcdClient {
  constructor(private readonly etcd: FakeEtcd) {
    super({ endpoints: [FAKE_ETCD_ENDPOINT] });
  }

  override kv(method: 'Range' | 'Put' | 'DeleteRange', req: object): Promise<unknown> {
    const r = req as { key: Buffer; range_end?: Buffer; value?: Buffer };
    return this.etcd.call(`kv.${method}`, r.key.toString(), () => {
      if (method === 'Put') {
        this.etcd.keys.set(r.key.toString(), (r.value ?? Buffer.alloc(0)).toString());
        return {};
      }
      const end = r.range_end?.toString() ?? '';
      const keys = [...this.etcd.keys.keys()].filter((k) => k >= r.key.toString() && k < end).sort();
      if (method === 'DeleteRange') {
        for (const k of keys) this.etcd.keys.delete(k);
        return { deleted: String(keys.length) };
      }
      return { header: { revision: '42' }, kvs: keys.map((k) => ({ key: Buffer.from(k), value: Buffer.from(this.etcd.keys.get(k) ?? ''), lease: '0' })), more: false };
    });
  }

  override auth(method: string): Promise<unknown> {
    return Promise.reject(new Error(`FakeEtcdKV: auth ${method} goes through FakeEtcdDriver`));
  }
}

/** The etcd driver's tenant operations on a FakeEtcd; the base class's client is never used, so nothing connects. */
class FakeEtcdDriver extends EtcdDriver {
  private readonly fakeKV: FakeEtcdKV;

  constructor(private readonly etcd: FakeEtcd) {
    super({ endpoints: [FAKE_ETCD_ENDPOINT] });
    this.fakeKV = new FakeEtcdKV(etcd);
  }

  override authEnabled(): Promise<boolean> {
    return this.etcd.call('authEnabled', '', () => this.etcd.authEnabled);
  }

  override ensureTenant(t: TenantStorage): Promise<void> {
    return this.etcd.call('ensureTenant', t.user, () => {
      this.etcd.users.set(t.user, new Set([...(this.etcd.users.get(t.user) ?? []), t.schema]));
      this.etcd.roles.set(t.schema, true);
    });
  }

  override tenantIntact(t: TenantStorage): Promise<boolean> {
    return this.etcd.call('tenantIntact', t.user, () => this.etcd.hasTenant(t));
  }

  override grantOf(t: TenantStorage): Promise<TenantGrant> {
    return this.etcd.call('grantOf', t.user, () => ({ roles: [...(this.etcd.users.get(t.user) ?? [])], prefixGranted: this.etcd.roles.get(t.schema) === true }));
  }

  override removeTenant(t: TenantStorage, opts: { deleteData: boolean }): Promise<{ deletedKeys: number }> {
    return this.etcd.call('removeTenant', `${t.user} deleteData=${String(opts.deleteData)}`, () => {
      this.etcd.users.delete(t.user);
      this.etcd.roles.delete(t.schema);
      if (!opts.deleteData) return { deletedKeys: 0 };
      const keys = this.etcd.keysUnder(tenantPrefix(t.schema));
      for (const k of keys) this.etcd.keys.delete(k);
      return { deletedKeys: keys.length };
    });
  }

  override get kv(): EtcdClient {
    return this.fakeKV;
  }

  override close(): void {
    // Nothing to release: the base client never connected.
  }
}

/** A DriverPool whose drivers work on one FakeEtcd per DataStore name. */
export class FakeDriverPool extends DriverPool {
  private readonly etcds = new Map<string, FakeEtcd>();
  private readonly fakeDrivers = new Map<string, FakeEtcdDriver>();
  /** The credentials each DataStore's driver was last asked for with. */
  readonly credentials = new Map<string, DataStoreCredentials>();
  readonly forgotten: string[] = [];

  etcd(dataStore: string): FakeEtcd {
    let e = this.etcds.get(dataStore);
    if (!e) this.etcds.set(dataStore, (e = new FakeEtcd()));
    return e;
  }

  override driverFor(dataStore: string, creds: DataStoreCredentials): EtcdDriver {
    this.credentials.set(dataStore, creds);
    let d = this.fakeDrivers.get(dataStore);
    if (!d) this.fakeDrivers.set(dataStore, (d = new FakeEtcdDriver(this.etcd(dataStore))));
    return d;
  }

  override forget(dataStore: string): void {
    this.forgotten.push(dataStore);
    this.fakeDrivers.delete(dataStore);
  }

  override close(): void {
    this.fakeDrivers.clear();
  }
}

// --- the tenant cluster -----------------------------------------------------------------------------------------

const rbac = (kind: string, resource: string, namespaced: boolean): FakeResource => ({ apiVersion: 'rbac.authorization.k8s.io/v1', kind, resource, namespaced });
const admission = (kind: string, resource: string): FakeResource => ({ apiVersion: 'admissionregistration.k8s.io/v1', kind, resource, namespaced: false });

/** Every kind the tenant phases write (tenant/phases.ts), and Nodes for the CA rotation's look at them. */
const TENANT_KINDS: FakeResource[] = [
  { apiVersion: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true },
  { apiVersion: 'v1', kind: 'ServiceAccount', resource: 'serviceaccounts', namespaced: true },
  { apiVersion: 'v1', kind: 'Service', resource: 'services', namespaced: true },
  { apiVersion: 'v1', kind: 'Node', resource: 'nodes', namespaced: false },
  { apiVersion: 'apps/v1', kind: 'Deployment', resource: 'deployments', namespaced: true },
  { apiVersion: 'apps/v1', kind: 'DaemonSet', resource: 'daemonsets', namespaced: true },
  rbac('Role', 'roles', true),
  rbac('RoleBinding', 'rolebindings', true),
  rbac('ClusterRole', 'clusterroles', false),
  rbac('ClusterRoleBinding', 'clusterrolebindings', false),
  admission('ValidatingAdmissionPolicy', 'validatingadmissionpolicies'),
  admission('ValidatingAdmissionPolicyBinding', 'validatingadmissionpolicybindings'),
];

interface StoredPolicy {
  spec?: { validations?: { expression: string; message: string }[] };
}

/**
 * The tenant cluster behind the ClusterAccessCache. Its apiserver is in memory and does what the write-permissions
 * ValidatingAdmissionPolicy makes the real one do to a user's dry-run create: refuse it with the policy's message
 * while the policy refuses CREATE (and once the apiserver has loaded it).
 */
export class TenantCluster {
  readonly api = new FakeApiServer();
  /** False while the tenant apiserver has not loaded the policy yet: it loads policies asynchronously. */
  policyLoaded = true;
  /** A refusal the apiserver keeps answering with whatever the policy objects say, as an old pod that missed a lift. */
  stillRefusing: string | undefined;
  /** Connections the access cache opened. */
  connects = 0;
  readonly client: Client;
  readonly access: ClusterAccessCache<RemoteCluster>;

  constructor(management: Client) {
    for (const r of TENANT_KINDS) this.api.serve(r);
    const transport: Transport = {
      host: this.api.host,
      request: <T>(req: RestRequest) => this.request<T>(req),
      stream: (req: RestRequest): Promise<LineStream> => this.api.stream(req),
      close: () => undefined,
    };
    const mapper = new RestMapper(transport);
    this.client = new Client({ transport, mapper, fieldManager: 'kvcloud-controlplane' });
    const remote: RemoteCluster = {
      client: this.client,
      cache: new InformerCache({ transport, mapper }),
      namespace: undefined,
      healthy: () => Promise.resolve(true),
      close: () => Promise.resolve(),
    };
    this.access = new ClusterAccessCache<RemoteCluster>({
      client: management,
      connect: () => {
        this.connects++;
        return Promise.resolve(remote);
      },
      healthCheckIntervalMs: 3_600_000,
    });
  }

  /** The message the tenant apiserver refuses a user's create with, or undefined when it accepts creates. */
  createRefusal(): string | undefined {
    const policy = this.api.peek('admissionregistration.k8s.io/v1', 'ValidatingAdmissionPolicy', WRITE_PERMISSIONS_POLICY) as StoredPolicy | undefined;
    return policy?.spec?.validations?.find((v) => v.expression.includes("'CREATE'"))?.message;
  }

  close(): Promise<void> {
    return this.access.close();
  }

  private request<T>(req: RestRequest): Promise<T> {
    if (req.method !== 'POST' || req.query?.dryRun !== 'All') return this.api.request<T>(req);
    const refusal = this.stillRefusing ?? (this.policyLoaded ? this.createRefusal() : undefined);
    if (refusal !== undefined) {
      const message = `ValidatingAdmissionPolicy '${WRITE_PERMISSIONS_POLICY}' with binding '${WRITE_PERMISSIONS_POLICY}' denied request: ${refusal}`;
      return Promise.reject(new ApiError(403, req.method, req.path, { code: 403, reason: 'Forbidden', message }));
    }
    return Promise.resolve(structuredClone(req.body) as T); // a dry run stores nothing
  }
}

/** The tenant apiserver as the probe sees it: /readyz and /version over TLS, with a serving certificate of `ca`. */
export class TenantAPIServer {
  ready = true;
  gitVersion = 'v1.37.2';
  readonly requests: string[] = [];
  private readonly server: Server;

  private constructor(certPem: string, keyPem: string) {
    this.server = createServer({ cert: certPem, key: keyPem }, (req, res) => {
      this.answer(req.url ?? '', res);
    });
  }

  static async start(ca: CertificateAuthority): Promise<TenantAPIServer> {
    const { cert, key } = await issueCertificate(ca, { commonName: 'kube-apiserver', altNames: ['127.0.0.1'], usage: 'server', validFor: 3_600_000 });
    const s = new TenantAPIServer(certificatePem(cert), await privateKeyPem(key));
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    return s;
  }

  private answer(url: string, res: ServerResponse): void {
    this.requests.push(url);
    if (url === '/readyz') {
      res.writeHead(this.ready ? 200 : 500).end(this.ready ? 'ok' : '[-]etcd failed: reason withheld\nreadyz check failed');
    } else if (url === '/version') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ gitVersion: this.gitVersion }));
    } else {
      res.writeHead(404).end();
    }
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }
}

// --- the management cluster -------------------------------------------------------------------------------------

const MANAGEMENT_KINDS: FakeResource[] = [
  { ...TENANT_CONTROL_PLANE_TYPE, resource: TENANT_CONTROL_PLANE_PLURAL, namespaced: true, statusSubresource: true },
  { ...DATASTORE_TYPE, resource: DATASTORE_PLURAL, namespaced: false, statusSubresource: true },
  { ...KAMAJI_CONTROL_PLANE_TYPE, resource: KAMAJI_CONTROL_PLANE_PLURAL, namespaced: true, statusSubresource: true },
  { ...CLUSTER_TYPE, resource: 'clusters', namespaced: true, statusSubresource: true },
  { ...KUBEVIRT_CLUSTER_TYPE, resource: 'kubevirtclusters', namespaced: true, statusSubresource: true },
  { apiVersion: 'v1', kind: 'Secret', resource: 'secrets', namespaced: true },
  { apiVersion: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true },
  { apiVersion: 'v1', kind: 'Service', resource: 'services', namespaced: true, statusSubresource: true },
  { apiVersion: 'v1', kind: 'Node', resource: 'nodes', namespaced: false },
  { apiVersion: 'apps/v1', kind: 'Deployment', resource: 'deployments', namespaced: true, statusSubresource: true },
];

export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
  /** "Kind/name" of the related object, when the event names one. */
  related?: string;
}

/** The management cluster, the etcds and the tenant cluster one reconciler test works with. */
export class ControlPlaneEnv {
  readonly api = new FakeApiServer();
  readonly client: Client;
  readonly pool = new FakeDriverPool();
  readonly tenant: TenantCluster;
  readonly events: RecordedEvent[] = [];
  readonly log = createLogger({ level: 'silent' });
  private readonly cache: InformerCache;

  constructor() {
    for (const r of MANAGEMENT_KINDS) this.api.serve(r);
    const mapper = new RestMapper(this.api);
    this.client = new Client({ transport: this.api, mapper, fieldManager: 'kvcloud-controlplane' });
    this.cache = new InformerCache({ transport: this.api, mapper });
    this.tenant = new TenantCluster(this.client);
  }

  ctx(key: string): ReconcileContext {
    const record = (type: RecordedEvent['type'], reason: string, note: string) => this.events.push({ type, reason, note });
    return {
      controller: 'test',
      reconcileID: 'r1',
      key,
      log: this.log,
      events: {
        normal: (reason, _action, note) => record('Normal', reason, note),
        warning: (reason, _action, note) => record('Warning', reason, note),
        record: (e) => this.events.push({ type: e.type, reason: e.reason, note: e.note, ...(e.related ? { related: `${e.related.kind}/${e.related.metadata.name ?? ''}` } : {}) }),
      },
      client: this.client,
      cache: this.cache,
    };
  }

  eventReasons(type?: RecordedEvent['type']): string[] {
    return this.events.filter((e) => type === undefined || e.type === type).map((e) => e.reason);
  }

  /** The stored object, without a request: what a test asserts on. */
  get(type: { apiVersion: string; kind: string }, namespace: string | undefined, name: string): Stored | undefined {
    return this.api.peek(type.apiVersion, type.kind, namespace ? `${namespace}/${name}` : name);
  }

  close(): Promise<void> {
    return this.tenant.close();
  }
}

// --- fixtures ---------------------------------------------------------------------------------------------------

/** A DataStore's CA: it signs each tenant's etcd client certificate. */
export async function dataStoreCA(): Promise<{ certPem: string; keyPem: string }> {
  const ca = await createCertificateAuthority('etcd-ca', DEFAULT_PKI_OPTIONS.caValidity);
  return { certPem: certificatePem(ca.cert), keyPem: await privateKeyPem(ca.key) };
}

export interface DataStoreOptions {
  /** Leave out the CA's private key: the operator then cannot sign tenant client certificates. */
  withoutCAKey?: boolean;
  /** Read the CA certificate from this Secret (namespace/name, key ca.crt) instead of inline content. */
  caSecret?: { namespace: string; name: string };
}

export function dataStore(name: string, ca: { certPem: string; keyPem: string }, opts: DataStoreOptions = {}): DataStore {
  const certificate = opts.caSecret ? { secretReference: { ...opts.caSecret, keyPath: 'ca.crt' } } : { content: b64(ca.certPem) };
  return {
    ...DATASTORE_TYPE,
    metadata: { name },
    spec: {
      driver: 'etcd',
      endpoints: [`${name}.etcd.invalid:2379`],
      tlsConfig: {
        certificateAuthority: { certificate, ...(opts.withoutCAKey ? {} : { privateKey: { content: b64(ca.keyPem) } }) },
        clientCertificate: { certificate: { content: b64(ca.certPem) }, privateKey: { content: b64(ca.keyPem) } },
      },
    },
  };
}

/** `<tenant>-ca` as the operator writes it, so a test knows the CA its tenant apiserver's certificate must chain to. */
export async function tenantCA(): Promise<{ data: SecretData; ca: CertificateAuthority }> {
  const data = await buildClusterCA(DEFAULT_PKI_OPTIONS);
  return { data, ca: await loadCA(data, CA_SECRET) };
}

export function secret(namespace: string, name: string, data: Record<string, string>): KubeObject & { data: Record<string, string> } {
  return { apiVersion: 'v1', kind: 'Secret', metadata: { namespace, name }, data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, b64(v)])) };
}

/** A TenantControlPlane "acme" in "tenants", exposed through a LoadBalancer Service on `port`. */
export function tenantControlPlane(port: number, patch: (t: TenantControlPlane) => void = () => undefined): TenantControlPlane & { metadata: object } {
  const t: TenantControlPlane & { metadata: object } = {
    ...TENANT_CONTROL_PLANE_TYPE,
    metadata: { name: 'acme', namespace: 'tenants', generation: 1 },
    spec: {
      dataStore: 'etcd-a',
      controlPlane: { deployment: { replicas: 1 }, service: { serviceType: 'LoadBalancer' } },
      kubernetes: { version: 'v1.37.2', kubelet: {} },
      networkProfile: { port },
    },
  };
  patch(t);
  return t;
}
