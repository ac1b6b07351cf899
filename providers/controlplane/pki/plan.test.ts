import { expect } from 'chai';
import { createCertificateAuthority } from '../../../lib/pki/x509.js';
import { beginCARotation, retireOldCA, switchCASigner } from './ca-rotation.js';
import { DEFAULT_PKI_OPTIONS } from './options.js';
import { splitCertificates } from './rotation.js';
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

  it('follows a CA rotation: nothing while the new CA is only trusted, every cluster-CA leaf once it signs, the serving and kubelet-client certificates with its bridge', async () => {
    const first = await planCertificates({}, input);
    const trusting = { ...first.secrets, ca: await beginCARotation(first.secrets.ca ?? {}, DEFAULT_PKI_OPTIONS, new Date()) };
    const t = await planCertificates(trusting, input);
    expect(t.changed).to.deep.equal({});
    expect(splitCertificates(t.clusterTrust)).to.have.length(2);

    const switched = { ...first.secrets, ca: switchCASigner(trusting.ca) };
    const s = await planCertificates(switched, input);
    expect(Object.keys(s.changed).sort()).to.deep.equal(['api-server-certificate', 'api-server-kubelet-client-certificate', 'konnectivity-certificate']);
    const bridge = switched.ca['ca-bridges.crt'] ?? '';
    for (const [suffix, key] of [['api-server-certificate', 'apiserver.crt'], ['api-server-kubelet-client-certificate', 'apiserver-kubelet-client.crt']] as const) {
      const chain = splitCertificates(s.secrets[suffix]?.[key] ?? '');
      expect(chain.slice(1).join(''), suffix).to.equal(bridge);
    }
    expect(splitCertificates(s.secrets['konnectivity-certificate']?.['tls.crt'] ?? '')).to.have.length(1);
    expect((await planCertificates(s.secrets, input)).changed, 'settled once reissued').to.deep.equal({});

    const retired = await planCertificates({ ...s.secrets, ca: retireOldCA(switched.ca) }, input);
    expect(retired.changed, 'retiring the old CA reissues nothing: the leaves already come from the new one').to.deep.equal({});
    expect(splitCertificates(retired.clusterTrust)).to.have.length(1);
  });

  it('rewrites the datastore certificate when the DataStore CA is replaced', async () => {
    const first = await planCertificates({}, input);
    const second = await planCertificates(first.secrets, { ...input, dataStoreCA: await createCertificateAuthority('etcd-ca-2', DAY * 365) });
    expect(second.changed).to.have.key('datastore-certificate');
    expect(second.changed['datastore-certificate']).to.match(/not signed by the current datastore-ca/);
  });
});
