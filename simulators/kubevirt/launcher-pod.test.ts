import { expect } from 'chai';
import type { VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { buildLauncherPod, CLOUDINIT_NETWORKDATA_DIR, CLOUDINIT_USERDATA_DIR, launcherPodName, nameSuffix } from './launcher-pod.js';

function vmi(spec: Partial<NonNullable<VirtualMachineInstance['spec']>> = {}, annotations?: Record<string, string>): VirtualMachineInstance {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: 'worker-1', namespace: 'tenants', uid: 'uid-1', labels: { 'cluster.x-k8s.io/role': 'worker' }, ...(annotations ? { annotations } : {}) },
    spec: { domain: { cpu: { cores: 2, sockets: 2 }, memory: { guest: '4Gi' }, devices: {} }, ...spec },
  };
}

const envOf = (pod: ReturnType<typeof buildLauncherPod>) => Object.fromEntries((pod.spec.containers[0]?.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom?.fieldRef?.fieldPath]));
const mountsOf = (pod: ReturnType<typeof buildLauncherPod>) => Object.fromEntries((pod.spec.containers[0]?.volumeMounts ?? []).map((m) => [m.mountPath, m.name]));

describe('virt-launcher pod', () => {
  it('is named virt-launcher-<vmi>-<5 chars> from a seed, so a retried create collides instead of duplicating', () => {
    expect(launcherPodName('worker-1', 'uid-1')).to.equal(`virt-launcher-worker-1-${nameSuffix('uid-1')}`);
    expect(nameSuffix('uid-1')).to.match(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(nameSuffix('uid-1')).to.not.equal(nameSuffix('uid-2'));
    expect(launcherPodName('x'.repeat(80), 'uid-1')).to.have.length(63);
  });

  it('carries upstream labels and the VMI labels, and is controlled by the VMI', () => {
    const pod = buildLauncherPod(vmi(), { image: 'img' });
    expect(pod.metadata.labels).to.deep.equal({
      'cluster.x-k8s.io/role': 'worker',
      'kubevirt.io': 'virt-launcher',
      'kubevirt.io/created-by': 'uid-1',
      'vm.kubevirt.io/name': 'worker-1',
      'kubevirt.io/domain': 'worker-1',
    });
    expect(pod.metadata.annotations?.['kubevirt.io/domain']).to.equal('worker-1');
    expect(pod.metadata.ownerReferences).to.deep.equal([{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', name: 'worker-1', uid: 'uid-1', controller: true, blockOwnerDeletion: true }]);
    expect(pod.spec.restartPolicy).to.equal('Never');
  });

  const cases: { name: string; spec: Partial<NonNullable<VirtualMachineInstance['spec']>>; requests: Record<string, unknown>; limits?: Record<string, unknown> }[] = [
    { name: 'asks for the guest memory and a tenth of a core per vCPU by default', spec: {}, requests: { memory: '4Gi', cpu: '400m' } },
    {
      name: 'takes explicit requests as they are',
      spec: { domain: { resources: { requests: { cpu: '3', memory: '5Gi' } }, memory: { guest: '4Gi' }, devices: {} } },
      requests: { cpu: '3', memory: '5Gi' },
    },
    {
      name: 'turns GPUs into extended resources a node must offer',
      spec: { domain: { devices: { gpus: [{ name: 'g', deviceName: 'nvidia.com/A100' }] } } },
      requests: { cpu: '100m', 'nvidia.com/A100': 1 },
      limits: { 'nvidia.com/A100': 1 },
    },
  ];
  for (const tc of cases) {
    it(`resources: ${tc.name}`, () => {
      const resources = buildLauncherPod(vmi(tc.spec), { image: 'img' }).spec.containers[0]?.resources;
      expect(resources?.requests).to.deep.equal(tc.requests);
      expect(resources?.limits).to.deep.equal(tc.limits);
    });
  }

  it('copies nodeSelector, affinity and tolerations for the scheduler', () => {
    const affinity = { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'topology.kubernetes.io/zone', operator: 'In' as const, values: ['a'] }] }] } } };
    const tolerations = [{ key: 'dedicated', operator: 'Exists' as const }];
    const pod = buildLauncherPod(vmi({ nodeSelector: { disk: 'ssd' }, affinity, tolerations }), { image: 'img' });
    expect(pod.spec.nodeSelector).to.deep.equal({ disk: 'ssd' });
    expect(pod.spec.affinity).to.deep.equal(affinity);
    expect(pod.spec.tolerations).to.deep.equal(tolerations);
  });

  it('keeps a migration target off the source node and labels it with its migration', () => {
    const pod = buildLauncherPod(vmi(), { image: 'img', migration: { uid: 'mig-uid', name: 'mig' } });
    expect(pod.metadata.name).to.equal(launcherPodName('worker-1', 'mig-uid'));
    expect(pod.metadata.labels?.['kubevirt.io/migrationJobUID']).to.equal('mig-uid');
    expect(pod.metadata.annotations?.['kubevirt.io/migrationJobName']).to.equal('mig');
    expect(pod.spec.affinity?.podAntiAffinity).to.deep.equal({
      requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { 'kubevirt.io/created-by': 'uid-1' } }, topologyKey: 'kubernetes.io/hostname' }],
    });
  });

  it('hands the guest its cloud-init Secrets as files and inline data as environment', () => {
    const pod = buildLauncherPod(
      vmi({ volumes: [{ name: 'ci', cloudInitConfigDrive: { secretRef: { name: 'worker-1-userdata' }, networkDataSecretRef: { name: 'worker-1-net' } } }] }),
      { image: 'img' },
    );
    expect(envOf(pod)).to.include({ GUEST_VM_NAMESPACE: 'tenants', GUEST_VM_NAME: 'worker-1', GUEST_NODE_IP: 'status.podIP', GUEST_CLOUDINIT_SOURCE: 'configDrive' });
    expect(mountsOf(pod)).to.include({ [CLOUDINIT_USERDATA_DIR]: 'cloudinit-userdata', [CLOUDINIT_NETWORKDATA_DIR]: 'cloudinit-networkdata', '/etc/kubernetes': 'etc-kubernetes', '/var/lib/etcd': 'var-lib-etcd', '/run/containerd': 'run-containerd' });
    expect(pod.spec.volumes?.find((v) => v.name === 'cloudinit-userdata')?.secret?.secretName).to.equal('worker-1-userdata');

    const inline = buildLauncherPod(vmi({ volumes: [{ name: 'ci', cloudInitNoCloud: { userDataBase64: Buffer.from('#cloud-config\n').toString('base64') } }] }), { image: 'img' });
    expect(envOf(inline)).to.include({ GUEST_CLOUDINIT_SOURCE: 'noCloud', GUEST_USERDATA_INLINE: '#cloud-config\n' });
  });

  it('gives the guest a private directory for its command socket, as virt-launcher has kubevirt-private', () => {
    const pod = buildLauncherPod(vmi(), { image: 'img' });
    expect(mountsOf(pod)).to.include({ '/var/run/kubevirt-private': 'private' });
    expect(pod.spec.volumes?.find((v) => v.name === 'private')?.emptyDir).to.deep.equal({});
  });

  it('passes Ignition data from the VMI or its VM', () => {
    expect(envOf(buildLauncherPod(vmi({}, { 'kubevirt.io/ignitiondata': '{"ignition":{}}' }), { image: 'img' })).GUEST_IGNITION).to.equal('{"ignition":{}}');
    expect(envOf(buildLauncherPod(vmi(), { image: 'img', vmAnnotations: { 'kubevirt.io/ignitiondata': '{}' } })).GUEST_IGNITION).to.equal('{}');
  });
});
