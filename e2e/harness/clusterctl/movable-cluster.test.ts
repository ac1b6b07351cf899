import { expect } from 'chai';
import { parseAllDocuments } from 'yaml';
import { movableCluster } from './movable-cluster.js';

const GENERATED = [
  'apiVersion: cluster.x-k8s.io/v1beta2\nkind: Cluster\nmetadata: {name: acme}\nspec: {}',
  'apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1\nkind: KubevirtCluster\nmetadata: {name: acme}\nspec: {}',
  'apiVersion: controlplane.cluster.x-k8s.io/v1alpha2\nkind: KamajiControlPlane\nmetadata: {name: acme}\nspec: {network: {serviceType: LoadBalancer, certSANs: [a.example]}}',
  'apiVersion: infrastructure.cluster.x-k8s.io/v1alpha1\nkind: KubevirtMachineTemplate\nmetadata: {name: acme-md-0}\nspec: {template: {spec: {virtualMachineTemplate: {metadata: {namespace: tenants}, spec: {runStrategy: Always}}}}}',
  'apiVersion: bootstrap.cluster.x-k8s.io/v1beta2\nkind: KubeadmConfigTemplate\nmetadata: {name: acme-md-0}\nspec: {}',
  'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: acme-ccm}',
  'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: acme-ccm-cloud-config}',
  'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: acme-csi}',
].join('\n---\n');

const REF = { name: 'external-infra-kubeconfig', namespace: 'capk-system' };
const docs = (yaml: string) => parseAllDocuments(yaml).map((d) => d.toJS() as { kind: string; spec?: Record<string, unknown> });

describe('e2e/harness/clusterctl movableCluster', () => {
  it('keeps only the Cluster API kinds clusterctl moves, dropping the template\'s CCM and CSI objects', () => {
    expect(docs(movableCluster(GENERATED, { infraClusterSecretRef: REF, controlPlaneAddress: '10.255.253.1' })).map((d) => d.kind)).to.deep.equal([
      'Cluster',
      'KubevirtCluster',
      'KamajiControlPlane',
      'KubevirtMachineTemplate',
      'KubeadmConfigTemplate',
    ]);
  });

  it('points the KubevirtCluster at the infra cluster and gives the hosted control plane the front address, keeping its other network fields', () => {
    const out = docs(movableCluster(GENERATED, { infraClusterSecretRef: REF, controlPlaneAddress: '10.255.253.1' }));
    expect(out.find((d) => d.kind === 'KubevirtCluster')?.spec).to.deep.equal({ infraClusterSecretRef: { apiVersion: 'v1', kind: 'Secret', ...REF } });
    expect(out.find((d) => d.kind === 'KamajiControlPlane')?.spec).to.deep.equal({
      network: { serviceType: 'ClusterIP', certSANs: ['a.example'], serviceAddress: '10.255.253.1' },
    });
  });

  it('lets the infra Secret\'s namespace place the VMs where the template pinned them to the Cluster\'s namespace', () => {
    const out = docs(movableCluster(GENERATED, { infraClusterSecretRef: REF, controlPlaneAddress: '10.255.253.1' }));
    expect(out.find((d) => d.kind === 'KubevirtMachineTemplate')?.spec).to.deep.equal({ template: { spec: { virtualMachineTemplate: { metadata: {}, spec: { runStrategy: 'Always' } } } } });
  });

  it('refuses a hosted control plane without a front address: its endpoint would die with the source cluster', () => {
    expect(() => movableCluster(GENERATED, { infraClusterSecretRef: REF })).to.throw(/needs controlPlaneAddress/);
  });
});
