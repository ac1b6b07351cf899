import { expect } from 'chai';
import { parseBindAddress } from './bind-address.js';

describe('lib/observability/bind-address', () => {
  const cases: { input: string; want: ReturnType<typeof parseBindAddress> }[] = [
    { input: ':8080', want: { host: '::', port: 8080 } },
    { input: '127.0.0.1:0', want: { host: '127.0.0.1', port: 0 } },
    { input: '[::1]:9440', want: { host: '::1', port: 9440 } },
    { input: '0', want: undefined },
    { input: '', want: undefined },
  ];
  for (const tc of cases) {
    it(`parses "${tc.input}" as controller-runtime does`, () => {
      expect(parseBindAddress(tc.input)).to.deep.equal(tc.want);
    });
  }
  it('rejects an address without a port', () => {
    expect(() => parseBindAddress('localhost')).to.throw(/host:port/);
  });
});
