import { expect } from 'chai';
import type { VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { AmbiguousIdError } from '../cri/objects.js';
import { findVm, vmEntry } from './vm-sandboxes.js';

function vmi(name: string, phase: string | undefined, extra: Partial<VirtualMachineInstance['metadata']> = {}): VirtualMachineInstance {
  return {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name, namespace: 'tenants', uid: `uid-${name}`, creationTimestamp: '2026-12-07T00:00:01Z', ...extra },
    spec: { domain: { devices: {} }, volumes: [{ name: 'root', containerDisk: { image: 'quay.io/containerdisks/fedora:40' } }] },
    ...(phase
      ? {
          status: {
            phase: phase as 'Running',
            reason: phase === 'Failed' ? 'crashed' : undefined,
            interfaces: [{ name: 'default', ipAddress: '10.244.1.7' }],
            phaseTransitionTimestamps: [
              { phase: 'Running' as const, phaseTransitionTimestamp: '2026-12-07T00:00:05Z' },
              ...(phase === 'Failed' ? [{ phase: 'Failed' as const, phaseTransitionTimestamp: '2026-12-07T00:01:00Z' }] : []),
            ],
          },
        }
      : {}),
  };
}

const ownedByVM = {
  labels: { 'cluster.x-k8s.io/cluster-name': 'acme', 'kubevirt.io/vm': 'w1' },
  ownerReferences: [{ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', name: 'w1', uid: 'vm-uid-w1', controller: true }],
};

describe('streaming/operator/vm-sandboxes', () => {
  it('maps a running VMI to a ready sandbox with its console container running, named as the kubelet names pods', () => {
    const entry = vmEntry(vmi('w1', 'Running', ownedByVM));
    expect(entry.sandbox).to.deep.include({ metadata: { name: 'w1', uid: 'uid-w1', namespace: 'tenants', attempt: 0 }, state: 'SANDBOX_READY', created_at: '1796601601000000000' });
    expect(entry.sandbox.id).to.match(/^[0-9a-f]{64}$/);
    expect(entry.sandbox.labels).to.include({ 'kubevirt.io/vm': 'w1', 'io.kubernetes.pod.name': 'w1', 'io.kubernetes.pod.namespace': 'tenants' });
    expect(entry.container).to.deep.include({ pod_sandbox_id: entry.sandbox.id, metadata: { name: 'console', attempt: 0 }, state: 'CONTAINER_RUNNING', image: { image: 'quay.io/containerdisks/fedora:40' } });
    expect(entry.container.labels).to.include({ 'io.kubernetes.container.name': 'console', 'io.kubernetes.pod.name': 'w1' });
    expect(entry.status).to.deep.include({ id: entry.container.id, started_at: '1796601605000000000', finished_at: '0', exit_code: 0 });
    expect(entry.ip).to.equal('10.244.1.7');
  });

  it('gives a new incarnation of the VM new ids, and the same ids on every call', () => {
    const first = vmEntry(vmi('w1', 'Running'));
    expect(vmEntry(vmi('w1', 'Running')).sandbox.id).to.equal(first.sandbox.id);
    expect(vmEntry(vmi('w1', 'Running', { uid: 'uid-w1-again' })).sandbox.id).to.not.equal(first.sandbox.id);
    expect(first.container.id).to.not.equal(first.sandbox.id);
  });

  const states: { phase: string | undefined; sandbox: string; container: string; exit: number }[] = [
    { phase: undefined, sandbox: 'SANDBOX_NOTREADY', container: 'CONTAINER_CREATED', exit: 0 },
    { phase: 'Scheduling', sandbox: 'SANDBOX_NOTREADY', container: 'CONTAINER_CREATED', exit: 0 },
    { phase: 'Succeeded', sandbox: 'SANDBOX_NOTREADY', container: 'CONTAINER_EXITED', exit: 0 },
    { phase: 'Failed', sandbox: 'SANDBOX_NOTREADY', container: 'CONTAINER_EXITED', exit: 1 },
    { phase: 'Unknown', sandbox: 'SANDBOX_NOTREADY', container: 'CONTAINER_UNKNOWN', exit: 0 },
  ];
  for (const tc of states) {
    it(`maps phase ${tc.phase ?? '(none)'} to ${tc.sandbox} and a ${tc.container} console`, () => {
      const entry = vmEntry(vmi('w1', tc.phase));
      expect([entry.sandbox.state, entry.container.state, entry.status.exit_code]).to.deep.equal([tc.sandbox, tc.container, tc.exit]);
    });
  }

  it('records a failed VM’s end and reason on the console container', () => {
    expect(vmEntry(vmi('w1', 'Failed')).status).to.deep.include({ finished_at: '1796601660000000000', reason: 'Failed', message: 'crashed' });
  });

  it('audits sessions on the VirtualMachine that owns the VMI, or on the VMI itself when none does', () => {
    expect(vmEntry(vmi('w1', 'Running', ownedByVM)).target.subject).to.deep.equal({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachine', metadata: { name: 'w1', namespace: 'tenants', uid: 'vm-uid-w1' } });
    expect(vmEntry(vmi('bare', 'Running')).target.subject).to.deep.equal({ apiVersion: 'kubevirt.io/v1', kind: 'VirtualMachineInstance', metadata: { name: 'bare', namespace: 'tenants', uid: 'uid-bare' } });
  });

  it("finds the cluster's SSH key Secret by the cluster label, in the KubevirtMachine's namespace when CAPK names one", () => {
    expect(vmEntry(vmi('w1', 'Running', ownedByVM)).target.sshKeys).to.deep.equal({ namespace: 'tenants', name: 'acme-ssh-keys' });
    const elsewhere = vmi('w2', 'Running', { labels: { 'cluster.x-k8s.io/cluster-name': 'acme', 'capk.cluster.x-k8s.io/kubevirt-machine-namespace': 'acme-mgmt' } });
    expect(vmEntry(elsewhere).target.sshKeys).to.deep.equal({ namespace: 'acme-mgmt', name: 'acme-ssh-keys' });
    expect(vmEntry(vmi('bare', 'Running')).target.sshKeys).to.equal(undefined);
  });

  it('finds a VM by <namespace>/<name>, by its sandbox or container id, or by a unique prefix of one', () => {
    const entries = [vmi('w1', 'Running'), vmi('w2', 'Running')].map(vmEntry);
    const [w1] = entries;
    if (!w1) throw new Error('no entry');
    expect(findVm(entries, 'tenants/w1', 'sandbox')).to.equal(w1);
    expect(findVm(entries, 'tenants/w1', 'container')).to.equal(w1);
    expect(findVm(entries, 'other/w1', 'sandbox')).to.equal(undefined);
    expect(findVm(entries, w1.sandbox.id.slice(0, 13), 'sandbox')).to.equal(w1);
    expect(findVm(entries, w1.container.id, 'container')).to.equal(w1);
    // A sandbox id does not name a container.
    expect(findVm(entries, w1.sandbox.id, 'container')).to.equal(undefined);
    expect(() => findVm(entries, '', 'sandbox')).to.not.throw();
    const many = Array.from({ length: 40 }, (_, i) => vmEntry(vmi(`vm${String(i)}`, 'Running')));
    const shared = many.find((e) => many.some((o) => o !== e && o.sandbox.id.startsWith(e.sandbox.id.slice(0, 1))))?.sandbox.id.slice(0, 1) ?? '';
    expect(() => findVm(many, shared, 'sandbox')).to.throw(AmbiguousIdError);
  });
});
