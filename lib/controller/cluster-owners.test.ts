import { expect } from 'chai';
import { CLUSTER_TYPE, MACHINE_TYPE, type Cluster, type Machine } from '../apis/cluster-api.js';
import { Client } from '../kube/client.js';
import type { KubeObject } from '../kube/object.js';
import { RestMapper } from '../kube/rest-mapper.js';
import { FakeApiServer } from '../testing/fake-apiserver.js';
import { CLUSTER_NAME_LABEL } from './cluster-api-keys.js';
import { clusterOfMachine, ownerCluster, ownerMachine } from './cluster-owners.js';

function setup(): Client {
  const api = new FakeApiServer()
    .serve({ ...CLUSTER_TYPE, resource: 'clusters', namespaced: true, statusSubresource: true })
    .serve({ ...MACHINE_TYPE, resource: 'machines', namespaced: true, statusSubresource: true });
  api.seed<Cluster>({ ...CLUSTER_TYPE, metadata: { namespace: 'ns', name: 'acme' } });
  api.seed<Machine>({ ...MACHINE_TYPE, metadata: { namespace: 'ns', name: 'acme-md-0' }, spec: { clusterName: 'acme' } });
  return new Client({ transport: api, mapper: new RestMapper(api), fieldManager: 'test' });
}

const owned = (owners: { apiVersion: string; kind: string; name: string }[]): KubeObject => ({
  apiVersion: 'infrastructure.cluster.x-k8s.io/v1alpha1',
  kind: 'KubevirtMachine',
  metadata: { namespace: 'ns', name: 'm', ownerReferences: owners.map((o) => ({ ...o, uid: `${o.name}-uid` })) },
});

describe('lib/controller cluster owners', () => {
  it('finds the owner Cluster at any of its API versions, and nothing before Cluster API claimed the object', async () => {
    const client = setup();
    expect((await ownerCluster(client, owned([{ apiVersion: 'cluster.x-k8s.io/v1beta1', kind: 'Cluster', name: 'acme' }])))?.metadata.name).to.equal('acme');
    expect(await ownerCluster(client, owned([]))).to.equal(undefined);
  });

  it('finds the owner Machine, and that Machine’s Cluster by spec.clusterName or else the cluster-name label', async () => {
    const client = setup();
    const machine = await ownerMachine(client, owned([{ ...MACHINE_TYPE, name: 'acme-md-0' }]));
    if (!machine) throw new Error('the owner Machine was not found');
    expect(machine.metadata.name).to.equal('acme-md-0');
    expect((await clusterOfMachine(client, machine))?.metadata.name).to.equal('acme');
    const labelled: Machine = { ...MACHINE_TYPE, metadata: { namespace: 'ns', name: 'x', labels: { [CLUSTER_NAME_LABEL]: 'acme' } } };
    expect((await clusterOfMachine(client, labelled))?.metadata.name).to.equal('acme');
    expect(await clusterOfMachine(client, { ...MACHINE_TYPE, metadata: { namespace: 'ns', name: 'y' } })).to.equal(undefined);
  });
});
