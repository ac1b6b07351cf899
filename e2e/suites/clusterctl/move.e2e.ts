// `clusterctl move` of real kvcloud Clusters from management cluster A to management cluster B, with the real
// clusterctl and Cluster API controllers and both kvcloud providers as clusterctl installed them in each.
//
// What stays where: the VMs must run where both management clusters reach them, so both use one infra apiserver,
// B's, through the KubevirtCluster's infraClusterSecretRef (the Secret external-infra-kubeconfig, created in each
// management cluster's capk-system beforehand, as a user prepares the target). That costs no third cluster, and the
// VMs are in neither Cluster's management namespace. clusterctl moves only kinds clusterctl installed (and Secrets
// and ConfigMaps), so VMs, their userdata Secrets and the kubeadm control plane's <cluster>-lb Service are never
// copied nor deleted: B's providers find them by their deterministic names. The hosted tenant's state lives in a
// shared etcd (also in B, outside the moved namespace); the cluster-scoped DataStore that names it is shared by all
// tenants, so it is not moved: it exists in A and B before the move (admission refuses a TenantControlPlane naming a
// DataStore B does not know). The hosted control plane's pods run in whichever management cluster holds its
// TenantControlPlane, so its endpoint is an address in front of them (a selector-less LoadBalancer Service, the
// operator's load balancer) that follows the pods from A to B.
import { expect } from 'chai';
import { Client } from '../../../lib/kube/client.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import { startCluster, type Cluster } from '../../../localcloud/cluster/cluster.js';
import { clusterctlInit } from '../../../localcloud/clusterctl/init.js';
import { addKvcloudControlPlane } from '../../../localcloud/clusterctl/kvcloud-control-plane.js';
import { addKvcloudInfrastructure, generateCluster, installKubevirtCRDs, KUBEVIRT_PROVIDER_NAMESPACE, QUICK_START_VARIABLES } from '../../../localcloud/clusterctl/kvcloud-infrastructure.js';
import { createClusterctlRepository, type ClusterctlRepository } from '../../../localcloud/clusterctl/repository.js';
import { createReadyDataStore, startSharedEtcd, type SharedEtcd } from '../../../localcloud/etcd-datastore.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { startKubevirtSimulator } from '../../../simulators/kubevirt/index.js';
import { watchAvailability, type Availability } from '../../harness/api-availability.js';
import { movableCluster } from '../../harness/clusterctl/movable-cluster.js';
import {
  clusterVMs,
  getJSON,
  MANAGEMENT_KINDS,
  scaleMachineDeployment,
  tenantKubeconfig,
  tenantNodeStates,
  waitForRunningControlPlane,
  waitForRunningMachines,
  type WorkloadPlace,
} from '../../harness/clusterctl/kvcloud-workload.js';
import { stepTimer } from '../../harness/step-timer.js';
import { nodesNotSteadilyReady, startTenantWriter, writtenNames } from './tenant-continuity.js';

const VERSION = upstreamVersion('KUBERNETES_VERSION');
/** Management namespace of both Clusters. */
const NAMESPACE = 'tenants';
/** Where their VMs, the shared etcd and the hosted tenant's front run, in the infra apiserver (B's). */
const VM_NAMESPACE = 'tenant-vms';
const INFRA_SECRET = { name: 'external-infra-kubeconfig', namespace: KUBEVIRT_PROVIDER_NAMESPACE };
const KUBEADM = 'acme-vm'; // the kubeadm control plane in a VM (the ext-infra flavor)
const HOSTED = 'acme-hosted'; // KamajiControlPlane + TenantControlPlane on the DataStore "default"
const FRONT = 'acme-hosted-front';
/** Where anything of a Cluster could be left in a management cluster's namespace. */
const KINDS_IN_A = [
  ...MANAGEMENT_KINDS,
  'kubeadmcontrolplanes.controlplane.cluster.x-k8s.io',
  'kamajicontrolplanes.controlplane.cluster.x-k8s.io',
  'tenantcontrolplanes.kamaji.clastix.io',
  'deployments.apps',
  'pods',
  'services',
  'secrets',
  'configmaps',
];
/** The hosted control plane's ports: the apiserver and the Konnectivity server the workers' agents dial. */
const FRONT_PORTS = [
  { name: 'kube-apiserver', port: 6443 },
  { name: 'konnectivity-server', port: 8132 },
];

/**
 * Runs the works side by side and fails with the first failure only once all have ended: a sibling left running
 * past its test would outlive the suite (its waits still pending when mocha exits).
 */
