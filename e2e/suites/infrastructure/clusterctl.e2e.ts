// The infrastructure provider as users get it: `clusterctl init --infrastructure kubevirt` from the release
// manifests, the manager running as a pod with only the RBAC the release grants, and clusters generated from the
// release's templates.
import { expect } from 'chai';
import { startCluster, type Cluster } from '../../../localcloud/cluster/cluster.js';
import { createClusterctlRepository, type ClusterctlRepository } from '../../../localcloud/clusterctl/repository.js';
import {
  addKvcloudInfrastructure,
  clusterctlInitWithKubevirt,
  generateCluster,
  installKubevirtCRDs,
  KUBEVIRT_MANAGER_DEPLOYMENT,
  KUBEVIRT_MANAGER_SERVICE_ACCOUNT,
  KUBEVIRT_PROVIDER_NAMESPACE,
  QUICK_START_VARIABLES,
  type KvcloudInfrastructure,
} from '../../../localcloud/clusterctl/kvcloud-infrastructure.js';
import { usesKamajiControlPlane } from '../../../localcloud/clusterctl/kvcloud-control-plane.js';
import { describeAccess, serviceAccountAllowed, type Access } from '../../harness/clusterctl/kvcloud-rbac.js';
import {
  applyManifests,
  deleteCluster,
  getJSON,
  machineVMs,
  scaleMachineDeployment,
  tenantNodes,
  waitForNoLeftovers,
  waitForRunningControlPlane,
  waitForRunningMachines,
  type WorkloadPlace,
} from '../../harness/clusterctl/kvcloud-workload.js';
import { startKubevirtSimulator } from '../../../simulators/kubevirt/index.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { upstreamVersion } from '../../../localcloud/versions.js';
import { waitFor } from '../../../localcloud/wait.js';

const PROVIDER_SELECTOR = 'cluster.x-k8s.io/provider=infrastructure-kubevirt';

interface Pod {
  metadata: { name: string };
  spec: { serviceAccountName?: string; automountServiceAccountToken?: boolean; containers: { name: string; image: string; args?: string[]; command?: string[] }[] };
  status?: { phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { name: string; ready: boolean; restartCount: number }[] };
}

