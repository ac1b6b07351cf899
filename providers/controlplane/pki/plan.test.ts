import { expect } from 'chai';
import { createCertificateAuthority } from '../../../lib/pki/x509.js';
import { DEFAULT_PKI_OPTIONS } from './options.js';
import { planCertificates, type CertificatePlanInput } from './plan.js';

const DAY = 86_400_000;

describe('controlplane/pki planCertificates', () => {
  const sans = ['127.0.0.1', 'localhost', 'acme.tenants.svc'];
  let input: CertificatePlanInput;

  before(async () => {
    input = { apiServerSANs: sans, etcdUser: 'tenants_acme', dataStoreCA: await createCertificateAuthority('etcd-ca', 365 * DAY), konnectivity: true, options: DEFAULT_PKI_OPTIONS, now: new Date() };
  });

  it('creates every Secret of a new tenant', async () => {
    const plan = await planCertificates({}, input);
    expect(Object.keys(plan.changed).sort()).to.deep.equal([
      'api-server-certificate',
      'api-server-kubelet-client-certificate',
      'ca',
      'datastore-certificate',
      'front-proxy-ca-certificate',
      'front-proxy-client-certificate',
      'konnectivity-certificate',
      'sa-certificate',
    ]);
  });

  const cases: { name: string; change: (i: CertificatePlanInput) => CertificatePlanInput; mutate?: (s: Record<string, Record<string, string>>) => void; want: string[] }[] = [
    { name: 'nothing for a steady tenant', change: (i) => i, want: [] },
    { name: 'only the serving certificate when certSANs change', change: (i) => ({ ...i, apiServerSANs: [...sans, 'api.acme.example'] }), want: ['api-server-certificate'] },
    { name: 'only the datastore certificate when the etcd user changes', change: (i) => ({ ...i, etcdUser: 'other' }), want: ['datastore-certificate'] },
    {
      name: 'every leaf the cluster CA signed when the CA is lost',
      change: (i) => i,
      mutate: (s) => delete s.ca,
      want: ['api-server-certificate', 'api-server-kubelet-client-certificate', 'ca', 'konnectivity-certificate'],
    },
    {
      name: 'the leaves, not the CAs, when leaves near expiry',
      change: (i) => ({ ...i, now: new Date(Date.now() + 340 * DAY) }),
      want: ['api-server-certificate', 'api-server-kubelet-client-certificate', 'datastore-certificate', 'front-proxy-client-certificate', 'konnectivity-certificate'],
    },
  ];
  for (const tc of cases) {
    it(`rewrites ${tc.name}`, async () => {
      const first = await planCertificates({}, input);
      const stored = structuredClone(first.secrets);
      tc.mutate?.(stored);
      const second = await planCertificates(stored, tc.change(input));
      expect(Object.keys(second.changed).sort()).to.deep.equal(tc.want);
      for (const name of Object.keys(first.secrets).filter((n) => !tc.want.includes(n))) expect(second.secrets[name]).to.deep.equal(first.secrets[name]);
    });
  }

  it('reissues forced leaves although their checks pass, with the forcing reason, and nothing else', async () => {
    const first = await planCertificates({}, input);
    const force = { 'api-server-certificate': 'rotate requested', 'datastore-certificate': 'rotate requested' };
    const second = await planCertificates(first.secrets, { ...input, force });
    expect(second.changed).to.deep.equal(force);
    expect(second.secrets['api-server-certificate']).to.not.deep.equal(first.secrets['api-server-certificate']);
    expect(second.secrets.ca).to.deep.equal(first.secrets.ca);
  });

  it('rewrites the datastore certificate when the DataStore CA is replaced', async () => {
    const first = await planCertificates({}, input);
    const second = await planCertificates(first.secrets, { ...input, dataStoreCA: await createCertificateAuthority('etcd-ca-2', DAY * 365) });
    expect(second.changed).to.have.key('datastore-certificate');
    expect(second.changed['datastore-certificate']).to.match(/not signed by the current datastore-ca/);
  });
});
