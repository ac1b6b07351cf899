// "A Kubernetes cluster at the push of a button": `clusterctl init --infrastructure kubevirt --control-plane kamaji`
// from the release manifests, a DataStore on a shared etcd, and `clusterctl generate cluster` with the default
// flavor applied as generated. The tenant's control plane runs as pods of our operator (a real kube-apiserver on the
// DataStore), its workers are KubeVirt VMs whose simulated guests run the CABPK cloud-init (`kubeadm join` with a
// bootstrap token, a kubelet CSR, a Node) and the Cluster becomes Available; then a Cluster of the kubevirt-kamaji
// ClusterClass does the same, and deleting a Cluster leaves nothing behind, in the management cluster or in etcd.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import { startCluster, type Cluster } from '../../../localcloud/cluster/cluster.js';
import {
  addKvcloudControlPlane,
  clusterctlInitWithKubevirtAndKamaji,
  KAMAJI_MANAGER_DEPLOYMENT,
  KAMAJI_MANAGER_SERVICE_ACCOUNT,
  KAMAJI_PROVIDER_NAMESPACE,
  usesKamajiControlPlane,
  type KvcloudControlPlane,
} from '../../../localcloud/clusterctl/kvcloud-control-plane.js';
import { addKvcloudInfrastructure, describeCluster, generateCluster, installKubevirtCRDs, type KvcloudInfrastructure, QUICK_START_VARIABLES } from '../../../localcloud/clusterctl/kvcloud-infrastructure.js';
import {
  applyManifests,
  CLUSTER_NAME_LABEL,
  deleteCluster,
  getJSON,
  machineVMs,
  tenantKubeconfig,
  tenantNodeStates,
  waitForNoLeftovers,
  waitForRunningMachines,
  type WorkloadPlace,
} from '../../harness/clusterctl/kvcloud-workload.js';
import { createClusterctlRepository, type ClusterctlRepository } from '../../../localcloud/clusterctl/repository.js';
import { startKubevirtSimulator } from '../../../simulators/kubevirt/index.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { createReadyDataStore, startSharedEtcd, type SharedEtcd } from '../../../localcloud/etcd-datastore.js';
import { expectTemplateCsiDriver } from '../csi/template-driver.js';

const VERSION = upstreamVersion('KUBERNETES_VERSION');
const PROVIDER_SELECTOR = 'cluster.x-k8s.io/provider=control-plane-kamaji';
const KCP_RESOURCE = 'kamajicontrolplanes.controlplane.cluster.x-k8s.io';
const TCP_RESOURCE = 'tenantcontrolplanes.kamaji.clastix.io';
// What a hosted tenant adds to what kvcloud-workload.ts scans after deletion: our kinds and the control plane pods'
// Deployment, Services, ConfigMaps (the pods, Secrets and VMs are scanned already).
const HOSTED_KINDS = [KCP_RESOURCE, TCP_RESOURCE, 'deployments.apps', 'replicasets.apps', 'configmaps', 'endpointslices.discovery.k8s.io'];

interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

interface KamajiControlPlaneView extends KubeObject {
  spec: { controlPlaneEndpoint?: { host: string; port: number }; version: string; replicas?: number };
  status?: {
    initialization?: { controlPlaneInitialized?: boolean };
    externalManagedControlPlane?: boolean;
    replicas?: number;
    readyReplicas?: number;
    availableReplicas?: number;
    versions?: { version: string; replicas?: number }[];
    conditions?: Condition[];
  };
}

interface ClusterView extends KubeObject {
  spec: { controlPlaneEndpoint?: { host: string; port: number } };
  status?: { conditions?: Condition[]; initialization?: { infrastructureProvisioned?: boolean; controlPlaneInitialized?: boolean } };
}

interface TenantControlPlaneView extends KubeObject {
  status?: { storage?: { setup?: { schema?: string; user?: string } }; controlPlaneEndpoint?: string };
}

interface Pod {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { serviceAccountName?: string; containers: { name: string; image: string; args?: string[]; command?: string[] }[] };
  status?: { phase?: string; conditions?: Condition[]; containerStatuses?: { name: string; ready: boolean }[] };
}

interface CSR {
  metadata: { name: string };
  spec: { signerName: string; username: string };
  status?: { conditions?: Condition[]; certificate?: string };
}

