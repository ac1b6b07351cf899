import { expect } from 'chai';
import { parseEndpoint } from './kamajicontrolplane.js';

describe('controllers/kamajicontrolplane parseEndpoint', () => {
  const cases: { in: string | undefined; want: { host: string; port: number } | undefined }[] = [
    { in: '10.255.0.3:6443', want: { host: '10.255.0.3', port: 6443 } },
    { in: '[fd00::3]:6443', want: { host: 'fd00::3', port: 6443 } },
    { in: 'api.acme.example:443', want: { host: 'api.acme.example', port: 443 } },
    { in: '', want: undefined },
    { in: undefined, want: undefined },
    { in: '10.255.0.3', want: undefined },
  ];
  for (const tc of cases) {
    it(`reads ${JSON.stringify(tc.in)} as the TenantControlPlane reports it`, () => {
      expect(parseEndpoint(tc.in)).to.deep.equal(tc.want);
    });
  }
});
