import { expect } from 'chai';
import type { VirtualMachineInstance } from '../../../lib/apis/kubevirt.js';
import { migrationName, needsEvacuation } from './evacuation.js';

const vmi = (over: { strategy?: 'External' | 'LiveMigrate'; evacuation?: string; phase?: 'Running' | 'Succeeded'; deleting?: boolean; uid?: string } = {}): VirtualMachineInstance => ({
  metadata: { name: 'm1', namespace: 'ns', uid: over.uid ?? 'u1', ...(over.deleting ? { deletionTimestamp: '2030-01-01T00:00:00Z' } : {}) },
  spec: { domain: { devices: {} }, ...(over.strategy ? { evictionStrategy: over.strategy } : {}) },
  status: { phase: over.phase ?? 'Running', ...(over.evacuation ? { evacuationNodeName: over.evacuation } : {}) },
});

describe('providers/infrastructure/controllers: evacuation', () => {
  const cases: { name: string; vmi: VirtualMachineInstance | undefined; want: boolean }[] = [
    { name: 'External and marked for evacuation', vmi: vmi({ strategy: 'External', evacuation: 'infra-a' }), want: true },
    { name: 'not marked', vmi: vmi({ strategy: 'External' }), want: false },
    { name: 'LiveMigrate: KubeVirt migrates it itself', vmi: vmi({ strategy: 'LiveMigrate', evacuation: 'infra-a' }), want: false },
    { name: 'already being deleted', vmi: vmi({ strategy: 'External', evacuation: 'infra-a', deleting: true }), want: false },
    { name: 'finished', vmi: vmi({ strategy: 'External', evacuation: 'infra-a', phase: 'Succeeded' }), want: false },
    { name: 'no VMI', vmi: undefined, want: false },
  ];
  for (const tc of cases) it(`${tc.want ? 'acts' : 'does not act'} on a VMI ${tc.name}`, () => { expect(needsEvacuation(tc.vmi)).to.equal(tc.want); });

  it('names the migration after the VMI incarnation and its source node, so a retry finds it', () => {
    const a = migrationName(vmi({ strategy: 'External', evacuation: 'infra-a' }));
    expect(a).to.match(/^m1-evacuation-[0-9a-f]{8}$/);
    expect(migrationName(vmi({ strategy: 'External', evacuation: 'infra-a' }))).to.equal(a);
    expect(migrationName(vmi({ strategy: 'External', evacuation: 'infra-b' }))).to.not.equal(a);
    expect(migrationName(vmi({ strategy: 'External', evacuation: 'infra-a', uid: 'u2' }))).to.not.equal(a);
  });
});