const conditionsOf = (conditions: Condition[] | undefined): string => (conditions ?? []).map((c) => `${c.type}=${c.status}${c.reason ? `(${c.reason}${c.message ? `: ${c.message}` : ''})` : ''}`).join('; ');
const isTrue = (conditions: Condition[] | undefined, type: string) => conditions?.some((c) => c.type === type && c.status === 'True') === true;

/**
 * The pods of a namespace (phase, container readiness and restarts) with the last lines each container logged: what
 * a failing wait needs to say why, since the run's directory is gone once the suite ends.
 */
async function podReport(cluster: Cluster, namespace: string, lines = 15): Promise<string> {
  interface PodState {
    metadata: { name: string; uid: string };
    status?: { phase?: string; containerStatuses?: { name: string; ready: boolean; restartCount: number }[] };
  }
  const pods = await getJSON<{ items: PodState[] }>(cluster.plane.kubeconfigPath, ['pods', '-n', namespace]).catch(() => ({ items: [] as PodState[] }));
  const out: string[] = [];
  for (const pod of pods.items) {
    out.push(`pod ${namespace}/${pod.metadata.name} ${pod.status?.phase ?? '?'} ${JSON.stringify(pod.status?.containerStatuses?.map((c) => [c.name, c.ready, c.restartCount]))}`);
    const dir = join(cluster.dir, 'logs', `${namespace}_${pod.metadata.name}_${pod.metadata.uid}`);
    for (const container of await readdir(dir).catch(() => [])) {
      const runs = (await readdir(join(dir, container)).catch(() => [])).sort();
      const last = runs.at(-1);
      if (!last) continue;
      const text = await readFile(join(dir, container, last), 'utf8').catch(() => '');
      out.push(`  --- ${container}/${last}`, ...text.trim().split('\n').slice(-lines).map((l) => `    ${l.slice(0, 500)}`));
    }
  }
  return out.join('\n');
}

/** Runs `step`; when it fails, the error carries the pods' report of the namespaces that explain it. */
async function explained<T>(cluster: Cluster | undefined, namespaces: string[], step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    const reports = cluster ? await Promise.all(namespaces.map((ns) => podReport(cluster, ns))) : [];
    throw new Error(`${(err as Error).message}\n${reports.join('\n')}`, { cause: err });
  }
}

/** The not-True conditions of the cluster's Cluster API and provider objects: why its workers are not there yet. */
async function workloadReport(place: WorkloadPlace): Promise<string> {
  const kinds = [
    'clusters.cluster.x-k8s.io',
    'machines.cluster.x-k8s.io',
    'kubeadmconfigs.bootstrap.cluster.x-k8s.io',
    'kubevirtmachines.infrastructure.cluster.x-k8s.io',
    KCP_RESOURCE,
    'virtualmachineinstances.kubevirt.io',
  ];
  const list = await getJSON<{ items: (KubeObject & { status?: { phase?: string; conditions?: Condition[] } })[] }>(place.kubeconfig, [kinds.join(','), '-n', place.namespace]).catch(
    (err: unknown) => ({ items: [], error: (err as Error).message }),
  );
  return list.items
    .map((o) => `${o.kind ?? ''} ${o.metadata.name ?? ''}${o.status?.phase ? ` ${o.status.phase}` : ''}: ${conditionsOf(o.status?.conditions?.filter((c) => c.status !== 'True'))}`)
    .join('\n  ');
}

/** Runs `step`; when it fails, the error carries the cluster's objects' conditions. */
async function withWorkloadReport<T>(place: WorkloadPlace, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (err) {
    throw new Error(`${(err as Error).message}\n  ${await workloadReport(place)}`, { cause: err });
  }
}

