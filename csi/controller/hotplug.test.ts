import { expect } from 'chai';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, type Volume, type VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { holds, plugOf, type Plug } from './hotplug.js';

describe('csi/controller/hotplug', () => {
  const dv = (name: string, source: string, hotpluggable = true): Volume => ({ name, dataVolume: { name: source, hotpluggable } });
  const claim = (name: string, claimName: string): Volume => ({ name, persistentVolumeClaim: { claimName, hotpluggable: true } });

  const plugCases: { name: string; volumes: Volume[] | undefined; want: Plug }[] = [
    { name: 'no volumes at all', volumes: undefined, want: 'absent' },
    { name: 'only volumes of other names and sources', volumes: [dv('root', 'root-dv', false), claim('data', 'data')], want: 'absent' },
    { name: 'the DataVolume hot-plugged under its name', volumes: [dv('root', 'root-dv', false), dv('pvc-1', 'pvc-1')], want: 'ours' },
    { name: "the DataVolume's claim hot-plugged under its name", volumes: [claim('pvc-1', 'pvc-1')], want: 'ours' },
    { name: 'a volume of that name from another DataVolume', volumes: [dv('pvc-1', 'their-dv')], want: 'name-taken' },
    { name: 'a volume of that name from another claim', volumes: [claim('pvc-1', 'claim-pvc-1')], want: 'name-taken' },
    { name: 'the DataVolume under its name but not hot-pluggable (cannot be unplugged)', volumes: [dv('pvc-1', 'pvc-1', false)], want: 'name-taken' },
    { name: 'a volume of that name without a DataVolume or claim', volumes: [{ name: 'pvc-1', containerDisk: { image: 'x' } }], want: 'name-taken' },
    { name: 'the DataVolume under another volume name', volumes: [dv('data', 'pvc-1')], want: 'under-another-name' },
  ];
  for (const tc of plugCases) it(`plugOf: ${tc.want} for ${tc.name}`, () => expect(plugOf(tc.volumes, 'pvc-1')).to.equal(tc.want));

  const vmi = (volumes: Volume[], statuses: string[]): VirtualMachineInstance =>
({ ...VIRTUAL_MACHINE_INSTANCE_TYPE, metadata: { name: 'vm' }, spec: { domain: { devices: {} }, volumes }, status: { volumeStatus: statuses.map((name) => ({ name, target: 'sda', phase: 'Ready' })) } });
  const holdCases: { name: string; vmi: VirtualMachineInstance; tenantsOwn: boolean; want: boolean }[] = [
    { name: "the tenant's VMI with the volume plugged", vmi: vmi([dv('pvc-1', 'pvc-1')], ['pvc-1']), tenantsOwn: true, want: true },
    { name: "the tenant's VMI with only the status left (unplug under way)", vmi: vmi([], ['pvc-1']), tenantsOwn: true, want: true },
    { name: "the tenant's VMI with a status of that name from another source", vmi: vmi([claim('pvc-1', 'other')], ['pvc-1']), tenantsOwn: true, want: false },
    { name: "another Cluster's VMI with a volume of that name from its own DataVolume", vmi: vmi([dv('pvc-1', 'their-dv')], ['pvc-1']), tenantsOwn: false, want: false },
    { name: "another Cluster's VMI with only a status of that name", vmi: vmi([], ['pvc-1']), tenantsOwn: false, want: false },
    { name: "another Cluster's VMI holding the DataVolume under another name", vmi: vmi([dv('stolen', 'pvc-1')], ['stolen']), tenantsOwn: false, want: true },
    { name: "another Cluster's VMI holding the DataVolume under its name", vmi: vmi([dv('pvc-1', 'pvc-1')], []), tenantsOwn: false, want: true },
    { name: 'a VMI without the volume', vmi: vmi([dv('root', 'root-dv', false)], ['root']), tenantsOwn: true, want: false },
  ];
  for (const tc of holdCases) it(`holds: ${String(tc.want)} for ${tc.name}`, () => expect(holds(tc.vmi, 'pvc-1', tc.tenantsOwn)).to.equal(tc.want));
});
