// A tenant cluster ready to be autoscaled, shared by the autoscaler suites: clusterctl installs Cluster API and both
// kvcloud providers, a Cluster of the default flavor gets one worker (its MachineDeployment a node group through the
// template's min/max variables) and a second MachineDeployment at zero from the same templates. On request,
// kvcloud's externalgrpc server runs as its main.ts wires it, with certificates as cert-manager would issue them
// and a client certificate for whoever dials it (our own gRPC client or the real cluster-autoscaler). Both suites
// read the per-Cluster cluster-autoscaler's objects and permissions with the helpers at the end.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { MACHINE_DEPLOYMENT_TYPE, type MachineDeployment } from '../../lib/apis/cluster-api.js';
import { Manager } from '../../lib/controller/manager.js';
import { parseManagerFlags } from '../../lib/controller/manager-flags.js';
import { Client } from '../../lib/kube/client.js';
import { RestMapper } from '../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../lib/kube/rest-transport.js';
import { createLogger } from '../../lib/observability/logger.js';
import { ToolkitMetrics } from '../../lib/observability/metrics.js';
import { certificatePem, createCertificateAuthority, issueCertificate, privateKeyPem } from '../../lib/pki/x509.js';
import { startCluster, type Cluster } from '../../localcloud/cluster/cluster.js';
import { addKvcloudControlPlane, clusterctlInitWithKubevirtAndKamaji } from '../../localcloud/clusterctl/kvcloud-control-plane.js';
import { addKvcloudInfrastructure, generateCluster, installKubevirtCRDs } from '../../localcloud/clusterctl/kvcloud-infrastructure.js';
import { createClusterctlRepository, type ClusterctlRepository } from '../../localcloud/clusterctl/repository.js';
import { createReadyDataStore, startSharedEtcd, type SharedEtcd } from '../../localcloud/etcd-datastore.js';
import { kubectl } from '../../localcloud/kubectl.js';
import { runDir } from '../../localcloud/run-dir.js';
import { upstreamVersion } from '../../localcloud/versions.js';
import { waitFor } from '../../localcloud/wait.js';
import { cloudProviderClient } from '../../providers/autoscaler/externalgrpc/protos.js';
import { AUTOSCALER_OPTIONS, autoscalerConfig, setupAutoscaler } from '../../providers/autoscaler/setup.js';
import { startKubevirtSimulator } from '../../simulators/kubevirt/index.js';
import { describeAccess, serviceAccountAllowed, type Access } from './clusterctl/kvcloud-rbac.js';
import { applyManifests, getJSON, tenantKubeconfig, waitForRunningMachines, type WorkloadPlace } from './clusterctl/kvcloud-workload.js';

const MIN_SIZE = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size';
const MAX_SIZE = 'cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size';
// What cluster-autoscaler's client presents as TLS server name; the serving certificate carries it (Node refuses
// an IP address as server name, which the Go client would send for an IP endpoint and verify against the IP SAN).
export const EXTERNALGRPC_SERVER_NAME = 'kvcloud-autoscaler';

/** PEMs of a CA, of a serving certificate for EXTERNALGRPC_SERVER_NAME and 127.0.0.1, and of a client certificate, as cert-manager would issue them. */
export async function externalGrpcPki(): Promise<{ ca: string; clientCert: string; clientKey: string; serving: { cert: string; key: string } }> {
  const ca = await createCertificateAuthority('externalgrpc-ca', 3_600_000);
  const serving = await issueCertificate(ca, { commonName: EXTERNALGRPC_SERVER_NAME, altNames: [EXTERNALGRPC_SERVER_NAME, '127.0.0.1'], usage: 'server', validFor: 3_600_000 });
  const client = await issueCertificate(ca, { commonName: 'cluster-autoscaler', usage: 'client', validFor: 3_600_000 });
  return {
    ca: certificatePem(ca.cert),
    clientCert: certificatePem(client.cert),
    clientKey: await privateKeyPem(client.key),
    serving: { cert: certificatePem(serving.cert), key: await privateKeyPem(serving.key) },
  };
}

/** One unary call of the CloudProvider service: the method's name, its request, its response. */
export type ExternalGrpcCall = (method: string, request: object) => Promise<Record<string, unknown>>;

/**
 * A client of the pinned proto dialling as cluster-autoscaler does: mutual TLS, the serving certificate checked for
 * the server's name (a port alone: 127.0.0.1:port, checked for EXTERNALGRPC_SERVER_NAME). Its own subchannel pool, so
 * close() closes its connection now, not at the shared pool's sweep.
 */
