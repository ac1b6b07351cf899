import { expect } from 'chai';
import { Ipv6Pool } from './ipam.js';

describe('IPv6 pool for dual-stack VMIs', () => {
  it('gives each VMI one stable address, formatted as RFC 5952 writes it', () => {
    const pool = new Ipv6Pool('fd10:244::/64');
    expect(pool.addressFor('vmi-a')).to.equal('fd10:244::1');
    expect(pool.addressFor('vmi-b')).to.equal('fd10:244::2');
    expect(pool.addressFor('vmi-a')).to.equal('fd10:244::1');
  });

  it('adopts addresses VMIs already report, so a restarted simulator never hands them out again', () => {
    const pool = new Ipv6Pool('fd10:244::/120');
    pool.adopt('vmi-old', 'fd10:244::1');
    pool.adopt('vmi-outside', '2001:db8::1');
    expect(pool.addressFor('vmi-old')).to.equal('fd10:244::1');
    expect(pool.addressFor('vmi-new')).to.equal('fd10:244::2');
    expect(pool.contains('2001:db8::1')).to.equal(false);
  });

  it('reuses a released address only after the rest of the range, and fails clearly when full', () => {
    const pool = new Ipv6Pool('fd00::/126');
    const first = pool.addressFor('a');
    pool.release('a');
    expect(pool.addressFor('b')).to.not.equal(first);
    pool.addressFor('c');
    pool.addressFor('d');
    expect(() => pool.addressFor('e')).to.throw(/no free address left in fd00::\/126/);
  });

  it('refuses ranges it cannot use', () => {
    expect(() => new Ipv6Pool('fd00::/48')).to.throw(/between \/64 and \/126/);
    expect(() => new Ipv6Pool('fd00:::1/64')).to.throw(/not an IPv6 address/);
  });
});
