import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { toolArtifact } from '../../../localcloud/binaries.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { parseManifests } from '../../../localcloud/manifests.js';
import { rejection } from '../../../lib/testing/rejection.js';
import { sharedPlane, type Plane } from '../../../localcloud/plane.js';

function clusterAPICRDs(): string {
  const dir = toolArtifact('cluster-api', 'CLUSTER_API_VERSION', 'manifests', 'crds');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => readFileSync(join(dir, f), 'utf8'))
    .join('\n---\n');
}

const kubevirtCRDs = () => readFileSync(toolArtifact('kubevirt-crds', 'KUBEVIRT_VERSION', 'crds.yaml'), 'utf8');
const cdiCRDs = () => readFileSync(toolArtifact('cdi-crds', 'CDI_VERSION', 'crds.yaml'), 'utf8');

const virtualMachine = (name: string, domain: object) => ({
  apiVersion: 'kubevirt.io/v1',
  kind: 'VirtualMachine',
  metadata: { name, namespace: 'default' },
  spec: {
    runStrategy: 'Always',
    template: {
      metadata: { labels: { 'kubevirt.io/vm': name } },
      spec: {
        domain,
        volumes: [{ name: 'root', containerDisk: { image: 'quay.io/containerdisks/ubuntu:24.04' } }],
      },
    },
  },
});

const dataVolume = (name: string, source: object) => ({
  apiVersion: 'cdi.kubevirt.io/v1beta1',
  kind: 'DataVolume',
  metadata: { name, namespace: 'default' },
  spec: { source, storage: { resources: { requests: { storage: '10Gi' } } } },
});

const cluster = (name: string, spec: object) => ({
  apiVersion: 'cluster.x-k8s.io/v1beta2',
  kind: 'Cluster',
  metadata: { name, namespace: 'default' },
  spec,
});

interface Case {
  name: string;
  object: object;
  /** Substrings of the apiserver's rejection; absent when the object must be accepted. */
  rejectedWith?: string[];
}

const cases: Case[] = [
  {
    name: 'accepts a VirtualMachine with a domain, disks and a containerDisk volume',
    object: virtualMachine('vm-ok', {
      cpu: { cores: 2 },
      memory: { guest: '2Gi' },
      devices: { disks: [{ name: 'root', disk: { bus: 'virtio' } }] },
    }),
  },
  {
    name: 'rejects a VirtualMachine whose cpu cores is not an integer',
    object: virtualMachine('vm-bad-cores', { cpu: { cores: 'two' }, devices: {} }),
    rejectedWith: ['spec.template.spec.domain.cpu.cores', 'expected numeric'],
  },
  {
    name: 'rejects a VirtualMachine template without a domain',
    object: { ...virtualMachine('vm-no-domain', {}), spec: { runStrategy: 'Always', template: { spec: { volumes: [] } } } },
    rejectedWith: ['spec.template.spec.domain', 'Required value'],
  },
  {
    name: 'accepts a DataVolume importing over HTTP',
    object: dataVolume('dv-ok', { http: { url: 'https://images.example.com/disk.qcow2' } }),
  },
  {
    name: 'rejects a DataVolume whose HTTP source has no url',
    object: dataVolume('dv-no-url', { http: {} }),
    rejectedWith: ['spec.source.http.url', 'Required value'],
  },
  {
    name: 'accepts a v1beta2 Cluster with a pod network',
    object: cluster('cluster-ok', { clusterNetwork: { pods: { cidrBlocks: ['10.244.0.0/16'] } } }),
  },
  {
    name: 'rejects a v1beta2 Cluster whose paused flag is not a boolean',
    object: cluster('cluster-bad-paused', { paused: 'yes' }),
    rejectedWith: ['spec.paused', 'boolean'],
  },
];

describe('upstream CRDs generated from their Go modules: Cluster API, KubeVirt, CDI', () => {
  let plane: Plane;
  before(async function () {
    this.timeout(30 * 60_000); // the first run may build the tools modules
    plane = await sharedPlane();
    await plane.applyManifests([clusterAPICRDs(), kubevirtCRDs(), cdiCRDs()].join('\n---\n'));
  });

  it('installs every CRD and each is Established and served', async () => {
    const expected = [clusterAPICRDs(), kubevirtCRDs(), cdiCRDs()].flatMap((text) => parseManifests(text).map((o) => o.metadata.name ?? ''));
    const list = JSON.parse(await kubectl(plane.kubeconfigPath, ['get', 'crds', '-o', 'json'])) as {
      items: { metadata: { name: string }; status?: { conditions?: { type: string; status: string }[] } }[];
    };
    const established = list.items
      .filter((crd) => crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True'))
      .map((crd) => crd.metadata.name);
    expect(established).to.include.members(expected);
    for (const name of ['clusters.cluster.x-k8s.io', 'virtualmachines.kubevirt.io', 'datavolumes.cdi.kubevirt.io', 'kubeadmconfigs.bootstrap.cluster.x-k8s.io']) {
      expect(expected, name).to.include(name);
    }
  });

  for (const tc of cases) {
    it(tc.name, async () => {
      const reasons = tc.rejectedWith;
      if (!reasons) {
        await plane.applyManifests([tc.object]);
        return;
      }
      const refused = await rejection(plane.applyManifests([tc.object]), 'an invalid object');
      for (const r of reasons) expect(refused.message, refused.message).to.include(r);
    });
  }
});
