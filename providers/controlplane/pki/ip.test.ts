import { expect } from 'chai';
import { firstAddress } from './ip.js';

describe('controlplane/pki ip', () => {
  const firsts: [string, string][] = [
    ['10.96.0.0/16', '10.96.0.1'],
    ['10.96.5.7/16', '10.96.0.1'],
    ['172.16.0.0/12', '172.16.0.1'],
    ['fd00::/120', 'fd00::1'],
    ['2001:db8:abcd::/64', '2001:db8:abcd::1'],
  ];
  for (const [cidr, want] of firsts) {
    it(`takes ${want} as the kubernetes Service IP of ${cidr}`, () => expect(firstAddress(cidr)).to.equal(want));
  }

  it('refuses a value that is no CIDR', () => expect(() => firstAddress('10.0.0.1')).to.throw(/not a CIDR/));
});
