import { expect } from 'chai';
import { canonicalIP, cidrContains, cidrSize, formatCIDR, formatIP, ipFamily, nthAddress, parseCIDR, parseIP } from './ip.js';

describe('lib/net/ip', () => {
  const addresses: { text: string; family?: 4 | 6; value?: bigint; canonical?: string }[] = [
    { text: '10.255.255.1', family: 4, value: 0x0affff01n, canonical: '10.255.255.1' },
    { text: '0.0.0.0', family: 4, value: 0n, canonical: '0.0.0.0' },
    { text: '255.255.255.255', family: 4, value: 0xffffffffn, canonical: '255.255.255.255' },
    { text: '::', family: 6, value: 0n, canonical: '::' },
    { text: '0:0:0:0:0:0:0:1', family: 6, value: 1n, canonical: '::1' },
    { text: '2001:DB8:0:0:1:0:0:1', family: 6, canonical: '2001:db8::1:0:0:1' },
    { text: 'fd00:0:0:0:0:0:0:10', family: 6, canonical: 'fd00::10' },
    { text: '1:0:0:2:0:0:0:3', family: 6, canonical: '1:0:0:2::3' },
    { text: '1:2:3:4:5:6:0:8', family: 6, canonical: '1:2:3:4:5:6:0:8' },
    { text: '::ffff:10.0.0.1', family: 6, value: 0xffff0a000001n, canonical: '::ffff:a00:1' },
    { text: 'fe80::1%eth0', family: 6, canonical: 'fe80::1' },
    { text: '256.0.0.1' },
    { text: '10.0.0' },
    { text: '10.0.0.01' },
    { text: '1:2:3:4:5:6:7:8:9' },
    { text: 'localhost' },
    { text: '' },
  ];
  for (const tc of addresses) {
    it(`reads "${tc.text}" as ${tc.canonical ?? 'no address'}`, () => {
      const parsed = parseIP(tc.text);
      expect(parsed?.family).to.equal(tc.family);
      expect(ipFamily(tc.text)).to.equal(tc.family);
      if (tc.value !== undefined) expect(parsed?.value).to.equal(tc.value);
      expect(canonicalIP(tc.text)).to.equal(tc.canonical);
    });
  }

  const cidrs: { text: string; canonical?: string; size?: bigint }[] = [
    { text: '10.96.0.0/16', canonical: '10.96.0.0/16', size: 65536n },
    { text: '10.96.3.7/16', canonical: '10.96.0.0/16', size: 65536n },
    { text: '0.0.0.0/0', canonical: '0.0.0.0/0', size: 2n ** 32n },
    { text: '10.0.0.9/32', canonical: '10.0.0.9/32', size: 1n },
    { text: '2001:db8:abcd::7/64', canonical: '2001:db8:abcd::/64', size: 2n ** 64n },
    { text: 'fd00::/128', canonical: 'fd00::/128', size: 1n },
    { text: '10.0.0.0' },
    { text: '10.0.0.0/33' },
    { text: '10.0.0.0/x' },
    { text: '10.0.0.0/' },
    { text: '10.0.0.0/8/8' },
    { text: 'fd00::/129' },
    { text: 'nope/8' },
  ];
  for (const tc of cidrs) {
    it(`reads CIDR "${tc.text}" as ${tc.canonical ?? 'no CIDR'}`, () => {
      const cidr = parseCIDR(tc.text);
      expect(cidr && formatCIDR(cidr)).to.equal(tc.canonical);
      if (cidr) expect(cidrSize(cidr)).to.equal(tc.size);
    });
  }

  const nth: { cidr: string; n: number; want: string }[] = [
    { cidr: '10.96.0.0/16', n: 1, want: '10.96.0.1' },
    { cidr: '10.96.0.0/16', n: 10, want: '10.96.0.10' },
    { cidr: '10.96.0.0/16', n: 65535, want: '10.96.255.255' },
    { cidr: '172.16.0.0/12', n: 256, want: '172.16.1.0' },
    { cidr: 'fd00::/120', n: 1, want: 'fd00::1' },
    { cidr: '2001:db8:abcd::/64', n: 10, want: '2001:db8:abcd::a' },
  ];
  for (const tc of nth) {
    it(`takes address ${String(tc.n)} of ${tc.cidr} as ${tc.want}`, () => {
      const cidr = parseCIDR(tc.cidr);
      if (!cidr) throw new Error('fixture is no CIDR');
      const got = nthAddress(cidr, tc.n);
      expect(cidrContains(cidr, got)).to.be.true;
      expect(formatIP(got)).to.equal(tc.want);
    });
  }

  it('refuses an offset outside the block', () => {
    const cidr = parseCIDR('10.0.0.0/30');
    if (!cidr) throw new Error('fixture is no CIDR');
    expect(() => nthAddress(cidr, 4)).to.throw(RangeError, /10.0.0.0\/30 has no address at offset 4/);
    expect(() => nthAddress(cidr, -1)).to.throw(RangeError);
  });

  const containment: { cidr: string; ip: string; inside: boolean }[] = [
    { cidr: '10.96.0.0/16', ip: '10.96.255.255', inside: true },
    { cidr: '10.96.0.0/16', ip: '10.97.0.0', inside: false },
    { cidr: '10.96.0.0/16', ip: '10.95.255.255', inside: false },
    { cidr: 'fd00::/64', ip: 'fd00::ffff', inside: true },
    { cidr: 'fd00::/64', ip: 'fd00:0:0:1::', inside: false },
    { cidr: '0.0.0.0/0', ip: '::', inside: false },
  ];
  for (const tc of containment) {
    it(`${tc.inside ? 'counts' : 'does not count'} ${tc.ip} inside ${tc.cidr}`, () => {
      const cidr = parseCIDR(tc.cidr);
      const ip = parseIP(tc.ip);
      if (!cidr || !ip) throw new Error('fixture is no CIDR or address');
      expect(cidrContains(cidr, ip)).to.equal(tc.inside);
    });
  }
});
