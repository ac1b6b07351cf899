import { expect } from 'chai';
import { certificatePem, createCertificateAuthority, issueCertificate } from '../../../lib/pki/x509.js';
import { parseExpirationDeadline } from './options.js';
import { renewalDue, rotationAnnotations, rotationRequests, splitCertificates } from './rotation.js';

const DAY = 86_400_000;
const ROTATE = 'certs.kamaji.clastix.io/rotate';
const FOR = 'kvcloud.io/rotated-for';

describe('controlplane/pki rotation requests', () => {
  const suffixes = ['api-server-certificate', 'admin-kubeconfig'];
  const cases: { name: string; stored: Record<string, Record<string, string> | undefined>; tcp: string | undefined; want: string[] }[] = [
    { name: 'nothing without any annotation', stored: {}, tcp: undefined, want: [] },
    { name: 'a Secret annotated with an empty value (Kamaji)', stored: { 'admin-kubeconfig': { [ROTATE]: '' } }, tcp: undefined, want: ['admin-kubeconfig'] },
    { name: 'not a Secret whose annotation holds the time of its last rotation', stored: { 'admin-kubeconfig': { [ROTATE]: '2026-11-27T14:00:00Z' } }, tcp: undefined, want: [] },
    { name: 'every leaf for a new value on the TenantControlPlane', stored: {}, tcp: '1', want: suffixes },
    { name: 'only leaves not yet issued under that value', stored: { 'api-server-certificate': { [FOR]: '1' } }, tcp: '1', want: ['admin-kubeconfig'] },
    { name: 'nothing once every leaf carries the value', stored: { 'api-server-certificate': { [FOR]: '1' }, 'admin-kubeconfig': { [FOR]: '1' } }, tcp: '1', want: [] },
    { name: 'all again for the next value', stored: { 'api-server-certificate': { [FOR]: '1' }, 'admin-kubeconfig': { [FOR]: '1' } }, tcp: '2', want: suffixes },
    { name: 'an empty value on the TenantControlPlane once, like any value', stored: { 'api-server-certificate': { [FOR]: '' } }, tcp: '', want: ['admin-kubeconfig'] },
  ];
  for (const tc of cases) {
    it(`reissues ${tc.name}`, () => expect(Object.keys(rotationRequests(suffixes, tc.stored, tc.tcp))).to.deep.equal(tc.want));
  }

  it('records the rotation time (Kamaji) and the handled value on a rewritten Secret', () => {
    const now = new Date('2026-11-27T14:00:00.123Z');
    expect(rotationAnnotations(true, 'x', now)).to.deep.equal({ [ROTATE]: '2026-11-27T14:00:00Z', [FOR]: 'x' });
    expect(rotationAnnotations(false, undefined, now)).to.deep.equal({});
  });
});

describe('controlplane/pki renewalDue', () => {
  it('is the earliest expiry minus the threshold, reading a chain by its leaf', async () => {
    const ca = await createCertificateAuthority('kubernetes', 365 * DAY);
    const short = await issueCertificate(ca, { commonName: 'a', usage: 'client', validFor: 10 * DAY });
    const long = await issueCertificate(ca, { commonName: 'b', usage: 'client', validFor: 100 * DAY });
    const chain = certificatePem(short.cert) + certificatePem(ca.cert);
    expect(splitCertificates(chain)).to.have.length(2);
    const due = renewalDue([certificatePem(long.cert), chain], 2 * DAY);
    expect(due).to.equal(short.cert.notAfter.getTime() - 2 * DAY);
    expect(renewalDue([], DAY)).to.equal(undefined);
  });
});

describe('controlplane/pki --certificate-expiration-deadline', () => {
  const cases: { value: string; want: number | RegExp }[] = [
    { value: '24h', want: DAY },
    { value: '7d', want: 7 * DAY },
    { value: '90m', want: 90 * 60_000 },
    { value: '0s', want: /longer than zero/ },
    { value: 'a week', want: /not a duration/ },
  ];
  for (const tc of cases) {
    it(`reads ${tc.value}`, () => {
      if (typeof tc.want === 'number') expect(parseExpirationDeadline(tc.value)).to.equal(tc.want);
      else expect(() => parseExpirationDeadline(tc.value)).to.throw(tc.want);
    });
  }
});
