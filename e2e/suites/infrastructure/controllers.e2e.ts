// The infrastructure provider's controllers against a real management cluster: real kube-apiserver, scheduler and
// Cluster API (core + kubeadm bootstrap via clusterctl), the KubeVirt/CDI simulator placing VMs on simulated infra
// Nodes in three zones, the simulated guest joining the harness's tenant plane with CABPK's bootstrap data, and
// our manager as a child process (from its image in image mode: localcloud/cluster/image-process.ts), killed and
// restarted.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { stringify } from 'yaml';
import type { Cluster as CapiCluster, Machine } from '../../../lib/apis/cluster-api.js';
import { NODE_TYPE, POD_TYPE, SECRET_TYPE, SERVICE_TYPE, type Node, type Pod, type Secret, type Service } from '../../../lib/apis/core.js';
import {
  VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE,
  VIRTUAL_MACHINE_INSTANCE_TYPE,
  VIRTUAL_MACHINE_TYPE,
  type VirtualMachine,
  type VirtualMachineInstance,
  type VirtualMachineInstanceMigration,
} from '../../../lib/apis/kubevirt.js';
import { ApiError } from '../../../lib/kube/api-error.js';
import { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { RestMapper } from '../../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../../lib/kube/rest-transport.js';
import {
  KubevirtClusterGVK,
  KubevirtMachineGVK,
  KubevirtMachineTemplateGVK,
  type KubevirtCluster,
  type KubevirtMachine,
  type KubevirtMachineTemplate,
} from '../../../providers/infrastructure/api/index.js';
import { startCluster, type Cluster } from '../../../localcloud/cluster/cluster.js';
import { NODE_IP } from '../../../localcloud/cluster/topology.js';
import { clusterctlInit } from '../../../localcloud/clusterctl/init.js';
import { createClusterctlRepository, type ClusterctlRepository } from '../../../localcloud/clusterctl/repository.js';
import { installTestInfrastructure, TEST_CONTROL_PLANE_GROUP } from '../../harness/clusterctl/test-infrastructure.js';
import { startTenantPlane, type TenantPlane } from '../../../simulators/guest/tenant-plane.js';
import { startKubevirtSimulator, type KubevirtSimulator } from '../../../simulators/kubevirt/index.js';
import { kubectl, waitForCRDsEstablished } from '../../../localcloud/kubectl.js';
import type { ManagedProcess } from '../../../localcloud/process.js';
import { startProgram } from '../../../localcloud/cluster/image-process.js';
import { waitFor } from '../../../localcloud/wait.js';
import { CLUSTER, clusterObjects, controlPlaneStatus, NAMESPACE, poolObjects, type PoolOptions } from './controllers-fixtures.js';
import { httpGetText } from '../../harness/http-get.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const CRD_DIR = join(REPO, 'config/infrastructure/crd');
const ZONES = ['zone-a', 'zone-b', 'zone-c'];
const INFRA_NODES = ZONES.map((zone) => ({ name: `infra-${zone.slice(-1)}`, zone, region: 'kvcloud-local' }));
const MACHINE_TYPE = { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Machine' };
const CLUSTER_TYPE = { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster' };
const EVENT_TYPE = { apiVersion: 'events.k8s.io/v1', kind: 'Event' };

interface Event extends KubeObject {
  reason?: string;
  note?: string;
  regarding?: { kind?: string; name?: string };
}

describe('infrastructure controllers on a real management cluster', function () {
  let cluster: Cluster | undefined;
  let repo: ClusterctlRepository | undefined;
  let kubevirt: KubevirtSimulator | undefined;
  let tenant: TenantPlane | undefined;
  let manager: ManagedProcess | undefined;
  let managerRuns = 0;
  let kubeconfig: string;
  let client: Client;

  async function startManager(): Promise<ManagedProcess> {
    managerRuns++;
    const dir = cluster?.dir ?? '/tmp';
    return startProgram({
      name: `infrastructure-manager-${String(managerRuns)}`,
      component: 'infrastructure-manager',
      args: [
        '--kubeconfig', kubeconfig,
        '--leader-elect', '--leader-election-namespace', NAMESPACE,
        // A killed leader's Lease must expire before the next one acts: keep that short for the crash test.
        '--leader-elect-lease-duration', '4s', '--leader-elect-renew-deadline', '3s', '--leader-elect-retry-period', '1s',
        '--metrics-bind-address', '127.0.0.1:0', '--health-probe-bind-address', '0',
        '--log-level', 'debug',
      ],
      paths: [kubeconfig],
      runDir: dir,
      logFile: join(dir, `infrastructure-manager-${String(managerRuns)}.log`),
    });
  }

  /** The running manager's metrics URL, from its "serving metrics and probes" log line. */
  function metricsUrl(): string {
    const line = readFileSync(manager?.spec.logFile ?? '', 'utf8').split('\n').find((l) => l.includes('serving metrics and probes'));
    const url = line ? (JSON.parse(line) as { metrics?: string }).metrics : undefined;
    if (!url) throw new Error('the manager has not logged its metrics address');
    return new URL('/metrics', url).toString();
  }

  /** controller_runtime_reconcile_total of one controller, all results. */
  async function reconciles(controller: string): Promise<number> {
    const { text } = await httpGetText(metricsUrl());
    return text
      .split('\n')
      .filter((l) => l.startsWith('controller_runtime_reconcile_total{') && l.includes(`controller="${controller}"`))
      .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
  }

  /** Last lines of the manager log, for failure messages. */
  const managerLog = (): string => manager?.logTail(15) ?? 'manager not running';

  const apply = (objects: object[]) => kubectl(kubeconfig, ['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
  const get = <T extends KubeObject>(type: { apiVersion: string; kind: string }, name: string, namespace: string | undefined = NAMESPACE) =>
    client.get<T>(type, { namespace, name }, { direct: true });
  const list = <T extends KubeObject>(type: { apiVersion: string; kind: string }, labelSelector?: string) =>
    client.list<T>(type, { namespace: NAMESPACE, labelSelector, direct: true });

  function brief(km: KubevirtMachine | undefined): string {
    if (!km) return 'no KubevirtMachine';
    const conditions = (km.status?.conditions ?? []).filter((c) => c.status !== 'True').map((c) => `${c.type}=${c.status}(${c.reason}: ${c.message})`);
    return `${km.metadata.name ?? ''} ready=${String(km.status?.ready)} [${conditions.join('; ')}]`;
  }

  /** The pool's KubevirtMachines once `count` of them are ready. */
  async function readyMachines(pool: string, count: number, timeoutMs = 120_000): Promise<KubevirtMachine[]> {
    return waitFor(
      async () => {
        const kms = await list<KubevirtMachine>(KubevirtMachineGVK, `cluster.x-k8s.io/deployment-name=${CLUSTER}-${pool}`);
        if (kms.length === count && kms.every((m) => m.status?.ready === true)) return kms;
        throw new Error(`${String(kms.length)} machines: ${kms.map(brief).join(' | ')}\n${await bootstrapState(kms)}\nmanager log:\n${managerLog()}`);
      },
      { timeoutMs, what: `${String(count)} ready KubevirtMachines in pool ${pool}` },
    );
  }

  /** What Cluster API says about the machines' bootstrap data, for failure messages. */
  async function bootstrapState(kms: KubevirtMachine[]): Promise<string> {
    interface Conditioned extends KubeObject { status?: { dataSecretName?: string; conditions?: { type: string; status: string; reason?: string; message?: string }[] } }
    const notTrue = (o: Conditioned | undefined) => (o?.status?.conditions ?? []).filter((c) => c.status !== 'True').map((c) => `${c.type}=${c.status}(${c.reason ?? ''}: ${c.message ?? ''})`).join('; ');
    const out: string[] = [];
    for (const km of kms) {
      const owner = km.metadata.ownerReferences?.find((o) => o.kind === 'Machine');
      const machine = owner ? await get<Machine>(MACHINE_TYPE, owner.name) : undefined;
      const configName = machine?.spec?.bootstrap?.configRef?.name;
      const config = configName ? await get<Conditioned>({ apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta2', kind: 'KubeadmConfig' }, configName) : undefined;
      out.push(`Machine ${owner?.name ?? '-'} dataSecretName=${machine?.spec?.bootstrap?.dataSecretName ?? '-'} KubeadmConfig ${configName ?? '-'}: ${notTrue(config)}`);
    }
    const capi = await get<Conditioned>(CLUSTER_TYPE, CLUSTER);
    out.push(`Cluster ${JSON.stringify((capi?.status as { initialization?: unknown } | undefined)?.initialization)}: ${notTrue(capi)}`);
    return out.join('\n');
  }

  async function createPool(pool: PoolOptions): Promise<KubevirtMachine[]> {
    await apply(poolObjects(pool));
    return readyMachines(pool.name, pool.replicas);
  }

  async function vmiOf(name: string): Promise<VirtualMachineInstance> {
    const vmi = await get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, name);
    if (!vmi) throw new Error(`no VMI ${name}`);
    return vmi;
  }

  /** Evicts the VMI's launcher pod, as `kubectl drain` of its infra node would; KubeVirt refuses and marks it. */
  async function evictLauncher(vmi: VirtualMachineInstance): Promise<ApiError> {
    const pods = await list<Pod>(POD_TYPE, `kubevirt.io/created-by=${vmi.metadata.uid ?? ''}`);
    const pod = pods.find((p) => p.spec?.nodeName === vmi.status?.nodeName);
    if (!pod) throw new Error(`no launcher pod of VMI ${vmi.metadata.name ?? ''} on ${vmi.status?.nodeName ?? ''}`);
    try {
      await client.transport.request({
        method: 'POST',
        path: `/api/v1/namespaces/${NAMESPACE}/pods/${pod.metadata.name ?? ''}/eviction`,
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { namespace: NAMESPACE, name: pod.metadata.name } },
      });
    } catch (err) {
      if (err instanceof ApiError) return err;
      throw err;
    }
    throw new Error('the launcher pod eviction was admitted; KubeVirt should have refused it and marked the VMI');
  }

  async function eventReasons(kmName: string): Promise<string[]> {
    const events = await client.list<Event>(EVENT_TYPE, { namespace: NAMESPACE, direct: true });
    return events.filter((e) => e.regarding?.kind === 'KubevirtMachine' && e.regarding.name === kmName).map((e) => e.reason ?? '');
  }

  before(async function () {
    this.timeout(10 * 60_000);
    cluster = await startCluster({ nodes: INFRA_NODES });
    kubeconfig = cluster.plane.kubeconfigPath;
    const transport = await RestTransport.fromKubeConfig(cluster.plane.kubeConfig);
    client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-e2e' });
    repo = await createClusterctlRepository();
    await clusterctlInit(repo, kubeconfig);
    await installTestInfrastructure(kubeconfig);
    const crds = readdirSync(CRD_DIR).filter((f) => f.startsWith('infrastructure.cluster.x-k8s.io_'));
    await kubectl(kubeconfig, ['apply', ...crds.flatMap((f) => ['-f', join(CRD_DIR, f)])]);
    await waitForCRDsEstablished(kubeconfig, crds.map((f) => `${f.replace(/^infrastructure\.cluster\.x-k8s\.io_(.*)\.yaml$/, '$1')}.infrastructure.cluster.x-k8s.io`));
    kubevirt = await startKubevirtSimulator({ kubeconfig: cluster.plane.kubeConfig });
    await kubectl(kubeconfig, ['create', 'namespace', NAMESPACE]);
    tenant = await startTenantPlane({ clusterName: CLUSTER, bindAddress: NODE_IP, management: { kubeConfig: cluster.plane.kubeConfig, namespace: NAMESPACE } });
    manager = await startManager();
  });

  after(async function () {
    this.timeout(3 * 60_000);
    await manager?.stop();
    await kubevirt?.stop();
    await tenant?.stop();
    await cluster?.stop();
    await repo?.remove();
  });

  it('provisions the KubevirtCluster: SSH key pair, <cluster>-lb Service on the control-plane VMs, failure domains from the infra zones', async function () {
    this.timeout(3 * 60_000);
    if (!tenant) throw new Error('the before hook did not finish');
    const url = new URL(tenant.server);
    await apply(clusterObjects({ host: url.hostname, port: Number(url.port) }));
    const kc = await waitFor(
      async () => {
        const c = await get<KubevirtCluster>(KubevirtClusterGVK, CLUSTER);
        if (c?.status?.ready === true && c.status.initialization?.provisioned === true) return c;
        throw new Error(`${JSON.stringify(c?.status)}\nmanager log:\n${managerLog()}`);
      },
      { timeoutMs: 120_000, what: 'the KubevirtCluster to be provisioned' },
    );
    expect(kc.metadata.finalizers).to.include('kubevirtcluster.infrastructure.cluster.x-k8s.io');
    expect(kc.status?.failureDomains).to.deep.equal(ZONES.map((name) => ({ name, controlPlane: true })));
    expect(kc.spec?.controlPlaneEndpoint, 'a given endpoint is kept').to.deep.equal({ host: url.hostname, port: Number(url.port) });
    // CAPK's condition and reasons; Ready with Cluster API's summary reason.
    expect(kc.status?.conditions?.find((c) => c.type === 'LoadBalancerAvailable')).to.include({ status: 'True', reason: 'LoadBalancerAvailable' });
    expect(kc.status?.conditions?.find((c) => c.type === 'Ready')).to.include({ status: 'True', reason: 'InfoReported' });

    const keys = await get<Secret>(SECRET_TYPE, `${CLUSTER}-ssh-keys`);
    expect(Buffer.from(keys?.data?.pub ?? '', 'base64').toString()).to.match(/^ssh-rsa /);
    expect(Buffer.from(keys?.data?.key ?? '', 'base64').toString()).to.match(/^-----BEGIN RSA PRIVATE KEY-----/);
    expect(keys?.metadata.ownerReferences?.[0]).to.include({ kind: 'KubevirtCluster', name: CLUSTER, controller: true });

    const lb = await get<Service>(SERVICE_TYPE, `${CLUSTER}-lb`);
    expect(lb?.spec?.selector).to.deep.equal({ 'cluster.x-k8s.io/cluster-name': CLUSTER, 'cluster.x-k8s.io/role': 'control-plane' });
    expect(lb?.spec?.ports?.[0]).to.include({ port: 6443, targetPort: 6443 });

    // Cluster API read our status through the v1beta2 contract.
    const capi = await waitFor(
      async () => {
        const c = await get<CapiCluster>(CLUSTER_TYPE, CLUSTER);
        return c?.status?.initialization?.infrastructureProvisioned === true && (c.status.failureDomains?.length ?? 0) === 3 ? c : undefined;
      },
      { timeoutMs: 60_000, what: 'Cluster API to see the infrastructure provisioned with its failure domains' },
    );
    expect(capi.status?.failureDomains?.map((d) => d.name)).to.deep.equal(ZONES);
    expect(capi.spec?.controlPlaneEndpoint).to.deep.equal({ host: url.hostname, port: Number(url.port) });
    await kubectl(kubeconfig, ['patch', `testcontrolplanes.${TEST_CONTROL_PLANE_GROUP}`, '-n', NAMESPACE, CLUSTER, '--subresource=status', '--type=merge', '-p', JSON.stringify(controlPlaneStatus())]);
  });

  it('turns a Machine with CABPK bootstrap data into a VM named after it, in its failure domain, that joins the tenant and gets its nodeRef', async function () {
    this.timeout(5 * 60_000);
    const [km] = await createPool({ name: 'md-0', replicas: 1, failureDomain: 'zone-b' });
    if (!km) throw new Error('no machine');
    const name = km.metadata.name ?? '';

    const vm = await get<VirtualMachine>(VIRTUAL_MACHINE_TYPE, name);
    const labels = {
      'cluster.x-k8s.io/role': 'worker',
      'cluster.x-k8s.io/cluster-name': CLUSTER,
      'capk.cluster.x-k8s.io/kubevirt-machine-name': name,
      'capk.cluster.x-k8s.io/kubevirt-machine-namespace': NAMESPACE,
      'kubevirt.io/vm': name,
    };
    // The template's VM labels stay on the VM; the VMI template gets the machine's labels, as with CAPK.
    expect(vm?.metadata.labels).to.include({ ...labels, pool: 'md-0' });
    expect(vm?.spec?.template.metadata?.labels).to.include(labels);

    const machine = await waitFor(
      async () => {
        const owner = km.metadata.ownerReferences?.find((o) => o.kind === 'Machine');
        const m = owner ? await get<Machine>(MACHINE_TYPE, owner.name) : undefined;
        if (m?.status?.nodeRef?.name === name && m.spec?.providerID === `kubevirt://${name}`) return m;
        throw new Error(`Machine ${JSON.stringify({ providerID: m?.spec?.providerID, nodeRef: m?.status?.nodeRef, phase: m?.status?.phase })}`);
      },
      { timeoutMs: 120_000, what: 'Cluster API to give the Machine the providerID and the tenant Node as nodeRef' },
    );

    // The userdata: CABPK's cloud-config plus the bootstrap user holding the cluster's public key.
    const dataSecretName = machine.spec?.bootstrap?.dataSecretName ?? '';
    const cloudInit = vm?.spec?.template.spec?.volumes?.find((v) => v.name === 'cloudinitvolume');
    expect(cloudInit).to.deep.equal({ name: 'cloudinitvolume', cloudInitConfigDrive: { secretRef: { name: `${dataSecretName}-userdata` } } });
    const userdataSecret = await get<Secret>(SECRET_TYPE, `${dataSecretName}-userdata`);
    const userdata = Buffer.from(userdataSecret?.data?.userdata ?? '', 'base64').toString();
    const pub = Buffer.from((await get<Secret>(SECRET_TYPE, `${CLUSTER}-ssh-keys`))?.data?.pub ?? '', 'base64').toString();
    expect(userdata).to.match(/^## template: jinja\n#cloud-config\n/).and.include('kubeadm join').and.include('name: capk').and.include(pub);

    const vmi = await vmiOf(name);
    expect(vmi.status?.nodeName, 'the failure domain zone-b holds only infra-b').to.equal('infra-b');
    const ready = await get<KubevirtMachine>(KubevirtMachineGVK, name);
    const ips = (vmi.status?.interfaces ?? []).flatMap((i) => [i.ipAddress, ...(i.ipAddresses ?? [])]).filter((ip): ip is string => !!ip);
    expect(ips).to.not.be.empty;
    for (const ip of ips) expect(ready?.status?.addresses).to.deep.include({ type: 'InternalIP', address: ip });
    expect(ready?.status?.addresses).to.deep.include({ type: 'Hostname', address: name });
    expect(ready?.spec.providerID).to.equal(`kubevirt://${name}`);
    expect(ready?.status?.initialization?.provisioned).to.equal(true);
    expect(ready?.status?.failureDomain).to.equal('zone-b');
    expect(ready?.status?.nodeupdated).to.equal(true);
    // CAPK's condition types and reasons, so what was written for CAPK (kubectl wait, runbooks) works unchanged.
    const reported = (type: string) => ready?.status?.conditions?.find((c) => c.type === type);
    expect(reported('Ready'), 'Ready, with Cluster API\'s summary reason').to.include({ status: 'True', reason: 'InfoReported' });
    expect(reported('VMProvisioned')).to.include({ status: 'True', reason: 'VMProvisioned' });
    expect(reported('BootstrapExecSucceeded')).to.include({ status: 'True', reason: 'BootstrapExecSucceeded' });
    const migratable = vmi.status?.conditions?.find((c) => c.type === 'LiveMigratable');
    expect(reported('VMLiveMigratable'), 'from the VMI\'s LiveMigratable').to.include(
      migratable?.status === 'True' ? { status: 'True', reason: 'VMLiveMigratable' } : { status: 'False', reason: migratable?.reason },
    );

    const node = await tenant?.client.get<Node>(NODE_TYPE, { name }, { direct: true });
    expect(node?.spec?.providerID, 'the guest registered without one; the controller set it').to.equal(`kubevirt://${name}`);
    expect(await eventReasons(name)).to.include.members(['CreatedVirtualMachine', 'SetNodeProviderID']);

    const template = await get<KubevirtMachineTemplate>(KubevirtMachineTemplateGVK, `${CLUSTER}-md-0`);
    expect(template?.status?.capacity).to.deep.equal({ cpu: '4', memory: '4Gi' });
    expect(template?.status?.nodeInfo).to.deep.equal({ architecture: 'amd64', operatingSystem: 'linux' });
  });

  it('writes nothing at steady state: a reconcile of a ready machine and its cluster leaves every object as it was', async function () {
    this.timeout(2 * 60_000);
    const [km] = await readyMachines('md-0', 1);
    const name = km?.metadata.name ?? '';
    const versions = async () => {
      const m = await get<KubevirtMachine>(KubevirtMachineGVK, name);
      const vm = await get<VirtualMachine>(VIRTUAL_MACHINE_TYPE, name);
      const kc = await get<KubevirtCluster>(KubevirtClusterGVK, CLUSTER);
      const lb = await get<Service>(SERVICE_TYPE, `${CLUSTER}-lb`);
      const keys = await get<Secret>(SECRET_TYPE, `${CLUSTER}-ssh-keys`);
      const userdata = (await list<Secret>(SECRET_TYPE, `capk.cluster.x-k8s.io/kubevirt-machine-name=${name}`))[0];
      const node = await tenant?.client.get<Node>(NODE_TYPE, { name }, { direct: true });
      return {
        kubevirtMachine: m?.metadata.resourceVersion,
        vm: vm?.metadata.generation,
        kubevirtCluster: kc?.metadata.resourceVersion,
        service: lb?.metadata.resourceVersion,
        sshKeys: keys?.metadata.resourceVersion,
        userdata: userdata?.metadata.resourceVersion,
        // The fields of the tenant Node we write (providerID, cordon); Cluster API removes its uninitialized taint
        // from the same spec on its own schedule, which is no write of ours.
        tenantNodeSpec: JSON.stringify({ providerID: node?.spec?.providerID, unschedulable: node?.spec?.unschedulable }),
      };
    };
    // Poke both objects with an annotation only the test sets: each update is reconciled and must change nothing
    // else; the poke's own resourceVersion is the one the objects must still have afterwards.
    const poke = async (resource: string, object: string): Promise<string> =>
      kubectl(kubeconfig, ['annotate', '--overwrite', resource, '-n', NAMESPACE, object, `kvcloud.test/poke=${String(Date.now())}`, '-o', 'jsonpath={.metadata.resourceVersion}']);
    const before = await versions();
    const machinesBefore = await reconciles('kubevirtmachine');
    const clustersBefore = await reconciles('kubevirtcluster');
    before.kubevirtMachine = await poke('kubevirtmachine', name);
    before.kubevirtCluster = await poke('kubevirtcluster', CLUSTER);
    await waitFor(async () => {
      const machines = await reconciles('kubevirtmachine');
      const clusters = await reconciles('kubevirtcluster');
      if (machines > machinesBefore && clusters > clustersBefore) return true;
      const { text } = await httpGetText(metricsUrl());
      throw new Error(`reconciles: machines ${String(machinesBefore)} -> ${String(machines)}, clusters ${String(clustersBefore)} -> ${String(clusters)} at ${metricsUrl()}: ${text.split('\n').filter((l) => l.includes('reconcile_total')).join(' | ')}`);
    }, {
      timeoutMs: 30_000,
      what: 'the manager to reconcile the poked KubevirtMachine and KubevirtCluster',
    });
    // Let the work queues settle: a write of ours would cause a further reconcile, which we wait out too.
    let settled = -1;
    await waitFor(async () => {
      const now = (await reconciles('kubevirtmachine')) + (await reconciles('kubevirtcluster'));
      const stable = now === settled;
      settled = now;
      return stable ? true : undefined;
    }, { timeoutMs: 30_000, intervalMs: 1000, what: 'the reconcile counters to settle' });
    expect(await versions()).to.deep.equal(before);
  });

  it('live-migrates a migratable VMI off a draining infra node and leaves its tenant node schedulable', async function () {
    this.timeout(5 * 60_000);
    const [km] = await createPool({ name: 'md-mig', replicas: 1 });
    const name = km?.metadata.name ?? '';
    const before = await waitFor(async () => {
      const v = await vmiOf(name);
      return v.status?.conditions?.some((c) => c.type === 'LiveMigratable' && c.status === 'True') ? v : undefined;
    }, { timeoutMs: 30_000, what: 'the VMI to be live-migratable' });
    const source = before.status?.nodeName ?? '';
    await kubectl(kubeconfig, ['cordon', source]);
    try {
      const refused = await evictLauncher(before);
      expect(refused.status).to.equal(429);
      const moved = await waitFor(
        async () => {
          const v = await vmiOf(name);
          if (v.status?.nodeName !== source && v.status?.migrationState?.completed === true && !v.status.evacuationNodeName) return v;
          throw new Error(`VMI on ${v.status?.nodeName ?? '-'} evacuation=${v.status?.evacuationNodeName ?? '-'} migration=${JSON.stringify(v.status?.migrationState)}\n${managerLog()}`);
        },
        { timeoutMs: 120_000, what: 'the VMI to be migrated off the draining node' },
      );
      expect(moved.metadata.uid, 'the same VMI, migrated, not replaced').to.equal(before.metadata.uid);
      const migrations = await list<VirtualMachineInstanceMigration>(VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE);
      expect(migrations.filter((m) => m.spec?.vmiName === name).map((m) => m.metadata.name)).to.deep.equal([
        migrations.find((m) => m.metadata.name?.startsWith(`${name}-evacuation-`))?.metadata.name,
      ]);
      const evacuated = await waitFor(async () => {
        const m = await get<KubevirtMachine>(KubevirtMachineGVK, name);
        return m?.status?.conditions?.find((c) => c.type === 'Evacuated' && c.status === 'True') ? m : undefined;
      }, { timeoutMs: 30_000, what: 'the KubevirtMachine to report the evacuation completed' });
      expect(evacuated.status?.ready).to.equal(true);
      const node = await tenant?.client.get<Node>(NODE_TYPE, { name }, { direct: true });
      expect(node?.spec?.unschedulable ?? false, 'a migration never cordons the tenant node').to.equal(false);
      const reasons = await eventReasons(name);
      expect(reasons).to.include('MigratingVirtualMachine').and.not.include('CordonedNode');
    } finally {
      await kubectl(kubeconfig, ['uncordon', source]);
    }
  });

  it('drains the tenant node of a non-migratable VMI, replaces the VMI elsewhere and uncordons the node once it is back', async function () {
    this.timeout(6 * 60_000);
    const [km] = await createPool({ name: 'md-bridge', replicas: 1, bridged: true });
    const name = km?.metadata.name ?? '';
    const before = await waitFor(async () => {
      const v = await vmiOf(name);
      return v.status?.conditions?.some((c) => c.type === 'LiveMigratable' && c.status === 'False') ? v : undefined;
    }, { timeoutMs: 30_000, what: 'the VMI to report it cannot live-migrate' });
    const source = before.status?.nodeName ?? '';
    await kubectl(kubeconfig, ['cordon', source]);
    try {
      expect((await evictLauncher(before)).status).to.equal(429);
      const replaced = await waitFor(
        async () => {
          const v = await get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, name);
          if (v && v.metadata.uid !== before.metadata.uid && v.status?.nodeName !== source && v.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) return v;
          const m = await get<KubevirtMachine>(KubevirtMachineGVK, name);
          throw new Error(`VMI ${v?.metadata.uid ?? 'none'} on ${v?.status?.nodeName ?? '-'}; ${brief(m)}\n${managerLog()}`);
        },
        { timeoutMs: 180_000, what: 'a new VMI Ready on another infra node' },
      );
      expect(replaced.status?.nodeName).to.not.equal(source);
      await waitFor(
        async () => {
          const m = await get<KubevirtMachine>(KubevirtMachineGVK, name);
          const n = await tenant?.client.get<Node>(NODE_TYPE, { name }, { direct: true });
          const done = m?.status?.conditions?.find((c) => c.type === 'Evacuated');
          if (done?.status === 'True' && done.reason === 'EvacuationCompleted' && n?.spec?.unschedulable !== true) return true;
          throw new Error(`Evacuated=${JSON.stringify(done)} tenant node unschedulable=${String(n?.spec?.unschedulable)}\n${managerLog()}`);
        },
        { timeoutMs: 120_000, what: 'the tenant node to be uncordoned once the replacement is back' },
      );
      const reasons = await eventReasons(name);
      expect(reasons).to.include.members(['CordonedNode', 'ReplacedVirtualMachineInstance', 'UncordonedNode']);
      expect(reasons).to.not.include('MigratingVirtualMachine');
    } finally {
      await kubectl(kubeconfig, ['uncordon', source]);
    }
  });

  it('makes no second VM or Secret when the manager is killed mid-provisioning and restarted', async function () {
    this.timeout(6 * 60_000);
    const pool = 'md-crash';
    await apply(poolObjects({ name: pool, replicas: 2 }));
    // Kill it the moment it has made its first VM of the pool, before the others and before any is ready.
    await waitFor(async () => ((await list<VirtualMachine>(VIRTUAL_MACHINE_TYPE, `pool=${pool}`)).length > 0 ? true : undefined), {
      timeoutMs: 120_000,
      what: `a VM of ${pool}`,
    });
    process.kill(-(manager?.pid ?? 0), 'SIGKILL');
    await manager?.exited;
    manager = await startManager();
    const kms = await readyMachines(pool, 2, 240_000);
    const names = kms.map((m) => m.metadata.name ?? '').sort();
    const vms = await list<VirtualMachine>(VIRTUAL_MACHINE_TYPE, `pool=${pool}`);
    expect(vms.map((v) => v.metadata.name).sort()).to.deep.equal(names);
    const userdata = await list<Secret>(SECRET_TYPE, 'capk.cluster.x-k8s.io/kubevirt-machine-name');
    expect(userdata.filter((s) => names.includes(s.metadata.labels?.['capk.cluster.x-k8s.io/kubevirt-machine-name'] ?? '')).map((s) => s.metadata.labels?.['capk.cluster.x-k8s.io/kubevirt-machine-name']).sort()).to.deep.equal(names);
    const keys = (await list<Secret>(SECRET_TYPE)).filter((s) => s.metadata.name?.endsWith('-ssh-keys'));
    expect(keys.map((s) => s.metadata.name)).to.deep.equal([`${CLUSTER}-ssh-keys`]);
  });

  it('deletes a machine\'s VM, waits for it, then removes its userdata Secret', async function () {
    this.timeout(4 * 60_000);
    const kms = await list<KubevirtMachine>(KubevirtMachineGVK, `cluster.x-k8s.io/deployment-name=${CLUSTER}-md-crash`);
    const names = kms.map((m) => m.metadata.name ?? '');
    expect(names).to.have.length(2);
    await kubectl(kubeconfig, ['delete', 'machinedeployment', '-n', NAMESPACE, `${CLUSTER}-md-crash`, '--wait=false']);
    await waitFor(
      async () => {
        const left = [
          ...(await list<KubevirtMachine>(KubevirtMachineGVK)).filter((m) => names.includes(m.metadata.name ?? '')).map((m) => `KubevirtMachine ${brief(m)}`),
          ...(await list<VirtualMachine>(VIRTUAL_MACHINE_TYPE, 'pool=md-crash')).map((v) => `VM ${v.metadata.name ?? ''}`),
          ...(await list<Secret>(SECRET_TYPE, 'capk.cluster.x-k8s.io/kubevirt-machine-name'))
            .filter((s) => names.includes(s.metadata.labels?.['capk.cluster.x-k8s.io/kubevirt-machine-name'] ?? ''))
            .map((s) => `Secret ${s.metadata.name ?? ''}`),
        ];
        if (left.length === 0) return true;
        throw new Error(`left: ${left.join(', ')}\n${managerLog()}`);
      },
      { timeoutMs: 180_000, what: 'the pool\'s KubevirtMachines, VMs and userdata Secrets to be gone' },
    );
    const reasons = (await client.list<Event>(EVENT_TYPE, { namespace: NAMESPACE, direct: true })).filter((e) => names.includes(e.regarding?.name ?? '')).map((e) => e.reason);
    expect(reasons).to.include('DeletedVirtualMachine');
  });

  it('with checkStrategy ssh, marks the machine bootstrapped by logging in to the guest and reading the sentinel', async function () {
    this.timeout(4 * 60_000);
    const [km] = await createPool({ name: 'ssh', replicas: 1, checkStrategy: 'ssh' });
    if (!km) throw new Error('no machine');
    expect(km.spec.virtualMachineBootstrapCheck?.checkStrategy).to.equal('ssh');
    const bootstrapped = km.status?.conditions?.find((c) => c.type === 'BootstrapExecSucceeded');
    // The SSH path's message, not the tenant Node check's ("tenant Node ... registered"): the guest's sshd
    // accepted the cluster key for user capk and `cat` of the sentinel printed "success".
    expect(bootstrapped).to.include({ status: 'True', reason: 'BootstrapExecSucceeded', message: 'sentinel reports success' });
  });

  it('has the manager log no reconcile that failed for good', () => {
    const logs = readdirSync(cluster?.dir ?? '').filter((f) => f.startsWith('infrastructure-manager-'));
    const terminal = logs.flatMap((f) => readFileSync(join(cluster?.dir ?? '', f), 'utf8').split('\n').filter((l) => l.includes('failed terminally')));
    expect(terminal).to.deep.equal([]);
  });
});
