import { expect } from 'chai';
import { managementRangeConflict, type ManagementRanges } from './network.js';

const management: ManagementRanges = { podCIDRs: ['10.244.0.0/16'], serviceCIDRs: ['10.96.0.0/16'] };

describe('management/network managementRangeConflict', () => {
  const accepted = [
    { name: "kvcloud's defaults", np: undefined },
    { name: 'ranges next to the management ones', np: { podCidr: '10.245.0.0/16', serviceCidr: '10.97.0.0/16' } },
    { name: 'an IPv6 range beside IPv4 management ranges', np: { podCidrs: ['10.243.0.0/16', 'fd00:10::/56'], serviceCidrs: ['10.95.0.0/16', 'fd00:20::/112'] } },
  ];
  for (const tc of accepted) {
    it(`accepts ${tc.name}`, () => {
      expect(managementRangeConflict(tc.np, management)).to.equal(undefined);
    });
  }

  const refused = [
    { name: "Kamaji's defaults, the management cluster's own", np: { podCidr: '10.244.0.0/16', serviceCidr: '10.96.0.0/16' }, messages: ['networkProfile.podCidr 10.244.0.0/16 overlaps the management cluster\'s Pod range 10.244.0.0/16', 'networkProfile.serviceCidr 10.96.0.0/16 overlaps the management cluster\'s Service range 10.96.0.0/16'] },
    { name: 'a tenant range inside a management one', np: { podCidrs: ['10.244.8.0/24'] }, messages: ['networkProfile.podCidrs 10.244.8.0/24 overlaps the management cluster\'s Pod range'] },
    { name: 'a tenant range holding a management one', np: { serviceCidr: '10.0.0.0/8' }, messages: ['networkProfile.serviceCidr 10.0.0.0/8 overlaps the management cluster\'s Pod range 10.244.0.0/16', "Service range 10.96.0.0/16"] },
  ];
  for (const tc of refused) {
    it(`refuses ${tc.name}, naming the field, both ranges and the way out`, () => {
      const message = managementRangeConflict(tc.np, management) ?? '';
      for (const m of tc.messages) expect(message).to.include(m);
      expect(message).to.include('choose tenant ranges apart from it');
    });
  }
});
