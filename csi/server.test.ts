import { expect } from 'chai';
import { parseEndpoint } from './server.js';

describe('csi/server', () => {
  const cases = [
    { endpoint: 'unix:///csi/csi.sock', want: { kind: 'unix', path: '/csi/csi.sock' } },
    { endpoint: 'unix:/csi/csi.sock', want: { kind: 'unix', path: '/csi/csi.sock' } },
    { endpoint: '/var/lib/kubelet/plugins/csi.kubevirt.io/csi.sock', want: { kind: 'unix', path: '/var/lib/kubelet/plugins/csi.kubevirt.io/csi.sock' } },
    { endpoint: 'tcp://127.0.0.1:0', want: { kind: 'tcp', address: '127.0.0.1:0' } },
  ];
  for (const tc of cases) it(`reads the endpoint ${tc.endpoint}`, () => expect(parseEndpoint(tc.endpoint)).to.deep.equal(tc.want));

  it('refuses a relative socket path', () => {
    expect(() => parseEndpoint('unix:csi.sock')).to.throw(/want unix:\/\/\/absolute/);
  });
});
