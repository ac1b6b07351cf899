import { expect } from 'chai';
import { IPv4Range } from './ipv4-range.js';
import { LoadBalancerAllocator } from './loadbalancer-allocator.js';

const pool = (cidr = '10.255.255.0/29') => new LoadBalancerAllocator(IPv4Range.parse(cidr));

describe('service-proxy/loadbalancer-allocator', () => {
  it('hands out the lowest free IP and keeps giving a Service the one it holds', () => {
    const a = pool();
    expect(a.allocate('ns/a')).to.deep.equal({ ok: true, ip: '10.255.255.1' });
    expect(a.allocate('ns/b')).to.deep.equal({ ok: true, ip: '10.255.255.2' });
    expect(a.allocate('ns/a')).to.deep.equal({ ok: true, ip: '10.255.255.1' });
  });

  it('reuses a released IP for the next Service', () => {
    const a = pool();
    a.allocate('ns/a');
    a.allocate('ns/b');
    expect(a.release('ns/a')).to.equal('10.255.255.1');
    expect(a.release('ns/a')).to.be.undefined;
    expect(a.allocate('ns/c')).to.deep.equal({ ok: true, ip: '10.255.255.1' });
  });

  it('honours a requested IP, moving a Service off the one it held', () => {
    const a = pool();
    a.allocate('ns/a');
    expect(a.allocate('ns/a', '10.255.255.5')).to.deep.equal({ ok: true, ip: '10.255.255.5', released: '10.255.255.1' });
    expect(a.ipOf('ns/a')).to.equal('10.255.255.5');
  });

  it('refuses a requested IP another Service holds, naming the holder, and frees what the asker held', () => {
    const a = pool();
    a.allocate('ns/a', '10.255.255.3');
    a.allocate('ns/b');
    expect(a.allocate('ns/b', '10.255.255.3')).to.deep.equal({
      ok: false,
      failure: { reason: 'InUse', ip: '10.255.255.3', holder: 'ns/a' },
      released: '10.255.255.1',
    });
    expect(a.ipOf('ns/b')).to.be.undefined;
    expect(a.ipOf('ns/a')).to.equal('10.255.255.3');
  });

  it('refuses a requested IP outside the pool', () => {
    expect(pool().allocate('ns/a', '192.168.1.1')).to.deep.equal({ ok: false, failure: { reason: 'NotInPool', ip: '192.168.1.1' } });
  });

  it('reports an exhausted pool and succeeds again once an IP is freed', () => {
    const a = pool('10.255.255.0/30'); // two usable addresses
    a.allocate('ns/a');
    a.allocate('ns/b');
    expect(a.allocate('ns/c')).to.deep.equal({ ok: false, failure: { reason: 'PoolExhausted' } });
    a.release('ns/a');
    expect(a.allocate('ns/c')).to.deep.equal({ ok: true, ip: '10.255.255.1' });
  });

  it('adopts IPs Services already show, first come first served, so a restart changes no address', () => {
    const a = pool();
    expect(a.adopt('ns/old', '10.255.255.4')).to.be.true;
    expect(a.adopt('ns/old', '10.255.255.4')).to.be.true;
    expect(a.adopt('ns/young', '10.255.255.4')).to.be.false;
    expect(a.adopt('ns/old', '10.255.255.5')).to.be.false;
    expect(a.adopt('ns/outside', '10.0.0.1')).to.be.false;
    expect(a.allocate('ns/old')).to.deep.equal({ ok: true, ip: '10.255.255.4' });
    expect(a.allocate('ns/young')).to.deep.equal({ ok: true, ip: '10.255.255.1' });
    expect(a.allocatedCount).to.equal(2);
  });
});
