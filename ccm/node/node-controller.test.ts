import { expect } from 'chai';
import { NODE_TYPE, type Node, type Taint } from '../../lib/apis/core.js';
import type { VirtualMachine, VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { CcmEnv, CLUSTER, INFRA_NS } from '../reconcile-env.testdata.js';
import { NodeReconciler } from './node-controller.js';

const UNINITIALIZED = { key: 'node.cloudprovider.kubernetes.io/uninitialized', value: 'true', effect: 'NoSchedule' as const };
const NOT_READY = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' as const };

function tenantNode(name: string, taints: Taint[] = [UNINITIALIZED], providerID?: string): Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name } },
    spec: { taints, ...(providerID ? { providerID } : {}) },
    status: { addresses: [{ type: 'InternalIP', address: '10.244.1.5' }, { type: 'Hostname', address: name }] },
  };
}

// As Cluster API's KubevirtMachine makes them: the cluster name on the VM template, hence on the VMI.
const vm = (name: string, cluster = CLUSTER): VirtualMachine => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, namespace: INFRA_NS },
  spec: { template: { metadata: { labels: { 'cluster.x-k8s.io/cluster-name': cluster } } } },
});

function vmi(name: string, phase: 'Running' | 'Succeeded' = 'Running', ips = ['10.244.1.5', 'fd00::5'], cluster = CLUSTER): VirtualMachineInstance {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace: INFRA_NS, labels: { 'cluster.x-k8s.io/cluster-name': cluster }, annotations: { 'kubevirt.io/instancetype-name': 'u1.small' } },
    spec: { domain: { devices: {} } },
    status: { phase, nodeName: 'infra-b', interfaces: [{ name: 'default', ipAddress: ips[0], ipAddresses: ips }] },
  };
}

describe('cloud-node-controller', () => {
  let env: CcmEnv;
  let reconciler: NodeReconciler;
  const pass = async (name: string) => {
    const result = await env.pass(reconciler, NODE_TYPE, { name }, false);
    if (result.error) throw result.error;
    return result;
  };

  beforeEach(() => {
    env = new CcmEnv();
    reconciler = new NodeReconciler({ infra: env.infra, namespace: INFRA_NS, clusterName: CLUSTER, config: env.config.instancesV2 });
    env.infraApi.seed({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'infra-b', labels: { 'topology.kubernetes.io/zone': 'zone-b', 'topology.kubernetes.io/region': 'local' } } });
  });

  it('initialises a Node: providerID, addresses, zone/region/instance-type labels, uninitialized taint removed', async () => {
    env.infraApi.seed(vm('vm-1'));
    env.infraApi.seed(vmi('vm-1'));
    env.tenantApi.seed(tenantNode('vm-1', [UNINITIALIZED, NOT_READY]));
    const { stored, tenantWrites } = await pass('vm-1');
    expect(stored?.spec?.providerID).to.equal('kubevirt://vm-1');
    expect(stored?.spec?.taints).to.deep.equal([NOT_READY]);
    expect(stored?.metadata.labels).to.include({ 'topology.kubernetes.io/zone': 'zone-b', 'topology.kubernetes.io/region': 'local', 'node.kubernetes.io/instance-type': 'u1.small' });
    expect(stored?.status?.addresses).to.deep.equal([
      { type: 'InternalIP', address: '10.244.1.5' },
      { type: 'InternalIP', address: 'fd00::5' },
      { type: 'Hostname', address: 'vm-1' },
    ]);
    expect(tenantWrites.map((w) => w.path)).to.deep.equal(['/api/v1/nodes/vm-1/status', '/api/v1/nodes/vm-1']);
    const steady = await pass('vm-1');
    expect(steady.tenantWrites, 'steady state').to.have.length(0);
  });

  it('keeps a Node uninitialized, with a Warning, while no VMI matches it', async () => {
    env.tenantApi.seed(tenantNode('vm-x'));
    const { stored, tenantWrites, events } = await pass('vm-x');
    expect(stored?.spec?.taints).to.deep.equal([UNINITIALIZED]);
    expect(tenantWrites).to.have.length(0);
    expect(events.map((e) => `${e.type}/${e.reason}`)).to.deep.equal(['Warning/InstanceNotFound']);
  });

  it('taints a Node whose VM is shut down, and lifts the taint when it runs again', async () => {
    env.infraApi.seed(vm('vm-1'));
    env.infraApi.seed(vmi('vm-1', 'Succeeded'));
    env.tenantApi.seed(tenantNode('vm-1', [], 'kubevirt://vm-1'));
    const down = await pass('vm-1');
    expect(down.stored?.spec?.taints).to.deep.equal([{ key: 'node.cloudprovider.kubernetes.io/shutdown', effect: 'NoSchedule' }]);
    env.infraApi.seed(vmi('vm-1', 'Running'));
    const up = await pass('vm-1');
    expect(up.stored?.spec?.taints ?? []).to.deep.equal([]);
  });

  it('deletes a Node whose VM and VMI are gone', async () => {
    env.tenantApi.seed(tenantNode('vm-2', [], 'kubevirt://vm-2'));
    const { stored } = await pass('vm-2');
    expect(stored).to.equal(undefined);
  });

  it('leaves a Node of another provider alone', async () => {
    env.tenantApi.seed(tenantNode('other', [], 'aws:///us-east-1a/i-1'));
    const { stored, tenantWrites } = await pass('other');
    expect(stored).to.not.equal(undefined);
    expect(tenantWrites).to.have.length(0);
  });

  it('follows the VMI addresses after initialisation', async () => {
    env.infraApi.seed(vm('vm-1'));
    env.infraApi.seed(vmi('vm-1', 'Running', ['10.244.9.9']));
    env.tenantApi.seed(tenantNode('vm-1', [], 'kubevirt://vm-1'));
    const { stored } = await pass('vm-1');
    expect(stored?.status?.addresses).to.deep.equal([{ type: 'InternalIP', address: '10.244.9.9' }, { type: 'Hostname', address: 'vm-1' }]);
  });

  it("refuses a Node whose name or instance-id label names another cluster's VM: no identity taken, no taint, no deletion", async () => {
    env.infraApi.seed(vm('globex-vm', 'globex'));
    env.infraApi.seed(vmi('globex-vm', 'Running', ['10.244.7.7'], 'globex'));
    const spoof = tenantNode('acme-node');
    spoof.metadata.labels = { ...spoof.metadata.labels, 'node.kubernetes.io/instance-id': 'globex-vm' };
    env.tenantApi.seed(spoof);
    env.tenantApi.seed(tenantNode('globex-vm', [], 'kubevirt://globex-vm'));
    const byLabel = await pass('acme-node');
    expect(byLabel.stored?.spec?.providerID).to.equal(undefined);
    expect(byLabel.stored?.spec?.taints).to.deep.equal([UNINITIALIZED]);
    expect(byLabel.tenantWrites).to.have.length(0);
    expect(byLabel.events.map((e) => `${e.type}/${e.reason}`)).to.deep.equal(['Warning/RefusedInstance']);
    expect((await pass('acme-node')).events, 'reported once').to.have.length(0);

    // Stopped, then deleted: the other cluster's VM neither taints nor deletes a Node named after it.
    env.infraApi.seed(vmi('globex-vm', 'Succeeded', ['10.244.7.7'], 'globex'));
    const stopped = await pass('globex-vm');
    expect(stopped.stored?.spec?.taints ?? []).to.deep.equal([]);
    expect(stopped.events.map((e) => e.reason)).to.deep.equal(['RefusedInstance']);
  });
});
