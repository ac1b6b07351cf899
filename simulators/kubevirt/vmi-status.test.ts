import { expect } from 'chai';
import type { VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import type { LauncherPod } from './launcher-pod.js';
import type { PersistentVolumeClaim } from './storage-api.js';
import { currentPod, interfaceStatuses, liveMigratableCondition, readyCondition } from './vmi-status.js';

const vmi = (spec: Partial<NonNullable<VirtualMachineInstance['spec']>> = {}, status: VirtualMachineInstance['status'] = { phase: 'Running' }): VirtualMachineInstance => ({
  metadata: { name: 'vm', uid: 'uid-1' },
  spec: { domain: { devices: {} }, ...spec },
  status,
});
const pod = (name: string, extra: Partial<LauncherPod['status']> = {}, labels: Record<string, string> = {}): LauncherPod => ({
  metadata: { name, labels },
  spec: { containers: [{ name: 'compute' }], nodeName: 'node-a' },
  status: { phase: 'Running', podIP: '10.244.0.7', conditions: [{ type: 'Ready', status: 'True' }], ...extra },
});

describe('VMI status from its launcher pod', () => {
  it('follows the source pod during a migration and the target once it completed', () => {
    const source = pod('source');
    const target = pod('target', {}, { 'kubevirt.io/migrationJobUID': 'm' });
    expect(currentPod(vmi(), [target, source])?.metadata.name).to.equal('source');
    expect(currentPod(vmi({}, { migrationState: { sourcePod: 'source', targetPod: 'target' } }), [source, target])?.metadata.name).to.equal('source');
    expect(currentPod(vmi({}, { migrationState: { sourcePod: 'source', targetPod: 'target', completed: true } }), [source, target])?.metadata.name).to.equal('target');
  });

  const ready: { name: string; vmi: VirtualMachineInstance; pod?: LauncherPod; want: [string, string | undefined] }[] = [
    { name: 'no pod', vmi: vmi(), want: ['False', 'PodNotExists'] },
    { name: 'pod terminating', vmi: vmi(), pod: { ...pod('p'), metadata: { name: 'p', deletionTimestamp: 'now' } }, want: ['False', 'PodTerminating'] },
    { name: 'guest not running yet', vmi: vmi({}, { phase: 'Scheduling' }), pod: pod('p'), want: ['False', 'GuestNotRunning'] },
    { name: 'pod without Ready', vmi: vmi(), pod: pod('p', { conditions: [] }), want: ['False', 'PodConditionMissing'] },
    { name: 'running and ready', vmi: vmi(), pod: pod('p'), want: ['True', undefined] },
  ];
  for (const tc of ready) {
    it(`Ready: ${tc.name}`, () => {
      const c = readyCondition(tc.vmi, tc.pod);
      expect([c.status, c.reason]).to.deep.equal(tc.want);
    });
  }

  it('reports the pod address (and the IPv6 one) on pod-network interfaces only', () => {
    const spec = {
      domain: { devices: { interfaces: [{ name: 'default', masquerade: {} }, { name: 'storage', bridge: {} }] } },
      networks: [{ name: 'default', pod: {} }, { name: 'storage', multus: { networkName: 'storage-net' } }],
    };
    const [primary, secondary] = interfaceStatuses(vmi(spec), pod('p'), 'fd10::5');
    expect(primary).to.deep.include({ name: 'default', interfaceName: 'eth0', ipAddress: '10.244.0.7', ipAddresses: ['10.244.0.7', 'fd10::5'], podInterfaceName: 'eth0' });
    expect(secondary).to.deep.include({ name: 'storage', interfaceName: 'eth1' });
    expect(secondary).to.not.have.property('ipAddress');
    expect(primary?.mac).to.not.equal(secondary?.mac);
  });

  const claim = (modes: string[]): PersistentVolumeClaim => ({ metadata: { name: 'root' }, spec: { accessModes: modes }, status: { phase: 'Bound', accessModes: modes } });
  const migratable: { name: string; vmi: VirtualMachineInstance; claims?: [string, PersistentVolumeClaim][]; want: [string, string | undefined] }[] = [
    { name: 'masquerade and a container disk', vmi: vmi({ volumes: [{ name: 'root', containerDisk: { image: 'i' } }] }), want: ['True', undefined] },
    { name: 'a shared (RWX) disk', vmi: vmi({ volumes: [{ name: 'root', dataVolume: { name: 'root' } }] }), claims: [['root', claim(['ReadWriteMany'])]], want: ['True', undefined] },
    { name: 'a RWO disk', vmi: vmi({ volumes: [{ name: 'root', dataVolume: { name: 'root' } }] }), claims: [['root', claim(['ReadWriteOnce'])]], want: ['False', 'DisksNotLiveMigratable'] },
    { name: 'a bridge on the pod network', vmi: vmi({ domain: { devices: { interfaces: [{ name: 'default', bridge: {} }] } } }), want: ['False', 'InterfaceNotLiveMigratable'] },
    { name: 'a GPU', vmi: vmi({ domain: { devices: { gpus: [{ name: 'g', deviceName: 'nvidia.com/A100' }] } } }), want: ['False', 'HostDeviceNotLiveMigratable'] },
  ];
  for (const tc of migratable) {
    it(`LiveMigratable with ${tc.name}`, () => {
      const c = liveMigratableCondition(tc.vmi, new Map(tc.claims ?? []));
      expect([c.status, c.reason]).to.deep.equal(tc.want);
    });
  }
});
