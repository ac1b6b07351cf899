import { expect } from 'chai';
import { stripScheme } from './etcd-client.js';
import { prefixRangeEnd, tenantPrefix } from './etcd-driver.js';

describe('datastore/etcd-driver', () => {
  const cases = [
    { prefix: '/tenants_acme/', want: '/tenants_acme0' },
    { prefix: 'a', want: 'b' },
  ];
  for (const tc of cases) {
    it(`ends the range of prefix "${tc.prefix}" at "${tc.want}", so no sibling prefix is included`, () => {
      expect(prefixRangeEnd(tc.prefix).toString()).to.equal(tc.want);
    });
  }

  it('carries over 0xff bytes and falls back to the end of the keyspace', () => {
    expect([...prefixRangeEnd(Buffer.from([0x61, 0xff]))]).to.deep.equal([0x62]);
    expect([...prefixRangeEnd(Buffer.from([0xff, 0xff]))]).to.deep.equal([0]);
    expect(tenantPrefix('ns_t1')).to.equal('/ns_t1/');
  });

  it('accepts endpoints with or without a scheme', () => {
    expect(stripScheme('https://10.0.0.1:2379/')).to.equal('10.0.0.1:2379');
    expect(stripScheme('etcd-0.etcd:2379')).to.equal('etcd-0.etcd:2379');
  });
});
