import { expect } from 'chai';
import { Ipam, parseCIDR } from './ipam.js';

describe('pod IPAM', () => {
  it('skips the network address and reserved addresses', () => {
    const ipam = new Ipam('10.244.0.0/16', ['10.244.0.1']);
    expect(ipam.allocate()).to.equal('10.244.0.2');
    expect(ipam.allocate()).to.equal('10.244.0.3');
  });

  it('reuses a released address only after going round the whole range', () => {
    const ipam = new Ipam('10.0.0.0/29');
    const first = ipam.allocate();
    ipam.release(first);
    expect([ipam.allocate(), ipam.allocate()]).to.not.include(first);
  });

  it('never hands out the broadcast address and fails clearly when full', () => {
    const ipam = new Ipam('10.0.0.0/30');
    expect([ipam.allocate(), ipam.allocate()]).to.deep.equal(['10.0.0.1', '10.0.0.2']);
    expect(() => ipam.allocate()).to.throw(/no free address left in 10.0.0.0\/30/);
  });

  it('parses a CIDR to its network base', () => {
    expect(parseCIDR('10.96.3.7/16')).to.deep.include({ prefix: 16, size: 65536 });
    expect(() => parseCIDR('10.0.0.0')).to.throw(/not an IPv4 CIDR/);
  });
});