async function allSettledOrThrow(works: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(works);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}

interface ServiceView {
  spec?: { clusterIP?: string };
  status?: { loadBalancer?: { ingress?: { ip?: string }[] } };
}

describe('clusterctl move of kvcloud Clusters between two management clusters sharing one infra cluster', () => {
  const timer = stepTimer();
  const started: Cluster[] = [];
  const stops: (() => Promise<void>)[] = [];
  let a: Cluster;
  let b: Cluster;
  /** B, in its second role: the infra apiserver of both management clusters. */
  let infra: Cluster;
  let repo: ClusterctlRepository | undefined;
  let etcd: SharedEtcd | undefined;
  let frontIP = '';
  const place = (cluster: Cluster, clusterName: string): WorkloadPlace => ({
    kubeconfig: cluster.plane.kubeconfigPath,
    namespace: NAMESPACE,
    clusterName,
    infra: { kubeconfig: infra.plane.kubeconfigPath, namespace: VM_NAMESPACE },
  });
  const adminClient = async (cluster: Cluster): Promise<Client> => {
    const transport = await RestTransport.fromKubeConfig(cluster.plane.kubeConfig);
    stops.push(() => {
      transport.close();
      return Promise.resolve();
    });
    return new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-e2e' });
  };

  before(async function () {
    this.timeout(20 * 60_000);
    const begun = Date.now();
    const clusters = await Promise.allSettled([startCluster(), startCluster()]);
    for (const c of clusters) if (c.status === 'fulfilled') started.push(c.value);
    for (const c of clusters) if (c.status === 'rejected') throw c.reason;
    [a, b] = started as [Cluster, Cluster];
    infra = b;
    const local = await createClusterctlRepository();
    repo = local;
    await addKvcloudInfrastructure(local);
    await addKvcloudControlPlane(local);
    const simulator = await startKubevirtSimulator({ kubeconfig: infra.plane.kubeconfigPath });
    stops.push(() => simulator.stop());
    await timer.timed('clusterctl init of A and B (cert-manager, core, kubeadm bootstrap and control plane, kamaji, kubevirt), concurrently', () =>
      Promise.all(
        [a, b].map(async (m) => {
          await installKubevirtCRDs(m.plane.kubeconfigPath);
          // Both control plane providers: the kubeadm flavor's KubeadmControlPlane and the hosted KamajiControlPlane.
          await clusterctlInit(local, m.plane.kubeconfigPath, { infrastructure: 'kubevirt', controlPlane: [`kubeadm:${local.clusterAPIVersion}`, 'kamaji'], timeoutSeconds: 300 });
        }),
      ),
    );

    await timer.timed('the shared etcd, the DataStore "default" in A and B, the infra Secret in both', async () => {
      await kubectl(infra.plane.kubeconfigPath, ['create', 'namespace', VM_NAMESPACE]);
      const shared = await startSharedEtcd(await adminClient(infra), 'shared-etcd');
      etcd = shared;
      const rootSecret = await kubectl(infra.plane.kubeconfigPath, ['get', 'secret', '-n', shared.rootSecret.namespace, shared.rootSecret.name, '-o', 'json']);
      const { metadata, type, data } = JSON.parse(rootSecret) as { metadata: { name: string; namespace: string }; type: string; data: Record<string, string> };
      await Promise.all(
        [a, b].map(async (m) => {
          const client = await adminClient(m);
          if (m !== infra) {
            await kubectl(m.plane.kubeconfigPath, ['create', 'namespace', metadata.namespace]);
            await client.create({ apiVersion: 'v1', kind: 'Secret', metadata: { name: metadata.name, namespace: metadata.namespace }, type, data });
          }
          await createReadyDataStore(client, 'default', shared);
          await kubectl(m.plane.kubeconfigPath, [
            'create',
            'secret',
            'generic',
            INFRA_SECRET.name,
            '-n',
            INFRA_SECRET.namespace,
            `--from-file=kubeconfig=${infra.plane.kubeconfigPath}`,
            `--from-literal=namespace=${VM_NAMESPACE}`,
          ]);
          await kubectl(m.plane.kubeconfigPath, ['create', 'namespace', NAMESPACE]);
        }),
      );
      // The hosted tenant's front: its address is the tenant's endpoint before, during and after the move.
      await apply(infra, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: FRONT, namespace: VM_NAMESPACE },
        spec: { type: 'LoadBalancer', ports: FRONT_PORTS.map((p) => ({ ...p, protocol: 'TCP', targetPort: p.port })) },
      });
      frontIP = await waitFor(
        async () => (await getJSON<ServiceView>(infra.plane.kubeconfigPath, ['service', '-n', VM_NAMESPACE, FRONT])).status?.loadBalancer?.ingress?.[0]?.ip,
        { timeoutMs: 60_000, what: `Service ${FRONT} to get a load-balancer address` },
      );
    });
    console.log(`      A and B initialized, B serving as the infra apiserver, shared etcd and DataStores ready in ${((Date.now() - begun) / 1000).toFixed(1)} s`);
  });
  after(async function () {
    this.timeout(3 * 60_000);
    for (const stop of stops.reverse()) await stop();
    await etcd?.stop().catch(() => undefined);
    for (const c of started) await c.stop();
    await repo?.remove();
    if (timer.timings.length > 0) console.log(`      steps:\n${timer.timings.map((t) => `        ${t}`).join('\n')}`);
  });

  /**
   * kubectl apply without client-side validation: that fetches the whole OpenAPI document first, which a management
   * cluster busy with three sets of controllers on two cores did not serve within kubectl's 32 s (the apiserver
   * still validates against the schemas).
   */
  async function apply(cluster: Cluster, manifests: string | object): Promise<void> {
    await kubectl(cluster.plane.kubeconfigPath, ['apply', '--validate=false', '-f', '-'], typeof manifests === 'string' ? manifests : JSON.stringify(manifests));
  }

  /** Points the front at the hosted control plane's Service in `cluster` (its ClusterIP, reachable from the infra cluster's proxy). */
  async function pointFront(cluster: Cluster): Promise<string> {
    const ip = await waitFor(
      async () => (await getJSON<ServiceView>(cluster.plane.kubeconfigPath, ['service', '-n', NAMESPACE, HOSTED, '--ignore-not-found'])).spec?.clusterIP,
      { timeoutMs: 3 * 60_000, intervalMs: 250, what: `the Service of TenantControlPlane ${HOSTED}` },
    );
    await apply(infra, {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: FRONT, namespace: VM_NAMESPACE, labels: { 'kubernetes.io/service-name': FRONT } },
      addressType: 'IPv4',
      endpoints: [{ addresses: [ip], conditions: { ready: true } }],
      ports: FRONT_PORTS.map((p) => ({ ...p, protocol: 'TCP' })),
    });
    return ip;
  }

  /** The tenant's admin kubeconfig (what `<cluster>-kubeconfig` holds). */
  async function kubeconfigOf(cluster: Cluster, clusterName: string): Promise<string> {
    const secret = await getJSON<{ data?: { value?: string } }>(cluster.plane.kubeconfigPath, ['secret', '-n', NAMESPACE, `${clusterName}-kubeconfig`]);
    if (!secret.data?.value) throw new Error(`${clusterName}-kubeconfig has no value`);
    return Buffer.from(secret.data.value, 'base64').toString('utf8');
  }

  async function readyNodes(p: WorkloadPlace, count: number): Promise<string[]> {
    const nodes = await waitFor(
      async () => {
        const all = await tenantNodeStates(p);
        if (all.length !== count || !all.every((n) => n.ready)) throw new Error(`nodes: ${JSON.stringify(all.map((n) => ({ name: n.name, ready: n.ready })))}`);
        return all;
      },
      { timeoutMs: 4 * 60_000, intervalMs: 1000, what: `${String(count)} Ready Nodes in ${p.clusterName}` },
    );
    return nodes.map((n) => n.name).sort();
  }

  const vmUIDs = async (p: WorkloadPlace): Promise<Map<string, string>> => new Map((await clusterVMs(p)).map((vm) => [vm.metadata.name ?? '', vm.metadata.uid ?? '']));

  let vmsInA: { kubeadm: Map<string, string>; hosted: Map<string, string> } | undefined;

  it('provisions a kubeadm-flavor Cluster (control plane in a VM) and a hosted tenant in A, all their VMs in the infra cluster', async function () {
    this.timeout(15 * 60_000);
    const r = repo;
    if (!r) throw new Error('the repository was not created (see the before hook)');
    const generate = (source: { from: string } | { flavor?: string }, clusterName: string) =>
      generateCluster(r, { source, kubeconfig: a.plane.kubeconfigPath, clusterName, namespace: NAMESPACE, kubernetesVersion: VERSION, workerMachineCount: 1, variables: QUICK_START_VARIABLES });
    await timer.timed('both Clusters provisioned in A, concurrently', () =>
      allSettledOrThrow([
        (async () => {
          const manifests = movableCluster(await generate({ flavor: 'ext-infra' }, KUBEADM), { infraClusterSecretRef: INFRA_SECRET });
          await apply(a, manifests);
          await waitForRunningControlPlane(place(a, KUBEADM), 1, 6 * 60_000);
          await waitForRunningMachines(place(a, KUBEADM), `${KUBEADM}-md-0`, 1, 8 * 60_000);
          expect(await readyNodes(place(a, KUBEADM), 2)).to.have.length(2);
        })(),
        (async () => {
          const manifests = movableCluster(await generate({}, HOSTED), { infraClusterSecretRef: INFRA_SECRET, controlPlaneAddress: frontIP });
          await apply(a, manifests);
          await pointFront(a);
          await waitForRunningMachines(place(a, HOSTED), `${HOSTED}-md-0`, 1, 10 * 60_000);
          expect(await readyNodes(place(a, HOSTED), 1)).to.have.length(1);
        })(),
      ]),
    );
    const inManagement = await kubectl(a.plane.kubeconfigPath, ['get', 'virtualmachines.kubevirt.io', '-A', '-o', 'name']);
    expect(inManagement.trim(), 'VMs in management cluster A').to.equal('');
    const inNamespace = await kubectl(infra.plane.kubeconfigPath, ['get', 'virtualmachines.kubevirt.io', '-n', NAMESPACE, '-o', 'name']);
    expect(inNamespace.trim(), 'VMs in the moved namespace of the infra apiserver').to.equal('');
    vmsInA = { kubeadm: await vmUIDs(place(a, KUBEADM)), hosted: await vmUIDs(place(a, HOSTED)) };
    expect(vmsInA.kubeadm.size, 'kubeadm VMs (control plane and worker)').to.equal(2);
    expect(vmsInA.hosted.size, 'hosted tenant VMs (the worker)').to.equal(1);
  });

  it('clusterctl move takes both Clusters from A to B: the tenants keep their nodes Ready and their VMs, nothing is left in A', async function () {
    this.timeout(10 * 60_000);
    const r = repo;
    if (!r || !vmsInA) throw new Error('the Clusters were not provisioned (see the test before)');
    const vmAPI = watchAvailability(await kubeconfigOf(a, KUBEADM));
    const hostedAPI = watchAvailability(await kubeconfigOf(a, HOSTED));
    const hostedKubeconfig = await tenantKubeconfig(place(a, HOSTED));
    stops.push(() => hostedKubeconfig.remove());
    const moveBegan = Date.now();
    const writer = startTenantWriter(hostedKubeconfig.path);
    let availability: { kubeadm: Availability; hosted: Availability } | undefined;
    let writes: { acknowledged: string[]; failed: number } | undefined;
    try {
      const { stdout, stderr } = await timer.timed('clusterctl move (both Clusters, one namespace)', () =>
        r.clusterctl(['move', '--kubeconfig', a.plane.kubeconfigPath, '--to-kubeconfig', b.plane.kubeconfigPath, '-n', NAMESPACE]),
      );
      expect(`${stdout}${stderr}`).to.match(/Moving Cluster API objects Clusters=2/);
      // A's control plane serves on (released by its TenantControlPlane before the move went ahead) until B's
      // serves: the operator's load balancer moves to B once B's TenantControlPlane is Ready, within the drain
      // period A waits after seeing B announce itself in the tenant.
      await timer.timed('the hosted control plane serving from B behind the front', async () => {
        await waitFor(
          async () => {
            const tcp = await getJSON<{ status?: { conditions?: { type: string; status: string }[] } }>(b.plane.kubeconfigPath, ['tenantcontrolplanes.kamaji.clastix.io', '-n', NAMESPACE, HOSTED]);
            return tcp.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
          },
          { timeoutMs: 4 * 60_000, intervalMs: 500, what: `TenantControlPlane ${HOSTED} Ready in B` },
        );
        await pointFront(b);
        // A retires its control plane once it has seen B's and the drain period has passed.
        await waitFor(
          async () => ((await kubectl(a.plane.kubeconfigPath, ['get', 'deployments.apps', '-n', NAMESPACE, HOSTED, '--ignore-not-found', '-o', 'name'])).trim() === '' ? true : undefined),
          { timeoutMs: 2 * 60_000, intervalMs: 1000, what: `A to retire the released Deployment ${HOSTED}` },
        );
      });
    } finally {
      writes = await writer.stop();
      availability = { kubeadm: await vmAPI.stop(), hosted: await hostedAPI.stop() };
      // Before the handover (A's pods deleted with the TenantControlPlane, B's started only when the Cluster resumed
      // there) the hosted figure was a 9-51 s outage; printed, not asserted: a timed bound belongs in bench/.
      console.log(`      tenant apiservers during the move: ${JSON.stringify(availability)}`);
      console.log(`      hosted tenant writes during the move: ${String(writes.acknowledged.length)} acknowledged, ${String(writes.failed)} refused or failed`);
    }
    expect(availability.kubeadm.failures, `the kubeadm tenant's apiserver (in its VM) missed answers: ${availability.kubeadm.lastError ?? ''}`).to.equal(0);
    // The hosted tenant's users lose nothing: every write its apiserver acknowledged during the move is there,
    // read through B's control plane, and no node's Ready condition changed.
    expect(writes.acknowledged.length, 'writes acknowledged by the hosted tenant during the move').to.be.greaterThan(0);
    expect(await writtenNames(hostedKubeconfig.path)).to.include.members(writes.acknowledged);
    expect(await nodesNotSteadilyReady(hostedKubeconfig.path, moveBegan), 'hosted tenant nodes that were not Ready throughout the move').to.deep.equal([]);

    // Same VMs (uids), nodes Ready, in both tenants.
    expect(await vmUIDs(place(b, KUBEADM)), 'kubeadm VMs after the move').to.deep.equal(vmsInA.kubeadm);
    expect(await vmUIDs(place(b, HOSTED)), 'hosted VMs after the move').to.deep.equal(vmsInA.hosted);
    expect(await readyNodes(place(b, KUBEADM), 2)).to.have.length(2);
    expect(await readyNodes(place(b, HOSTED), 1)).to.have.length(1);

    // Nothing of either Cluster is left in A: no Cluster API or provider object, no Secret, no control plane pod
    // (the garbage collector removes the hosted control plane's Deployment and pods after their TenantControlPlane).
    let left: string[] = [];
    await waitFor(
      async () => {
        const out = await kubectl(a.plane.kubeconfigPath, ['get', KINDS_IN_A.join(','), '-n', NAMESPACE, '-o', 'name']);
        left = out.trim().split('\n').filter((l) => l !== '' && l !== 'configmap/kube-root-ca.crt');
        return left.length === 0 ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 1000, what: 'nothing of the moved Clusters to be left in A' },
    ).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}: ${left.join(', ')}`, { cause: err });
    });
  });

  it('B\'s controllers take over: scaling each MachineDeployment to 2 adds one VM in the infra cluster and keeps the old ones', async function () {
    this.timeout(15 * 60_000);
    if (!vmsInA) throw new Error('the Clusters were not provisioned (see the first test)');
    const was = vmsInA;
    await timer.timed('both MachineDeployments scaled to 2 by B, concurrently', () =>
      allSettledOrThrow(
        [
          { name: KUBEADM, vms: was.kubeadm, nodes: 3 },
          { name: HOSTED, vms: was.hosted, nodes: 2 },
        ].map(async ({ name, vms, nodes }) => {
          const p = place(b, name);
          // Timed on its own as well: which of the two tenants the step waits for, and whether B's Cluster API
          // lost its connection to the tenant meanwhile (its cluster cache reconnecting holds machines back).
          const began = Date.now();
          await timer.timed(`${name}: its new Machine Running with a node`, async () => {
            await scaleMachineDeployment(b.plane.kubeconfigPath, NAMESPACE, `${name}-md-0`, 2);
            await waitForRunningMachines(p, `${name}-md-0`, 2, 8 * 60_000);
          });
          const probe = (await getJSON<{ status?: { conditions?: { type: string; status: string; lastTransitionTime?: string }[] } }>(b.plane.kubeconfigPath, ['clusters.cluster.x-k8s.io', '-n', NAMESPACE, name])).status?.conditions?.find((c) => c.type === 'RemoteConnectionProbe');
          console.log(`      ${name} in B: RemoteConnectionProbe ${probe?.status ?? 'absent'} since ${((Date.parse(probe?.lastTransitionTime ?? '') - began) / 1000).toFixed(0)} s after the scaling began`);
          expect(await readyNodes(p, nodes)).to.have.length(nodes);
          const now = await vmUIDs(p);
          expect(now.size, `${name} VMs`).to.equal(vms.size + 1);
          for (const [vm, uid] of vms) expect(now.get(vm), `${name}: VM ${vm} kept`).to.equal(uid);
        }),
      ),
    );
  });
});