export function dialExternalGrpc(
  target: number | { address: string; serverName: string },
  pem: { ca: string; clientCert: string; clientKey: string },
  deadlineMs = 15_000,
): { call: ExternalGrpcCall; close(): void } {
  const { address, serverName } = typeof target === 'number' ? { address: `127.0.0.1:${String(target)}`, serverName: EXTERNALGRPC_SERVER_NAME } : target;
  const CloudProvider = cloudProviderClient();
  const credentials = grpc.credentials.createSsl(Buffer.from(pem.ca), Buffer.from(pem.clientKey), Buffer.from(pem.clientCert));
  const client = new CloudProvider(address, credentials, { 'grpc.ssl_target_name_override': serverName, 'grpc.use_local_subchannel_pool': 1 });
  const methods = client as unknown as Record<string, (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: (err: grpc.ServiceError | null, res?: Record<string, unknown>) => void) => void>;
  const call: ExternalGrpcCall = (method, request) =>
    new Promise((resolve, reject) => {
      const fn = methods[method];
      if (!fn) {
        reject(new Error(`no RPC ${method}`));
        return;
      }
      fn.call(client, request, new grpc.Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => {
        if (err) reject(err);
        else resolve(res ?? {});
      });
    });
  return { call, close: () => { client.close(); } };
}

export interface AutoscalerTenantOptions {
  namespace: string;
  clusterName: string;
  /** Bounds of the worker MachineDeployment, through the template's variables. */
  workers: { min: number; max: number };
  /**
   * The MachineDeployment at zero: its max size, extra annotations, and labels its kubelets register their Nodes
   * with (its own KubeadmConfigTemplate then passes them as --node-labels; NodeRestriction lets a kubelet set only
   * keys outside the kubernetes.io and k8s.io domains, or a few well-known ones of them).
   */
  atZero: { max: number; annotations?: Record<string, string>; nodeLabels?: Record<string, string> };
}

export interface ExternalGrpcServer {
  readonly manager: Manager;
  readonly port: number;
  /** PEMs of the CA that signed both sides and of a client certificate it accepts. */
  readonly pem: { ca: string; clientCert: string; clientKey: string };
  /** The same client credentials as files, for cluster-autoscaler's cloud config. */
  readonly files: { ca: string; clientCert: string; clientKey: string };
  stop(): Promise<void>;
}

export interface AutoscalerTenant {
  readonly place: WorkloadPlace;
  readonly mgmt: Client;
  /** Kubeconfig path of the tenant's admin. */
  readonly tenantKubeconfig: string;
  /** Names of the worker MachineDeployment (one worker) and of the one at zero. */
  readonly workers: string;
  readonly atZero: string;
  /**
   * kvcloud's autoscaler manager (providers/autoscaler/main.ts's wiring, `extraFlags` after the defaults): the
   * externalgrpc server over this cluster's MachineDeployments, over mutual TLS, and the controller of the
   * per-Cluster cluster-autoscaler Deployments.
   */
  startExternalGrpcServer(extraFlags?: string[]): Promise<ExternalGrpcServer>;
  stop(): Promise<void>;
}

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;

interface KubeadmConfigTemplateView {
  apiVersion: string;
  kind: string;
  spec: { template: { spec: { joinConfiguration?: { nodeRegistration?: { kubeletExtraArgs?: { name: string; value: string }[] } } } } };
}

/**
 * A copy `name` of the KubeadmConfigTemplate `from` whose kubelets register with `labels`. The Node then has them
 * when it first appears: Cluster API copies a Machine's labels only after it has linked the Node, and until then a
 * pod selecting them fits no node, so cluster-autoscaler would grow the pool again.
 */