describe('a tenant cluster at the push of a button: clusterctl with kvcloud\'s infrastructure and control plane providers', () => {
  let cluster: Cluster | undefined;
  let transport: RestTransport | undefined;
  let client: Client | undefined;
  let repo: ClusterctlRepository | undefined;
  let infrastructure: KvcloudInfrastructure | undefined;
  let controlPlane: KvcloudControlPlane | undefined;
  let etcd: SharedEtcd | undefined;
  let kubeconfig: string;
  const simulators: { stop(): Promise<void> }[] = [];

  const started = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`${what} is not there (see the before hook and the first tests)`);
    return value;
  };

  before(async function () {
    this.timeout(20 * 60_000);
    const local = await startCluster({
      nodes: [
        { name: 'kvcloud-node-1', zone: 'zone-a', region: 'kvcloud-local' },
        { name: 'kvcloud-node-2', zone: 'zone-b', region: 'kvcloud-local' },
      ],
    });
    cluster = local;
    kubeconfig = local.plane.kubeconfigPath;
    transport = await RestTransport.fromKubeConfig(local.plane.kubeConfig);
    client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-e2e' });
    repo = await createClusterctlRepository();
    infrastructure = await addKvcloudInfrastructure(repo);
    controlPlane = await addKvcloudControlPlane(repo);
    // KubeVirt is installed before its Cluster API provider, as on a real management cluster.
    await installKubevirtCRDs(kubeconfig);
  });
  after(async function () {
    this.timeout(3 * 60_000);
    for (const s of simulators) await s.stop();
    if (etcd) await etcd.stop();
    transport?.close();
    await cluster?.stop();
    await repo?.remove();
  });

  it('clusterctl init --infrastructure kubevirt --control-plane kamaji installs both providers from their releases, and the operator becomes ready', async function () {
    this.timeout(10 * 60_000);
    const r = started(repo, 'the clusterctl repository');
    const release = started(controlPlane, 'the control-plane-kamaji release');
    const { output, seconds } = await explained(cluster, [KAMAJI_PROVIDER_NAMESPACE, 'capk-system'], () => clusterctlInitWithKubevirtAndKamaji(r, kubeconfig));
    console.log(`      clusterctl init (cert-manager, core, kubeadm bootstrap, kamaji, kubevirt; all Available) took ${seconds.toFixed(1)} s`);
    expect(output).to.match(/Installing provider="control-plane-kamaji" version="v\d+\.\d+\.\d+" targetNamespace="kamaji-system"/);
    expect(output).to.match(/Installing provider="infrastructure-kubevirt" version="v\d+\.\d+\.\d+" targetNamespace="capk-system"/);
    expect(output).to.match(/Your management cluster has been initialized successfully/);

    const providers = await getJSON<{ items: { metadata: { name: string; namespace: string }; type: string; version: string }[] }>(kubeconfig, ['providers.clusterctl.cluster.x-k8s.io', '-A']);
    const installed = providers.items.map((p) => `${p.type}/${p.metadata.name}@${p.version} in ${p.metadata.namespace}`);
    expect(installed).to.include.members([
      `ControlPlaneProvider/control-plane-kamaji@${release.version} in ${KAMAJI_PROVIDER_NAMESPACE}`,
      `InfrastructureProvider/infrastructure-kubevirt@${started(infrastructure, 'the infrastructure release').version} in capk-system`,
    ]);
    expect(installed.filter((p) => p.startsWith('ControlPlaneProvider/')), 'control plane providers').to.have.length(1);

    // Our one release carries Kamaji's kinds and the Cluster API provider's, all labelled for clusterctl.
    const crds = await getJSON<{ items: { metadata: { name: string; labels: Record<string, string> } }[] }>(kubeconfig, ['crd', '-l', PROVIDER_SELECTOR]);
    expect(crds.items.map((c) => c.metadata.name)).to.have.members([
      'kamajicontrolplanes.controlplane.cluster.x-k8s.io',
      'kamajicontrolplanetemplates.controlplane.cluster.x-k8s.io',
      'tenantcontrolplanes.kamaji.clastix.io',
      'datastores.kamaji.clastix.io',
    ]);
    for (const c of crds.items.filter((c) => c.metadata.name.endsWith('.controlplane.cluster.x-k8s.io'))) {
      expect(c.metadata.labels, c.metadata.name).to.include({ 'cluster.x-k8s.io/v1beta2': 'v1alpha2' });
    }

    // The operator runs as a pod of the release's Deployment: container "manager", our image, args only, as the
    // release's ServiceAccount, ready.
    const pods = await getJSON<{ items: Pod[] }>(kubeconfig, ['pods', '-n', KAMAJI_PROVIDER_NAMESPACE, '-l', 'app.kubernetes.io/name=kvcloud-controlplane']);
    expect(pods.items, 'operator pods').to.have.length(1);
    const pod = pods.items[0];
    expect(pod?.spec.serviceAccountName).to.equal(KAMAJI_MANAGER_SERVICE_ACCOUNT);
    const manager = pod?.spec.containers.find((c) => c.name === 'manager');
    expect(manager?.image).to.equal('ghcr.io/kvcloud/controlplane-manager:dev');
    expect(manager?.command).to.equal(undefined);
    expect(pod?.status?.containerStatuses?.find((s) => s.name === 'manager')).to.include({ ready: true });
    const deployment = await kubectl(kubeconfig, ['get', 'deployment', '-n', KAMAJI_PROVIDER_NAMESPACE, KAMAJI_MANAGER_DEPLOYMENT, '-o', 'jsonpath={.status.availableReplicas}']);
    expect(deployment).to.equal('1');
  });

  it('a DataStore "default" on a shared etcd (the name the templates default to) becomes ready', async function () {
    this.timeout(3 * 60_000);
    const c = started(client, 'the admin client');
    etcd = await startSharedEtcd(c, 'shared-etcd');
    await createReadyDataStore(c, 'default', etcd);
  });

  it('generates from every hosted-control-plane template manifests the management cluster admits unchanged (server-side dry run)', async function () {
    this.timeout(3 * 60_000);
    const r = started(repo, 'the clusterctl repository');
    await kubectl(kubeconfig, ['create', 'namespace', 'templates-dry-run']);
    const hosted: string[] = [];
    for (const t of started(infrastructure, 'the infrastructure release').templates) if (/\/cluster-template[^/]*\.yaml$/.test(t) && (await usesKamajiControlPlane(t))) hosted.push(t);
    expect(hosted.map((t) => t.slice(t.lastIndexOf('/') + 1)).sort()).to.deep.equal(['cluster-template-topology-kamaji.yaml', 'cluster-template.yaml']);
    for (const from of hosted) {
      const generated = await generateCluster(r, { source: { from }, kubeconfig, clusterName: 'dry-run', namespace: 'templates-dry-run', kubernetesVersion: VERSION, workerMachineCount: 3, variables: QUICK_START_VARIABLES });
      const out = await kubectl(kubeconfig, ['apply', '--dry-run=server', '-f', '-'], generated);
      expect(out, from).to.match(/created \(server dry run\)/);
    }
  });

  describe('clusters of the hosted control plane flavors', () => {
    /** Generates the cluster with clusterctl from the provider's templates and applies it as generated. */
    async function createCluster(flavor: string | undefined, clusterName: string, namespace: string, workers: number): Promise<{ place: WorkloadPlace; generated: string }> {
      const r = started(repo, 'the clusterctl repository');
      await kubectl(kubeconfig, ['create', 'namespace', namespace]);
      const generated = await generateCluster(r, { source: { flavor }, kubeconfig, clusterName, namespace, kubernetesVersion: VERSION, workerMachineCount: workers, variables: QUICK_START_VARIABLES });
      await applyManifests(kubeconfig, generated);
      return { place: { kubeconfig, namespace, clusterName, infra: { kubeconfig, namespace } }, generated };
    }

    const getKCP = (place: WorkloadPlace, name: string) => getJSON<KamajiControlPlaneView>(kubeconfig, [KCP_RESOURCE, '-n', place.namespace, name]);
    const getCluster = (place: WorkloadPlace) => getJSON<ClusterView>(kubeconfig, ['clusters.v1beta2.cluster.x-k8s.io', '-n', place.namespace, place.clusterName]);

    /**
     * The KamajiControlPlane initialized, its tenant apiserver answering with the requested version through the
     * <cluster>-kubeconfig it handed to Cluster API, at the endpoint Cluster, KubevirtCluster and control plane agree
     * on: the address of the tenant's LoadBalancer Service. No VM and no CAPK Service serve the control plane.
     */
    async function expectHostedControlPlane(place: WorkloadPlace, kcpName: string): Promise<KamajiControlPlaneView> {
      const begun = Date.now();
      const kcp = await waitFor(
        async () => {
          const k = await getKCP(place, kcpName);
          if (k.status?.initialization?.controlPlaneInitialized !== true || !k.spec.controlPlaneEndpoint?.host) {
            throw new Error(`endpoint ${JSON.stringify(k.spec.controlPlaneEndpoint)}, status ${JSON.stringify(k.status)}`);
          }
          return k;
        },
        { timeoutMs: 5 * 60_000, intervalMs: 1000, what: `KamajiControlPlane ${place.namespace}/${kcpName} to be initialized with an endpoint` },
      );
      console.log(`      ${place.clusterName}: control plane initialized after ${((Date.now() - begun) / 1000).toFixed(1)} s`);
      expect(kcp.status?.externalManagedControlPlane, 'status.externalManagedControlPlane').to.equal(true);
      const endpoint = kcp.spec.controlPlaneEndpoint;

      const service = await getJSON<{ spec: { type: string }; status?: { loadBalancer?: { ingress?: { ip?: string }[] } } }>(kubeconfig, ['service', '-n', place.namespace, kcpName]);
      expect(service.spec.type, 'tenant apiserver Service type').to.equal('LoadBalancer');
      expect(endpoint?.host, 'endpoint host').to.equal(service.status?.loadBalancer?.ingress?.[0]?.ip);
      const clusterObj = await waitFor(
        async () => {
          const c = await getCluster(place);
          return c.spec.controlPlaneEndpoint?.host ? c : undefined;
        },
        { timeoutMs: 60_000, what: 'the Cluster to get the control plane endpoint' },
      );
      expect(clusterObj.spec.controlPlaneEndpoint, 'Cluster endpoint').to.deep.equal(endpoint);
      interface KubevirtClusterView {
        spec: { controlPlaneEndpoint?: unknown };
        status?: { initialization?: { provisioned?: boolean } };
      }
      const kubevirtClusters = await getJSON<{ items: KubevirtClusterView[] }>(kubeconfig, ['kubevirtclusters.infrastructure.cluster.x-k8s.io', '-n', place.namespace, '-l', `${CLUSTER_NAME_LABEL}=${place.clusterName}`]);
      const kubevirtCluster = kubevirtClusters.items[0];
      expect(kubevirtCluster?.spec.controlPlaneEndpoint, 'KubevirtCluster endpoint').to.deep.equal(endpoint);
      expect(kubevirtCluster?.status?.initialization?.provisioned, 'KubevirtCluster provisioned').to.equal(true);
      const capkService = await kubectl(kubeconfig, ['get', 'service', '-n', place.namespace, `${place.clusterName}-lb`, '--ignore-not-found', '-o', 'name']);
      expect(capkService.trim(), 'a CAPK control-plane Service').to.equal('');
      const controlPlaneMachines = await kubectl(kubeconfig, ['get', 'machines.cluster.x-k8s.io', '-n', place.namespace, '-l', `${CLUSTER_NAME_LABEL}=${place.clusterName},cluster.x-k8s.io/control-plane`, '-o', 'name']);
      expect(controlPlaneMachines.trim(), 'control-plane Machines').to.equal('');

      // The tenant apiserver is a real kube-apiserver, reached with the kubeconfig Cluster API uses.
      const kc = await tenantKubeconfig(place);
      try {
        const version = JSON.parse(await kubectl(kc.path, ['version', '-o', 'json'])) as { serverVersion?: { gitVersion?: string } };
        expect(version.serverVersion?.gitVersion, 'tenant apiserver version').to.equal(VERSION);
        expect((await kubectl(kc.path, ['get', '--raw', '/readyz'])).trim()).to.equal('ok');
      } finally {
        await kc.remove();
      }
      return kcp;
    }

    /**
     * `replicas` worker Machines Running, each on its own VM booting CABPK's `kubeadm join` userdata, whose Node
     * joined the tenant with a kubelet client certificate requested with the bootstrap token, and is Ready.
     */
    async function expectWorkersJoined(place: WorkloadPlace, machineDeployment: string, replicas: number): Promise<void> {
      const begun = Date.now();
      const machines = await waitForRunningMachines(place, machineDeployment, replicas, 10 * 60_000);
      console.log(`      ${place.clusterName}: ${String(replicas)} worker Machines Running with nodes after ${((Date.now() - begun) / 1000).toFixed(1)} s`);
      const vms = await machineVMs(place, machines);
      for (const { machine, vm, userdata } of vms) {
        const name = vm.metadata.name ?? '';
        expect(vm.metadata.labels, `VM ${name} labels`).to.include({ [CLUSTER_NAME_LABEL]: place.clusterName, 'cluster.x-k8s.io/role': 'worker' });
        expect(userdata, `VM ${name} userdata`).to.match(/kubeadm join/);
        expect(machine.spec?.providerID, `Machine ${machine.metadata.name ?? ''} providerID`).to.equal(`kubevirt://${name}`);
      }
      const nodes = await waitFor(
        async () => {
          const all = await tenantNodeStates(place);
          if (all.length !== replicas || !all.every((n) => n.ready)) throw new Error(`nodes: ${JSON.stringify(all.map((n) => ({ name: n.name, ready: n.ready })))}`);
          return all;
        },
        { timeoutMs: 3 * 60_000, intervalMs: 1000, what: `${String(replicas)} Ready tenant Nodes` },
      );
      for (const { machine, vm } of vms) {
        const node = nodes.find((n) => n.name === machine.status?.nodeRef?.name);
        expect(node?.providerID, `tenant Node of ${vm.metadata.name ?? ''}`).to.equal(`kubevirt://${vm.metadata.name ?? ''}`);
      }

      // Each kubelet got its client certificate through a CSR it sent as a bootstrap token user, approved and
      // signed by the tenant's own controller-manager.
      const kc = await tenantKubeconfig(place);
      try {
        const csrs = (await getJSON<{ items: CSR[] }>(kc.path, ['certificatesigningrequests'])).items.filter(
          (c) => c.spec.signerName === 'kubernetes.io/kube-apiserver-client-kubelet' && c.spec.username.startsWith('system:bootstrap:'),
        );
        const issued = csrs.filter((c) => isTrue(c.status?.conditions, 'Approved') && c.status?.certificate);
        expect(issued.length, `bootstrap kubelet CSRs approved and issued: ${JSON.stringify(csrs.map((c) => ({ name: c.metadata.name, user: c.spec.username, conditions: c.status?.conditions })))}`).to.be.at.least(replicas);
      } finally {
        await kc.remove();
      }
    }

    /** The Cluster Available (v1beta2 conditions), with the condition list as last seen when it is not. */
    async function expectClusterAvailable(place: WorkloadPlace): Promise<void> {
      const begun = Date.now();
      const available = await waitFor(
        async () => {
          const c = await getCluster(place);
          if (!isTrue(c.status?.conditions, 'Available')) throw new Error(`conditions: ${conditionsOf(c.status?.conditions)}`);
          return c;
        },
        { timeoutMs: 5 * 60_000, intervalMs: 2000, what: `Cluster ${place.namespace}/${place.clusterName} to be Available` },
      );
      console.log(`      ${place.clusterName}: Cluster Available after ${((Date.now() - begun) / 1000).toFixed(1)} s more`);
      expect(available.status?.initialization).to.deep.include({ infrastructureProvisioned: true, controlPlaneInitialized: true });
    }

    /** The tenant's etcd prefix and user, from its TenantControlPlane (same name as the KamajiControlPlane). */
    async function tenantStorage(place: WorkloadPlace, name: string): Promise<{ prefix: string; user: string }> {
      const tcp = await getJSON<TenantControlPlaneView>(kubeconfig, [TCP_RESOURCE, '-n', place.namespace, name]);
      const schema = tcp.status?.storage?.setup?.schema;
      const user = tcp.status?.storage?.setup?.user;
      if (!schema || !user) throw new Error(`TenantControlPlane ${place.namespace}/${name} reports no etcd setup: ${JSON.stringify(tcp.status?.storage)}`);
      return { prefix: `/${schema}/`, user };
    }

    /** Deletes the Cluster; nothing of it is left in the management cluster, nor under its prefix in etcd. */
    async function deleteAndExpectNothingLeft(place: WorkloadPlace, kcpName: string): Promise<void> {
      const shared = started(etcd, 'the shared etcd');
      const storage = await tenantStorage(place, kcpName);
      const keysBefore = (await shared.etcdctl(shared.root, 'get', storage.prefix, '--prefix', '--keys-only')).trim();
      expect(keysBefore, `keys under ${storage.prefix} while the tenant runs`).to.not.equal('');
      const begun = Date.now();
      await deleteCluster(place, 5 * 60_000);
      await waitForNoLeftovers(place, HOSTED_KINDS, 3 * 60_000);
      console.log(`      ${place.clusterName}: Cluster and all its objects gone after ${((Date.now() - begun) / 1000).toFixed(1)} s`);
      const vms = await kubectl(kubeconfig, ['get', 'virtualmachines.kubevirt.io', '-A', '-l', `${CLUSTER_NAME_LABEL}=${place.clusterName}`, '-o', 'name']);
      expect(vms.trim(), 'VMs of the cluster').to.equal('');
      expect((await shared.etcdctl(shared.root, 'get', storage.prefix, '--prefix', '--keys-only')).trim(), `keys under ${storage.prefix}`).to.equal('');
      let userError = '';
      await shared.etcdctl(shared.root, 'user', 'get', storage.user).catch((err: unknown) => (userError = (err as Error).message));
      expect(userError, `etcd user ${storage.user}`).to.match(/user name not found/);
    }

    // Each flavor's scenario as steps, each reported by the test of its title; the longest flavor first.
    const flavors: [string, () => Promise<void>][][] = [
      [
        [
          'default flavor: the Cluster becomes Available with its control plane running as pods and 3 workers joined and Ready; clusterctl describe shows it all',
          async () => {
            const begun = Date.now();
            const { place, generated } = await createCluster(undefined, 'acme', 'tenants', 3);
            expect(generated, 'the default flavor').to.match(/kind: KamajiControlPlane\n/);
            const kcp = await withWorkloadReport(place, () => expectHostedControlPlane(place, 'acme'));
            expect(kcp.spec.version).to.equal(VERSION);
            await withWorkloadReport(place, () => expectWorkersJoined(place, 'acme-md-0', 3));
            await withWorkloadReport(place, () => expectClusterAvailable(place));
            console.log(`      ${place.clusterName}: from apply to an Available cluster with 3 Ready workers: ${((Date.now() - begun) / 1000).toFixed(1)} s`);

            const final = await getKCP(place, 'acme');
            expect(final.status, 'KamajiControlPlane status').to.deep.include({ replicas: 1, readyReplicas: 1, availableReplicas: 1 });
            expect(final.status?.versions).to.deep.equal([{ version: VERSION, replicas: 1 }]);
            expect(isTrue(final.status?.conditions, 'Available'), `KamajiControlPlane conditions: ${conditionsOf(final.status?.conditions)}`).to.equal(true);

            // What a user reads: the Cluster with its 1 + 3 replicas all available, its Available condition True, the
            // hosted control plane and the workers under it.
            const tree = await describeCluster(started(repo, 'the clusterctl repository'), kubeconfig, place.namespace, place.clusterName, 'Cluster,KamajiControlPlane');
            console.log(tree.replace(/^/gm, '      '));
            const lines = tree.split('\n');
            const at = (pattern: RegExp) => lines.findIndex((l) => pattern.test(l));
            expect(lines[at(/^Cluster tenants\/acme\b/)], 'the Cluster line').to.match(/^Cluster tenants\/acme\s+4\/4\s+4\s+4\s+4\b/);
            expect(lines.slice(at(/^Cluster tenants\/acme\b/)).find((l) => /─Available\s/.test(l)), 'the Cluster\'s Available condition').to.match(/─Available\s+True\s+Available\b/);
            expect(lines[at(/─KamajiControlPlane tenants\/acme\b/)], 'the control plane line').to.match(/KamajiControlPlane tenants\/acme, v\d+\.\d+\.\d+\s+1\/1\s+1\s+1\s+1\b/);
            expect(at(/─KubevirtCluster tenants\/acme\b/), 'the infrastructure line').to.be.greaterThan(0);
            expect(lines[at(/─MachineDeployment tenants\/acme-md-0\b/)], 'the workers line').to.match(/MachineDeployment tenants\/acme-md-0, v\d+\.\d+\.\d+\s+3\/3\s+3\s+3\s+3\b/);
            expect(at(/─3 Machines\.\.\.\s+3\s+3\s+3\s+True\s+Ready\b/), 'the Machines line').to.be.greaterThan(0);
          },
        ],
        [
          'default flavor: the tenant\'s CSI driver comes with the Cluster: a PVC of the default class binds to a DataVolume in the Cluster\'s namespace, a pod on a worker writes to it, and a VolumeSnapshot of the default class restores it with the data',
          async () => {
            const timings = await expectTemplateCsiDriver({ kubeconfig, namespace: 'tenants', clusterName: 'acme', infra: { kubeconfig, namespace: 'tenants' } }, started(cluster, 'the management cluster'));
            for (const t of timings) console.log(`      acme CSI: ${t}`);
          },
        ],
        [
          'default flavor: deleting the Cluster leaves no KamajiControlPlane, TenantControlPlane, Secret, pod or VM, and no key under the tenant\'s etcd prefix',
          async () => {
            await deleteAndExpectNothingLeft({ kubeconfig, namespace: 'tenants', clusterName: 'acme', infra: { kubeconfig, namespace: 'tenants' } }, 'acme');
          },
        ],
      ],
      [
        [
          'topology-kamaji flavor: a Cluster of the ClusterClass kubevirt-kamaji (KubevirtClusterTemplate, KamajiControlPlaneTemplate, KubevirtMachineTemplate) provisions and is deleted without a trace',
          async () => {
            const { place, generated } = await createCluster('topology-kamaji', 'acme-cc', 'tenants-cc', 1);
            expect(generated, 'clusterctl adds the ClusterClass the Cluster refers to').to.match(/kind: ClusterClass\n/);
            // The topology controller names the control plane after the cluster with a random suffix.
            const kcpName = await waitFor(
              async () => (await kubectl(kubeconfig, ['get', KCP_RESOURCE, '-n', place.namespace, '-l', `${CLUSTER_NAME_LABEL}=${place.clusterName}`, '-o', 'jsonpath={.items[0].metadata.name}'])).trim() || undefined,
              { timeoutMs: 2 * 60_000, what: 'the topology controller to create the KamajiControlPlane' },
            );
            const kcp = await withWorkloadReport(place, () => expectHostedControlPlane(place, kcpName));
            expect(kcp.metadata.annotations?.['cluster.x-k8s.io/cloned-from-name']).to.equal('kubevirt-kamaji-control-plane');
            const kubevirtCluster = (
              await getJSON<{ items: KubeObject[] }>(kubeconfig, ['kubevirtclusters.infrastructure.cluster.x-k8s.io', '-n', place.namespace, '-l', `${CLUSTER_NAME_LABEL}=${place.clusterName}`])
            ).items[0];
            expect(kubevirtCluster?.metadata.annotations).to.include({ 'cluster.x-k8s.io/cloned-from-name': 'kubevirt-kamaji', 'cluster.x-k8s.io/managed-by': 'kamaji' });
            const machineDeployment = await waitFor(
              async () => (await kubectl(kubeconfig, ['get', 'machinedeployments.cluster.x-k8s.io', '-n', place.namespace, '-l', 'topology.cluster.x-k8s.io/deployment-name=md-0', '-o', 'jsonpath={.items[0].metadata.name}'])).trim() || undefined,
              { timeoutMs: 2 * 60_000, what: 'the topology controller to create MachineDeployment md-0' },
            );
            await withWorkloadReport(place, () => expectWorkersJoined(place, machineDeployment, 1));
            await withWorkloadReport(place, () => expectClusterAvailable(place));
            await deleteAndExpectNothingLeft(place, kcpName);
          },
        ],
      ],
    ];
    // The flavors are independent tenants (own namespace and cluster name) of the one management cluster, so
    // they are provisioned side by side: the before hook starts each flavor's steps, in order, and each test
    // awaits its own step, so a failure lands on its test. One flavor after the other took about 275 s of CI,
    // most of it waiting on controllers rather than using the 2 cores.
    const runs = new Map<string, Promise<undefined>>();
    before(async function () {
      this.timeout(2 * 60_000);
      started(cluster, 'the management cluster');
      // With the pod runner, virt-handler can hot-plug disks into the running VMs (the CSI driver's attach).
      simulators.push(await startKubevirtSimulator({ kubeconfig, runtime: started(cluster, 'the management cluster').runner }));
      for (const flavor of flavors) {
        const steps = flavor.map(([title, run]) => ({ title, run, ...Promise.withResolvers<undefined>() }));
        for (const step of steps) {
          // Its test reports a failure; until the test awaits it, the rejection is not an unhandled one.
          step.promise.catch(() => undefined);
          runs.set(step.title, step.promise);
        }
        // A failed step does not stop the next: deleting the default flavor's Cluster is its own test, as before.
        void (async () => {
          for (const step of steps) {
            const begun = Date.now();
            await step.run().then(() => {
              console.log(`      ${step.title.slice(0, step.title.indexOf(':'))}: step done in ${((Date.now() - begun) / 1000).toFixed(1)} s`);
              step.resolve(undefined);
            }, step.reject);
          }
        })();
      }
    });
    after(async function () {
      this.timeout(20 * 60_000);
      // A failed or timed-out test's run may still be going: stop nothing under it (every wait in it has a deadline).
      await Promise.allSettled(runs.values());
    });
    for (const [title] of flavors.flat()) {
      it(title, async function () {
        this.timeout(30 * 60_000);
        await runs.get(title);
      });
    }
  });
});
