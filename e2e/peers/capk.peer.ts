// The real CAPK as an oracle for the KubeVirt simulator and for kvcloud's compatibility: CAPK's own quick-start
// (generated once by clusterctl from CAPK's template) applied to a management cluster running CAPK, from the binary
// and source tree given by path ($CAPK_BIN, $CAPK_SRC), then to one running kvcloud's infrastructure provider. Under
// CAPK the KubeVirt simulator must carry the control plane and the workers to Running exactly as under kvcloud; then
// every difference between what the two providers made (VMs, Secrets, Services, KubevirtMachines, tenant Nodes) is
// listed and must be one of the justified ones (capk-differences.ts). Not part of `make test`: `make test-peers`.
import { cpSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import type { Machine } from '../../lib/apis/cluster-api.js';
import { kubectl } from '../../localcloud/kubectl.js';
import {
  applyManifests,
  getJSON,
  machineVMs,
  tenantNodeStates,
  waitForRunningControlPlane,
  waitForRunningMachines,
  type WorkloadPlace,
} from '../harness/clusterctl/kvcloud-workload.js';
import { capkQuickStart, INFRASTRUCTURE_PEERS, startMachinesCloud, type InfrastructurePeer, type MachinesCloud } from '../harness/peer-machines.js';
import { JUSTIFIED_DIFFERENCES } from './capk-differences.js';
import { differences, observe, runSpecific, type Observable, type Observed } from './observed-objects.js';

const CLUSTER = 'acme';
const NAMESPACE = 'peers';
const WORKERS = 2;
const OUT = join(process.cwd(), 'out', 'peers');
// What a provider makes or changes for a tenant in the namespace of its Cluster, and the tenant Nodes it labels.
const OBSERVED_KINDS = ['virtualmachines.kubevirt.io', 'kubevirtmachines.infrastructure.cluster.x-k8s.io', 'kubevirtclusters.infrastructure.cluster.x-k8s.io', 'secrets', 'services'];

describe('CAPK and kvcloud\'s infrastructure provider on the KubeVirt simulator, from the same user manifests', () => {
  let manifests: string | undefined;
  const observed = new Map<InfrastructurePeer, Observed>();
  mkdirSync(OUT, { recursive: true });

  async function provision(cloud: MachinesCloud): Promise<Observed> {
    const place: WorkloadPlace = { kubeconfig: cloud.kubeconfig, namespace: NAMESPACE, clusterName: CLUSTER, infra: { kubeconfig: cloud.kubeconfig, namespace: NAMESPACE } };
    await kubectl(cloud.kubeconfig, ['create', 'namespace', NAMESPACE]);
    manifests ??= await capkQuickStart(cloud, CLUSTER, NAMESPACE, WORKERS);
    writeFileSync(join(OUT, 'quick-start.yaml'), manifests);
    const started = Date.now();
    await applyManifests(cloud.kubeconfig, manifests);
    const controlPlane = await waitForRunningControlPlane(place, 1, 8 * 60_000);
    const workers = await waitForRunningMachines(place, `${CLUSTER}-md-0`, WORKERS, 8 * 60_000);
    console.log(`      ${cloud.peer} ${cloud.version}: control plane and ${String(WORKERS)} workers Running with nodes after ${((Date.now() - started) / 1000).toFixed(1)} s`);

    // Each Machine's VM is named after its KubevirtMachine and boots its bootstrap data; the Machine and the tenant
    // Node carry the VM's providerID.
    const machines: Machine[] = [...controlPlane, ...workers];
    const nodes = await tenantNodeStates(place);
    for (const { machine, vm, userdata } of await machineVMs(place, machines)) {
      const name = vm.metadata.name ?? '';
      expect(userdata, `VM ${name} userdata`).to.match(/kubeadm (init|join)/);
      expect(machine.spec?.providerID, `Machine ${machine.metadata.name ?? ''}`).to.equal(`kubevirt://${name}`);
      expect(nodes.find((n) => n.name === machine.status?.nodeRef?.name)?.providerID, `tenant Node of ${name}`).to.equal(`kubevirt://${name}`);
    }

    const objects = (await getJSON<{ items: Observable[] }>(cloud.kubeconfig, [OBSERVED_KINDS.join(','), '-n', NAMESPACE])).items;
    const tenantNodes: Observable[] = nodes.map((n) => ({ kind: 'Node (tenant)', metadata: { name: n.name, labels: n.labels }, spec: { providerID: n.providerID } }));
    writeFileSync(join(OUT, `${cloud.peer}-objects.json`), JSON.stringify([...objects, ...tenantNodes], null, 1));
    return observe([...objects, ...tenantNodes], runSpecific(CLUSTER));
  }

  for (const peer of INFRASTRUCTURE_PEERS) {
    it(`${peer}: CAPK's quick start gets its control plane and workers Running with their tenant Nodes`, async function () {
      this.timeout(25 * 60_000);
      rmSync(join(OUT, `${peer}-manager`), { recursive: true, force: true });
      const cloud = await startMachinesCloud(peer);
      try {
        observed.set(peer, await provision(cloud));
      } finally {
        // The manager's logs stay for whoever reads a failure (the cluster's directory goes with it).
        const logs = join(cloud.cluster.dir, 'logs');
        for (const pod of readdirSync(logs).filter((d) => d.startsWith(`${cloud.providerNamespace}_`))) {
          cpSync(join(logs, pod), join(OUT, `${peer}-manager`, pod), { recursive: true });
        }
        await cloud.stop();
      }
    });
  }

  it('every difference between what CAPK and kvcloud made is a justified one', () => {
    const capk = observed.get('capk');
    const kvcloud = observed.get('kvcloud');
    if (!capk || !kvcloud) throw new Error('a provider did not get its Machines Running (see above): nothing to compare');
    const found = differences({ name: 'CAPK', observed: capk }, { name: 'kvcloud', observed: kvcloud });
    writeFileSync(join(OUT, 'capk-differences.txt'), `${found.join('\n')}\n`);
    console.log(found.map((l) => `      ${l}`).join('\n'));
    expect(found.filter((l) => !JUSTIFIED_DIFFERENCES.has(l)), 'differences nobody has justified (capk-differences.ts)').to.deep.equal([]);
    expect([...JUSTIFIED_DIFFERENCES.keys()].filter((l) => !found.includes(l)), 'justified differences that are gone').to.deep.equal([]);
  });
});