async function labelledBootstrapTemplate(kubeconfig: string, namespace: string, from: string, name: string, labels: Record<string, string>): Promise<{ apiGroup: string; kind: string; name: string }> {
  const source = await getJSON<KubeadmConfigTemplateView>(kubeconfig, ['kubeadmconfigtemplates.bootstrap.cluster.x-k8s.io', '-n', namespace, from]);
  const join = source.spec.template.spec.joinConfiguration ?? {};
  const registration = join.nodeRegistration ?? {};
  const nodeLabels = { name: 'node-labels', value: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') };
  const spec = { ...source.spec.template.spec, joinConfiguration: { ...join, nodeRegistration: { ...registration, kubeletExtraArgs: [...(registration.kubeletExtraArgs ?? []).filter((a) => a.name !== 'node-labels'), nodeLabels] } } };
  await applyManifests(kubeconfig, JSON.stringify({ apiVersion: source.apiVersion, kind: source.kind, metadata: { namespace, name }, spec: { template: { spec } } }));
  return { apiGroup: source.apiVersion.split('/')[0] ?? '', kind: source.kind, name };
}

export async function startAutoscalerTenant(opts: AutoscalerTenantOptions): Promise<AutoscalerTenant> {
  const { namespace, clusterName } = opts;
  const workers = `${clusterName}-md-0`;
  const atZero = `${clusterName}-md-zero`;
  const undo: (() => Promise<void> | void)[] = [];
  const stop = async (): Promise<void> => {
    for (const step of undo.reverse()) await step();
  };
  try {
    let step = Date.now();
    const local: Cluster = await startCluster({
      nodes: [
        { name: 'kvcloud-node-1', zone: 'zone-a', region: 'kvcloud-local' },
        { name: 'kvcloud-node-2', zone: 'zone-b', region: 'kvcloud-local' },
      ],
    });
    undo.push(() => local.stop());
    const kubeconfig = local.plane.kubeconfigPath;
    const place: WorkloadPlace = { kubeconfig, namespace, clusterName, infra: { kubeconfig, namespace } };
    const transport = await RestTransport.fromKubeConfig(local.plane.kubeConfig);
    undo.push(() => {
      transport.close();
    });
    const mgmt = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-e2e' });
    const repo: ClusterctlRepository = await createClusterctlRepository();
    undo.push(() => repo.remove());
    await addKvcloudInfrastructure(repo);
    await addKvcloudControlPlane(repo);
    await installKubevirtCRDs(kubeconfig);
    console.log(`      management cluster and clusterctl repository: ${seconds(step)}`);
    step = Date.now();
    await clusterctlInitWithKubevirtAndKamaji(repo, kubeconfig);
    const simulator = await startKubevirtSimulator({ kubeconfig });
    undo.push(() => simulator.stop());
    const etcd: SharedEtcd = await startSharedEtcd(mgmt, 'shared-etcd');
    undo.push(() => etcd.stop());
    await createReadyDataStore(mgmt, 'default', etcd);
    console.log(`      clusterctl init, KubeVirt simulator, DataStore: ${seconds(step)}`);

    step = Date.now();
    await kubectl(kubeconfig, ['create', 'namespace', namespace]);
    const generated = await generateCluster(repo, {
      source: {},
      kubeconfig,
      clusterName,
      namespace,
      kubernetesVersion: upstreamVersion('KUBERNETES_VERSION'),
      workerMachineCount: 1,
      variables: {
        NODE_VM_IMAGE_TEMPLATE: 'quay.io/capk/ubuntu-2404-container-disk:v1.34.1',
        CRI_PATH: '/var/run/containerd/containerd.sock',
        WORKER_MACHINE_MIN_COUNT: String(opts.workers.min),
        WORKER_MACHINE_MAX_COUNT: String(opts.workers.max),
      },
    });
    await applyManifests(kubeconfig, generated);
    // The pool at zero, from the same machine template, for scale-from-zero.
    const md0 = await waitFor(() => mgmt.get<MachineDeployment>(MACHINE_DEPLOYMENT_TYPE, { namespace, name: workers }, { direct: true }), { timeoutMs: 30_000, what: `MachineDeployment ${workers}` });
    const template = md0.spec?.template ?? { spec: { clusterName } };
    const bootstrap = opts.atZero.nodeLabels ? { configRef: await labelledBootstrapTemplate(kubeconfig, namespace, template.spec.bootstrap?.configRef?.name ?? workers, atZero, opts.atZero.nodeLabels) } : template.spec.bootstrap;
    await mgmt.create<MachineDeployment>({
      ...MACHINE_DEPLOYMENT_TYPE,
      metadata: { namespace, name: atZero, annotations: { [MIN_SIZE]: '0', [MAX_SIZE]: String(opts.atZero.max), ...opts.atZero.annotations } },
      spec: { clusterName, replicas: 0, selector: { matchLabels: {} }, template: { spec: { ...template.spec, ...(bootstrap ? { bootstrap } : {}) } } },
    });
    await waitForRunningMachines(place, workers, 1, 10 * 60_000);
    const tenant = await tenantKubeconfig(place);
    undo.push(() => tenant.remove());
    console.log(`      tenant cluster ${clusterName} with 1 worker: ${seconds(step)}`);

    const startExternalGrpcServer = async (extraFlags: string[] = []): Promise<ExternalGrpcServer> => {
      const certDir = await mkdtemp(join(runDir(), 'externalgrpc-'));
      const { serving, ...pem } = await externalGrpcPki();
      const files = { ca: join(certDir, 'ca.crt'), clientCert: join(certDir, 'client.crt'), clientKey: join(certDir, 'client.key') };
      await writeFile(join(certDir, 'tls.crt'), serving.cert);
      await writeFile(join(certDir, 'tls.key'), serving.key);
      await writeFile(files.ca, pem.ca);
      await writeFile(files.clientCert, pem.clientCert);
      await writeFile(files.clientKey, pem.clientKey);
      const { flags, values } = parseManagerFlags(
        [
          '--metrics-bind-address=127.0.0.1:0',
          '--health-probe-bind-address=127.0.0.1:0',
          '--grpc-bind-address=127.0.0.1:0',
          `--tls-cert-file=${join(certDir, 'tls.crt')}`,
          `--tls-private-key-file=${join(certDir, 'tls.key')}`,
          `--client-ca-file=${files.ca}`,
          `--cluster=${clusterName}`,
          ...extraFlags,
        ],
        AUTOSCALER_OPTIONS,
      );
      const manager = await Manager.create({ component: 'autoscaler', flags, kubeConfig: local.plane.kubeConfig, log: createLogger({ level: process.env.E2E_LOG_LEVEL === 'debug' ? 'debug' : 'silent' }), metrics: new ToolkitMetrics() });
      const handle = await setupAutoscaler(manager, autoscalerConfig(values));
      await manager.start();
      const stopServer = async (): Promise<void> => {
        await manager.stop();
        await rm(certDir, { recursive: true, force: true });
      };
      try {
        const port = await waitFor(() => handle.port(), { timeoutMs: 30_000, what: 'the externalgrpc server to listen' });
        return { manager, port, pem, files, stop: stopServer };
      } catch (err) {
        await stopServer();
        throw err;
      }
    };

    return { place, mgmt, tenantKubeconfig: tenant.path, workers, atZero, startExternalGrpcServer, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The label selector of what the per-Cluster cluster-autoscaler controller makes (and of its pods). */
export const CLUSTER_AUTOSCALER_SELECTOR = 'app.kubernetes.io/name=cluster-autoscaler';

export interface ClusterAutoscalerObject {
  kind: string;
  metadata: { name: string; ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean; blockOwnerDeletion?: boolean }[] };
  spec?: unknown;
}

/** The ServiceAccount, Role, RoleBinding and Deployment of the per-Cluster cluster-autoscaler in the namespace, in one kubectl call. */
export async function clusterAutoscalerObjects(tenant: AutoscalerTenant): Promise<ClusterAutoscalerObject[]> {
  const kinds = 'serviceaccounts,roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,deployments.apps';
  return (await getJSON<{ items: ClusterAutoscalerObject[] }>(tenant.place.kubeconfig, [kinds, '-n', tenant.place.namespace, '-l', CLUSTER_AUTOSCALER_SELECTOR])).items;
}

/**
 * What the per-Cluster cluster-autoscaler's ServiceAccount is allowed, as the apiserver answers, beside what it should
 * be: what the clusterapi provider does in the Cluster's namespace, and nothing it does not (Secrets, deleting
 * Machines, editing MachineDeployments other than through scale, other namespaces).
 */
export async function clusterAutoscalerAccess(tenant: AutoscalerTenant): Promise<{ answered: string[]; wanted: string[] }> {
  const { namespace, clusterName } = tenant.place;
  const CAPI = 'cluster.x-k8s.io';
  const accesses: (Access & { want: boolean })[] = [
    { verb: 'update', group: CAPI, resource: 'machinedeployments', subresource: 'scale', namespace, want: true },
    { verb: 'list', group: 'infrastructure.cluster.x-k8s.io', resource: 'kubevirtmachinetemplates', namespace, want: true },
    { verb: 'patch', group: CAPI, resource: 'machines', namespace, want: true },
    { verb: 'get', group: '', resource: 'secrets', namespace, want: false },
    { verb: 'delete', group: CAPI, resource: 'machines', namespace, want: false },
    { verb: 'update', group: CAPI, resource: 'machinedeployments', namespace, want: false },
    { verb: 'list', group: CAPI, resource: 'machinedeployments', namespace: 'default', want: false },
    { verb: 'list', group: CAPI, resource: 'machinedeployments', want: false },
  ];
  const allowed = await serviceAccountAllowed(tenant.place.kubeconfig, namespace, `${clusterName}-cluster-autoscaler`, accesses);
  return {
    answered: accesses.map((a, i) => `${describeAccess(a)}: ${String(allowed[i])}`),
    wanted: accesses.map((a) => `${describeAccess(a)}: ${String(a.want)}`),
  };
}
