import { expect } from 'chai';
import { canonicalIP, firstAddress } from './ip.js';

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

  const canonical: [string, string | undefined][] = [
    ['127.0.0.1', '127.0.0.1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['fd00:0:0:0:0:0:0:10', 'fd00::10'],
    ['::ffff:10.0.0.1', '::ffff:a00:1'],
    ['localhost', undefined],
  ];
  for (const [input, want] of canonical) {
    it(`writes ${input} canonically as ${String(want)}`, () => expect(canonicalIP(input)).to.equal(want));
  }

  it('refuses a value that is no CIDR', () => expect(() => firstAddress('10.0.0.1')).to.throw(/not a CIDR/));
});