// What the manager needs to do its job, and what it must never be able to do.
const NEEDED: Access[] = [
  { verb: 'watch', group: 'infrastructure.cluster.x-k8s.io', resource: 'kubevirtmachines' },
  { verb: 'patch', group: 'infrastructure.cluster.x-k8s.io', resource: 'kubevirtmachines', subresource: 'status' },
  { verb: 'patch', group: 'infrastructure.cluster.x-k8s.io', resource: 'kubevirtclusters', subresource: 'status' },
  { verb: 'patch', group: 'infrastructure.cluster.x-k8s.io', resource: 'kubevirtmachinetemplates', subresource: 'status' },
  { verb: 'watch', group: 'cluster.x-k8s.io', resource: 'machines' },
  { verb: 'watch', group: 'cluster.x-k8s.io', resource: 'clusters' },
  { verb: 'create', group: 'kubevirt.io', resource: 'virtualmachines', namespace: 'default' },
  { verb: 'delete', group: 'kubevirt.io', resource: 'virtualmachines', namespace: 'default' },
  { verb: 'watch', group: 'kubevirt.io', resource: 'virtualmachineinstances' },
  { verb: 'create', group: '', resource: 'secrets', namespace: 'default' },
  { verb: 'create', group: '', resource: 'services', namespace: 'default' },
  { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: KUBEVIRT_PROVIDER_NAMESPACE },
];
const FORBIDDEN: Access[] = [
  { verb: 'create', group: 'rbac.authorization.k8s.io', resource: 'clusterrolebindings' },
  { verb: 'escalate', group: 'rbac.authorization.k8s.io', resource: 'clusterroles' },
  { verb: 'create', group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' },
  { verb: 'delete', group: '', resource: 'namespaces' },
  { verb: 'delete', group: '', resource: 'nodes' },
  { verb: 'update', group: 'apps', resource: 'deployments', namespace: 'capi-system' },
  { verb: 'create', group: '', resource: 'pods', subresource: 'exec', namespace: 'kube-system' },
  { verb: 'update', group: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system' },
  { verb: 'delete', group: 'cluster.x-k8s.io', resource: 'clusters' },
];

describe('kvcloud infrastructure provider through clusterctl', () => {
  let cluster: Cluster | undefined;
  let repo: ClusterctlRepository | undefined;
  let release: KvcloudInfrastructure | undefined;
  let kubeconfig: string;

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
    repo = await createClusterctlRepository();
    release = await addKvcloudInfrastructure(repo);
    // KubeVirt is installed before its Cluster API provider, as on a real management cluster.
    await installKubevirtCRDs(kubeconfig);
  });
  after(async function () {
    this.timeout(3 * 60_000);
    await cluster?.stop();
    await repo?.remove();
  });

  it('clusterctl init --infrastructure kubevirt installs the provider from the release, and its manager becomes ready', async function () {
    this.timeout(10 * 60_000);
    if (!repo || !release) throw new Error('the repository was not created (see the before hook)');
    const { output, seconds } = await clusterctlInitWithKubevirt(repo, kubeconfig);
    console.log(`      clusterctl init (cert-manager, core, kubeadm, kubevirt; all Available) took ${seconds.toFixed(1)} s`);
    expect(output).to.match(/Installing provider="infrastructure-kubevirt" version="v\d+\.\d+\.\d+" targetNamespace="capk-system"/);
    expect(output).to.match(/Your management cluster has been initialized successfully/);

    const providers = await getJSON<{ items: { metadata: { name: string; namespace: string }; type: string; version: string }[] }>(kubeconfig, [
      'providers.clusterctl.cluster.x-k8s.io',
      '-A',
    ]);
    expect(providers.items.map((p) => `${p.type}/${p.metadata.name}@${p.version} in ${p.metadata.namespace}`)).to.include(
      `InfrastructureProvider/infrastructure-kubevirt@${release.version} in ${KUBEVIRT_PROVIDER_NAMESPACE}`,
    );

    // Everything the release installs carries the provider label (clusterctl deletes and upgrades by it).
    const crds = await getJSON<{ items: { metadata: { name: string; labels: Record<string, string> } }[] }>(kubeconfig, ['crd', '-l', PROVIDER_SELECTOR]);
    expect(crds.items.map((c) => c.metadata.name)).to.include.members([
      'kubevirtclusters.infrastructure.cluster.x-k8s.io',
      'kubevirtmachines.infrastructure.cluster.x-k8s.io',
      'kubevirtmachinetemplates.infrastructure.cluster.x-k8s.io',
      'kubevirtclustertemplates.infrastructure.cluster.x-k8s.io',
    ]);
    for (const c of crds.items) expect(c.metadata.labels, c.metadata.name).to.include({ 'cluster.x-k8s.io/v1beta2': 'v1alpha1' });
    const namespaced = await kubectl(kubeconfig, ['get', 'deployment,serviceaccount,role,rolebinding', '-n', KUBEVIRT_PROVIDER_NAMESPACE, '-l', PROVIDER_SELECTOR, '-o', 'name']);
    expect(namespaced.trim().split('\n').sort()).to.include.members([
      `deployment.apps/${KUBEVIRT_MANAGER_DEPLOYMENT}`,
      `serviceaccount/${KUBEVIRT_MANAGER_SERVICE_ACCOUNT}`,
    ]);

    // The manager runs as a pod of the release's Deployment: container "manager", our image, args only, as the
    // release's ServiceAccount, ready (its informers synced, which its list/watch permissions allow).
    const pods = await getJSON<{ items: Pod[] }>(kubeconfig, ['pods', '-n', KUBEVIRT_PROVIDER_NAMESPACE, '-l', 'control-plane=controller-manager']);
    expect(pods.items, 'manager pods').to.have.length(1);
    const pod = pods.items[0];
    expect(pod?.spec.serviceAccountName).to.equal(KUBEVIRT_MANAGER_SERVICE_ACCOUNT);
    const manager = pod?.spec.containers.find((c) => c.name === 'manager');
    expect(manager?.image).to.equal('ghcr.io/kvcloud/infrastructure-manager:dev');
    expect(manager?.command).to.equal(undefined);
    expect(manager?.args).to.include('--leader-elect');
    expect(pod?.status?.phase).to.equal('Running');
    expect(pod?.status?.containerStatuses?.find((s) => s.name === 'manager')).to.include({ ready: true });
  });

  it('grants the manager what its controllers need and nothing that would let it take over the cluster', async function () {
    this.timeout(2 * 60_000);
    const answers = await serviceAccountAllowed(kubeconfig, KUBEVIRT_PROVIDER_NAMESPACE, KUBEVIRT_MANAGER_SERVICE_ACCOUNT, [...NEEDED, ...FORBIDDEN]);
    const denied = NEEDED.filter((_, i) => answers[i] !== true).map(describeAccess);
    expect(denied, 'needed but denied').to.deep.equal([]);
    const allowed = FORBIDDEN.filter((_, i) => answers[NEEDED.length + i] !== false).map(describeAccess);
    expect(allowed, 'allowed but never needed').to.deep.equal([]);
  });

  it('generates from every release template manifests the management cluster admits unchanged (server-side dry run)', async function () {
    this.timeout(3 * 60_000);
    if (!repo || !release) throw new Error('the repository was not created (see the before hook)');
    await kubectl(kubeconfig, ['create', 'namespace', 'templates-dry-run']);
    const templates = release.templates.filter((t) => /\/cluster-template[^/]*\.yaml$/.test(t));
    expect(templates.map((t) => t.slice(t.lastIndexOf('/') + 1)).sort()).to.deep.equal([
      'cluster-template-ext-infra.yaml',
      'cluster-template-kubeadm.yaml',
      'cluster-template-lb.yaml',
      'cluster-template-persistent-storage.yaml',
      'cluster-template-topology-kamaji.yaml',
      'cluster-template-topology.yaml',
      'cluster-template.yaml',
    ]);
    // The hosted control plane templates need the kamaji control plane provider, which this management cluster
    // does not have: e2e/suites/controlplane/clusterctl-kamaji.e2e.ts dry-runs (and provisions) them.
    const kubeadmTemplates: string[] = [];
    for (const t of templates) if (!(await usesKamajiControlPlane(t))) kubeadmTemplates.push(t);
    expect(kubeadmTemplates.map((t) => t.slice(t.lastIndexOf('/') + 1)).sort()).to.deep.equal([
      'cluster-template-ext-infra.yaml',
      'cluster-template-kubeadm.yaml',
      'cluster-template-lb.yaml',
      'cluster-template-persistent-storage.yaml',
      'cluster-template-topology.yaml',
    ]);
    for (const from of kubeadmTemplates) {
      const generated = await generateCluster(repo, {
        source: { from },
        kubeconfig,
        clusterName: 'dry-run',
        namespace: 'templates-dry-run',
        kubernetesVersion: upstreamVersion('KUBERNETES_VERSION'),
        workerMachineCount: 3,
        variables: QUICK_START_VARIABLES,
      });
      // Admission (CRD schemas and CEL, Cluster API's webhooks, our policies) sees every object as a user's apply would.
      const out = await kubectl(kubeconfig, ['apply', '--dry-run=server', '-f', '-'], generated);
      expect(out, from).to.match(/created \(server dry run\)/);
    }
  });

  // Everything is the real path: clusterctl's manifests as generated, KubeadmControlPlane -> a control-plane
  // Machine -> KubevirtMachine (our manager, as clusterctl deployed it) -> VM whose guest runs `kubeadm init` (a
  // real tenant control plane behind the KubevirtCluster's <cluster>-lb Service), then MachineDeployment ->
  // Machines -> KubeadmConfigs -> VMs whose guests `kubeadm join` it.
  describe('clusters generated from the release templates', () => {
    const simulators: { stop(): Promise<void> }[] = [];
    let infraCluster: Cluster | undefined;
    const template = (flavor: string) => {
      const file = flavor === 'default' ? 'cluster-template.yaml' : `cluster-template-${flavor}.yaml`;
      const path = release?.templates.find((t) => t.endsWith(`/${file}`));
      if (!path) throw new Error(`the release has no ${file}`);
      return path;
    };

    /** Generates the cluster with clusterctl and applies it as generated; returns where it lives. */
    async function createCluster(
      source: { from: string } | { flavor: string },
      clusterName: string,
      namespace: string,
      infra?: WorkloadPlace['infra'],
    ): Promise<{ place: WorkloadPlace; generated: string }> {
      if (!repo) throw new Error('the management cluster is not initialized (see the first test)');
      await kubectl(kubeconfig, ['create', 'namespace', namespace]);
      const generated = await generateCluster(repo, {
        source,
        kubeconfig,
        clusterName,
        namespace,
        kubernetesVersion: upstreamVersion('KUBERNETES_VERSION'),
        workerMachineCount: 3,
        variables: QUICK_START_VARIABLES,
      });
      await applyManifests(kubeconfig, generated);
      const place = { kubeconfig, namespace, clusterName, infra: infra ?? { kubeconfig, namespace } };
      await expectControlPlane(place);
      return { place, generated };
    }

    /** The control-plane Machine Running with its node: its VM booted `kubeadm init` and registered the node. */
    async function expectControlPlane(place: WorkloadPlace): Promise<void> {
      const started = Date.now();
      const machines = await waitForRunningControlPlane(place, 1, 6 * 60_000);
      console.log(`      ${place.clusterName}: control plane Running with its node after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const nodes = await tenantNodes(place);
      for (const { machine, vm, userdata } of await machineVMs(place, machines)) {
        const name = vm.metadata.name ?? '';
        expect(vm.metadata.labels, `VM ${name} labels`).to.include({ 'cluster.x-k8s.io/cluster-name': place.clusterName, 'cluster.x-k8s.io/role': 'control-plane' });
        expect(userdata, `VM ${name} userdata`).to.match(/kubeadm init/);
        expect(machine.spec?.providerID).to.equal(`kubevirt://${name}`);
        expect(nodes.get(machine.status?.nodeRef?.name ?? ''), `tenant Node of ${name}`).to.equal(`kubevirt://${name}`);
      }
    }

    /** Deletes the Cluster and waits until nothing of it is left. */
    async function deleteAndExpectNothingLeft(place: WorkloadPlace): Promise<void> {
      const started = Date.now();
      await deleteCluster(place, 5 * 60_000);
      await waitForNoLeftovers(place, ['kubeadmcontrolplanes.controlplane.cluster.x-k8s.io'], 2 * 60_000);
      console.log(`      ${place.clusterName}: deleted, nothing left after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    }

    /** `replicas` Running workers with nodes; their VMs labelled, booting their own bootstrap data, providerIDs matching. */
    async function expectWorkers(place: WorkloadPlace, replicas: number, machineDeployment = `${place.clusterName}-md-0`): Promise<void> {
      const started = Date.now();
      const machines = await waitForRunningMachines(place, machineDeployment, replicas, 8 * 60_000);
      console.log(`      ${place.clusterName}: ${replicas} Machines Running with nodes after ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const nodes = await tenantNodes(place);
      for (const { machine, vm, userdata } of await machineVMs(place, machines)) {
        const name = vm.metadata.name ?? '';
        expect(vm.metadata.labels, `VM ${name} labels`).to.include({ 'cluster.x-k8s.io/cluster-name': place.clusterName, 'cluster.x-k8s.io/role': 'worker' });
        expect(vm.spec?.template.metadata?.labels, `VM ${name} VMI template labels`).to.include({ 'cluster.x-k8s.io/cluster-name': place.clusterName });
        expect(userdata, `VM ${name} userdata`).to.match(/kubeadm join/);
        expect(machine.spec?.providerID, `Machine ${machine.metadata.name ?? ''} providerID`).to.equal(`kubevirt://${name}`);
        expect(nodes.get(machine.status?.nodeRef?.name ?? ''), `tenant Node of ${name}`).to.equal(`kubevirt://${name}`);
      }
    }

    async function scaleAndDelete(place: WorkloadPlace): Promise<void> {
      await scaleMachineDeployment(kubeconfig, place.namespace, `${place.clusterName}-md-0`, 5);
      await expectWorkers(place, 5);
      await scaleMachineDeployment(kubeconfig, place.namespace, `${place.clusterName}-md-0`, 1);
      await expectWorkers(place, 1);
      // The surplus Machines are gone only once their VMs are: exactly one worker VM is left.
      const selector = `cluster.x-k8s.io/cluster-name=${place.clusterName},cluster.x-k8s.io/role=worker`;
      const vms = await kubectl(place.infra.kubeconfig, ['get', 'virtualmachines.kubevirt.io', '-n', place.infra.namespace, '-l', selector, '-o', 'name']);
      expect(vms.trim().split('\n'), 'worker VMs after scaling to 1').to.have.length(1);

      await deleteAndExpectNothingLeft(place);
    }

    interface Service {
      spec: { type: string; clusterIP: string; ports: { port: number; nodePort?: number }[] };
      status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
    }
    const endpointOf = async (place: WorkloadPlace) =>
      (await getJSON<{ spec: { controlPlaneEndpoint?: { host: string; port: number } } }>(kubeconfig, ['kubevirtclusters.infrastructure.cluster.x-k8s.io', '-n', place.namespace, place.clusterName]))
        .spec.controlPlaneEndpoint;
    const controlPlaneService = (place: WorkloadPlace) => getJSON<Service>(place.infra.kubeconfig, ['service', '-n', place.infra.namespace, `${place.clusterName}-lb`]);

    // Each flavor's whole scenario, by the title of its test; the longest first, so the shortest start last.
    const flavors: [string, () => Promise<void>][] = [
      [
        'ext-infra flavor: the VMs run in a second cluster reached through infraClusterSecretRef, and nothing is left there',
        async () => {
          const infra = await startCluster();
          infraCluster = infra;
          const infraKubeconfig = infra.plane.kubeconfigPath;
          simulators.push(await startKubevirtSimulator({ kubeconfig: infraKubeconfig }));
          await kubectl(infraKubeconfig, ['create', 'namespace', 'tenant-vms']);
          // The Secret the template names: the infra cluster's kubeconfig and the namespace the VMs go to.
          await kubectl(kubeconfig, [
            'create',
            'secret',
            'generic',
            'external-infra-kubeconfig',
            '-n',
            KUBEVIRT_PROVIDER_NAMESPACE,
            `--from-file=kubeconfig=${infraKubeconfig}`,
            '--from-literal=namespace=tenant-vms',
          ]);
          const { place } = await createCluster({ from: template('ext-infra') }, 'acme-ext', 'tenants-ext', { kubeconfig: infraKubeconfig, namespace: 'tenant-vms' });
          await expectWorkers(place, 3);
          const inManagement = await kubectl(kubeconfig, ['get', 'virtualmachines.kubevirt.io', '-A', '-l', 'cluster.x-k8s.io/cluster-name=acme-ext', '-o', 'name']);
          expect(inManagement.trim(), 'VMs of the cluster in the management cluster').to.equal('');
          // Scaling is the kubeadm flavor's path (the same controllers, only the cluster the VMs go to differs); what
          // is particular here, that the deletion reaches into the infra cluster, the leftover check below proves.
          await deleteAndExpectNothingLeft(place);
        },
      ],
      [
        'persistent-storage flavor: each VM boots from its own DataVolume, named after its machine',
        async () => {
          const { place } = await createCluster({ from: template('persistent-storage') }, 'acme-pv', 'tenants-pv');
          await expectWorkers(place, 3);
          const dataVolumes = await getJSON<{ items: { metadata: { name: string }; status?: { phase?: string } }[] }>(kubeconfig, ['datavolumes.cdi.kubevirt.io', '-n', place.namespace]);
          const vms = await kubectl(kubeconfig, ['get', 'virtualmachines.kubevirt.io', '-n', place.namespace, '-l', 'cluster.x-k8s.io/cluster-name=acme-pv', '-o', 'jsonpath={.items[*].metadata.name}']);
          expect(dataVolumes.items.map((d) => d.metadata.name).sort()).to.deep.equal(vms.trim().split(' ').map((vm) => `${vm}-acme-pv-boot-volume`).sort());
          for (const dv of dataVolumes.items) expect(dv.status?.phase, dv.metadata.name).to.equal('Succeeded');
          // Scaling is the kubeadm flavor's path; that each Machine's DataVolume goes with its VM, the leftover check
          // of the deletion proves.
          await deleteAndExpectNothingLeft(place);
        },
      ],
      [
        'kubeadm flavor (CAPK\'s default): workers join as VMs, scale to 5 and to 1, and the deleted cluster leaves nothing',
        async () => {
          const { place } = await createCluster({ from: template('kubeadm') }, 'acme', 'tenants-default');
          await expectWorkers(place, 3);
          const service = await controlPlaneService(place);
          expect(service.spec.type).to.equal('ClusterIP');
          expect(await endpointOf(place)).to.deep.equal({ host: service.spec.clusterIP, port: 6443 });
          await scaleAndDelete(place);
        },
      ],
      [
        'lb flavor: the API endpoint is the control-plane LoadBalancer\'s ingress address',
        async () => {
          const { place } = await createCluster({ from: template('lb') }, 'acme-lb', 'tenants-lb');
          await expectWorkers(place, 3);
          const service = await waitFor(
            async () => {
              const s = await controlPlaneService(place);
              return s.status?.loadBalancer?.ingress?.[0]?.ip ? s : undefined;
            },
            { timeoutMs: 60_000, what: 'the control-plane LoadBalancer Service to get an ingress IP' },
          );
          expect(service.spec.type).to.equal('LoadBalancer');
          expect(await endpointOf(place)).to.deep.equal({ host: service.status?.loadBalancer?.ingress?.[0]?.ip, port: 6443 });
          // Scaling is the kubeadm flavor's path exactly (same templates but the endpoint): proven there, not again.
          await deleteAndExpectNothingLeft(place);
        },
      ],
      [
        'topology flavor: a Cluster of the ClusterClass (KubevirtClusterTemplate, KubevirtMachineTemplate) is provisioned from the class',
        async () => {
          const { place, generated } = await createCluster({ flavor: 'topology' }, 'acme-cc', 'tenants-cc');
          expect(generated, 'clusterctl adds the ClusterClass the Cluster refers to').to.match(/kind: ClusterClass\n/);
          const machineDeployment = await waitFor(
            async () => (await kubectl(kubeconfig, ['get', 'machinedeployments.cluster.x-k8s.io', '-n', place.namespace, '-l', 'topology.cluster.x-k8s.io/deployment-name=md-0', '-o', 'jsonpath={.items[0].metadata.name}'])).trim() || undefined,
            { timeoutMs: 2 * 60_000, what: 'the topology controller to create MachineDeployment md-0' },
          );
          await expectWorkers(place, 3, machineDeployment);
          // The infrastructure objects were stamped from the class's templates.
          interface Stamped {
            metadata: { name: string; annotations?: Record<string, string> };
          }
          const ofCluster = ['-n', place.namespace, '-l', 'cluster.x-k8s.io/cluster-name=acme-cc'];
          const kubevirtCluster = (await getJSON<{ items: Stamped[] }>(kubeconfig, ['kubevirtclusters.infrastructure.cluster.x-k8s.io', ...ofCluster])).items[0];
          expect(kubevirtCluster?.metadata.annotations?.['cluster.x-k8s.io/cloned-from-name']).to.equal('kubevirt-quick-start');
          const machineTemplates = (await getJSON<{ items: Stamped[] }>(kubeconfig, ['kubevirtmachinetemplates.infrastructure.cluster.x-k8s.io', ...ofCluster])).items;
          expect(machineTemplates.map((t) => t.metadata.annotations?.['cluster.x-k8s.io/cloned-from-name']).sort()).to.deep.equal([
            'kubevirt-quick-start-control-plane',
            'kubevirt-quick-start-default-worker',
          ]);
          await deleteAndExpectNothingLeft(place);
        },
      ],
    ];
    // The flavors are independent tenants (each its own namespace and cluster name) of the one management
    // cluster, so they are provisioned side by side, as a management cluster serves its tenants: the before hook
    // starts the flavors' runs and each test awaits its own. One after the other they took about 550 s of CI (ci6),
    // much of it waiting (a control plane's 35 s did not grow with the machine's load). Not all five at once: five
    // tenant control planes on 2 cores starved the management apiserver until Cluster API's managers lost their
    // leases and restarted.
    const FLAVORS_AT_ONCE = 3;
    const runs = new Map<string, Promise<undefined>>();
    before(async function () {
      this.timeout(2 * 60_000);
      if (!cluster) throw new Error('the management cluster did not start (see the before hook)');
      simulators.push(await startKubevirtSimulator({ kubeconfig }));
      const queue = flavors.map(([title, run]) => ({ title, run, ...Promise.withResolvers<undefined>() }));
      for (const f of queue) {
        // Its test reports a failure; until the test awaits it, the rejection is not an unhandled one.
        f.promise.catch(() => undefined);
        runs.set(f.title, f.promise);
      }
      const slot = async () => {
        for (let f = queue.shift(); f; f = queue.shift()) {
          const { title } = f;
          const started = Date.now();
          await f.run().then(() => {
            console.log(`      ${title.slice(0, title.indexOf(':'))}: done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
            f.resolve(undefined);
          }, f.reject);
        }
      };
      for (let i = 0; i < FLAVORS_AT_ONCE; i++) void slot();
    });
    after(async function () {
      this.timeout(20 * 60_000);
      // A failed or timed-out test's run may still be going: stop nothing under it (every wait in it has a deadline).
      await Promise.allSettled(runs.values());
      for (const s of simulators) await s.stop();
      await infraCluster?.stop();
    });
    for (const [title] of flavors) {
      it(title, async function () {
        this.timeout(30 * 60_000);
        await runs.get(title);
      });
    }
  });
});
