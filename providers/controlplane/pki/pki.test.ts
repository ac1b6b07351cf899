import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import * as x509 from '@peculiar/x509';
import { createCertificateAuthority, type CertificateAuthority } from '../../../lib/pki/x509.js';
import { checkCA, checkLeaf, checkServiceAccountKeyPair, needsRotation } from './check.js';
import { buildClusterCA, buildDataStoreCertificate, buildFrontProxyCA, buildLeaf, buildServiceAccountKeyPair, loadCA, type SecretData } from './issue.js';
import { DEFAULT_PKI_OPTIONS, type PKIOptions } from './options.js';
import { API_SERVER, API_SERVER_KUBELET_CLIENT, dataStoreClient, FRONT_PROXY_CLIENT, KONNECTIVITY, type LeafProfile } from './profiles.js';
import { CA_SECRET, DATASTORE_SECRET, FRONT_PROXY_CA_SECRET } from './secrets.js';

const DAY = 86_400_000;
const opts: PKIOptions = { ...DEFAULT_PKI_OPTIONS };
// The time of each check, not of this module's load: a loaded machine can start these tests minutes after the load,
// and certificates issued since then would look not yet valid.
const check = () => ({ now: new Date(), rotationThreshold: opts.rotationThreshold });

const ekus = (pem: string) => new x509.X509Certificate(pem).getExtension(x509.ExtendedKeyUsageExtension)?.usages.map(String);
const keyUsage = (pem: string) => new x509.X509Certificate(pem).getExtension(x509.KeyUsagesExtension)?.usages ?? 0;

describe('controlplane/pki builders', () => {
  let caData: SecretData;
  let ca: CertificateAuthority;
  let frontProxyCA: CertificateAuthority;

  before(async () => {
    caData = await buildClusterCA(opts);
    ca = await loadCA(caData, CA_SECRET);
    frontProxyCA = await loadCA(await buildFrontProxyCA(opts), FRONT_PROXY_CA_SECRET);
  });

  it('stores the cluster CA as ca.crt/ca.key, a CA certificate valid for the CA lifetime', () => {
    const cert = new X509Certificate(caData['ca.crt'] ?? '');
    expect(cert.ca).to.equal(true);
    expect(cert.subject).to.equal('CN=kubernetes');
    const lifetime = cert.validToDate.getTime() - cert.validFromDate.getTime();
    expect(lifetime).to.be.closeTo(opts.caValidity, 2 * 60_000);
    expect(keyUsage(caData['ca.crt'] ?? '') & x509.KeyUsageFlags.keyCertSign).to.not.equal(0);
    expect(checkCA(caData, CA_SECRET, check())).to.equal(undefined);
  });

  const leaves: { profile: LeafProfile; sans: string[]; subject: string; eku: string; signer: 'ca' | 'front-proxy' }[] = [
    { profile: API_SERVER, sans: ['127.0.0.1', 'localhost', 'acme.tenants.svc'], subject: 'CN=kube-apiserver', eku: x509.ExtendedKeyUsage.serverAuth, signer: 'ca' },
    { profile: API_SERVER_KUBELET_CLIENT, sans: [], subject: 'CN=kube-apiserver-kubelet-client\nO=kubeadm:cluster-admins', eku: x509.ExtendedKeyUsage.clientAuth, signer: 'ca' },
    { profile: FRONT_PROXY_CLIENT, sans: [], subject: 'CN=front-proxy-client', eku: x509.ExtendedKeyUsage.clientAuth, signer: 'front-proxy' },
    { profile: KONNECTIVITY, sans: [], subject: 'CN=system:konnectivity-server', eku: x509.ExtendedKeyUsage.clientAuth, signer: 'ca' },
  ];
  for (const tc of leaves) {
    it(`issues ${tc.profile.layout.certKey} with subject ${tc.subject.replace('\n', ', ')}, only ${tc.profile.usage}Auth, from its signer`, async () => {
      const issuer = tc.signer === 'ca' ? ca : frontProxyCA;
      const data = await buildLeaf(tc.profile, issuer, opts, tc.sans);
      const certPem = data[tc.profile.layout.certKey] ?? '';
      const cert = new X509Certificate(certPem);
      expect(cert.subject).to.equal(tc.subject);
      expect(ekus(certPem)).to.deep.equal([tc.eku]);
      expect(cert.ca).to.equal(false);
      expect(cert.verify(new X509Certificate(issuer.cert.toString('pem')).publicKey)).to.equal(true);
      expect(cert.validToDate.getTime() - cert.validFromDate.getTime()).to.be.closeTo(opts.certificateValidity, 2 * 60_000);
      expect(checkLeaf(data, tc.profile, issuer.cert.toString('pem'), { ...check(), sans: tc.sans })).to.equal(undefined);
    });
  }

  it('signs the datastore client certificate with the DataStore CA, CN = the etcd user, and ships that CA as ca.crt', async () => {
    const dsCA = await createCertificateAuthority('etcd-ca', DAY);
    const data = await buildDataStoreCertificate('tenants_acme', dsCA, opts);
    expect(Object.keys(data).sort()).to.deep.equal(['ca.crt', 'server.crt', 'server.key']);
    const cert = new X509Certificate(data[DATASTORE_SECRET.certKey] ?? '');
    expect(cert.subject).to.equal('CN=tenants_acme');
    expect(cert.verify(new X509Certificate(data['ca.crt'] ?? '').publicKey)).to.equal(true);
    expect(checkLeaf(data, dataStoreClient('tenants_acme'), data['ca.crt'] ?? '', check())).to.equal(undefined);
    expect(checkLeaf(data, dataStoreClient('tenants_other'), data['ca.crt'] ?? '', check())).to.match(/has subject CN=tenants_acme, want CN=tenants_other/);
  });

  it('builds a matching service-account key pair and notices a mismatched one', async () => {
    const a = await buildServiceAccountKeyPair(opts);
    const b = await buildServiceAccountKeyPair(opts);
    expect(a['sa.key']).to.match(/BEGIN PRIVATE KEY/);
    expect(a['sa.pub']).to.match(/BEGIN PUBLIC KEY/);
    expect(checkServiceAccountKeyPair(a)).to.equal(undefined);
    expect(checkServiceAccountKeyPair({ 'sa.key': a['sa.key'] ?? '', 'sa.pub': b['sa.pub'] ?? '' })).to.match(/does not belong/);
    expect(checkServiceAccountKeyPair({})).to.match(/missing/);
  });

  it('uses RSA keys (with keyEncipherment) when configured', async () => {
    const rsa: PKIOptions = { ...opts, keyAlgorithm: 'RSA-2048' };
    const rsaCA = await loadCA(await buildClusterCA(rsa), CA_SECRET);
    const data = await buildLeaf(API_SERVER, rsaCA, rsa, ['localhost']);
    const cert = new X509Certificate(data['apiserver.crt'] ?? '');
    expect(cert.publicKey.asymmetricKeyType).to.equal('rsa');
    expect(keyUsage(data['apiserver.crt'] ?? '') & x509.KeyUsageFlags.keyEncipherment).to.not.equal(0);
    expect(checkLeaf(data, API_SERVER, rsaCA.cert.toString('pem'), { ...check(), sans: ['localhost'], keyAlgorithm: 'ECDSA-P256' })).to.match(/key other than ECDSA-P256/);
  });

  describe('reissue checks', () => {
    let serving: SecretData;
    const sans = ['127.0.0.1', 'localhost', 'api.acme.example'];
    before(async () => {
      serving = await buildLeaf(API_SERVER, ca, opts, sans);
    });

    const cases: { name: string; run: () => Promise<string | undefined> | string | undefined; want: RegExp }[] = [
      { name: 'a missing Secret', run: () => checkLeaf(undefined, API_SERVER, ca.cert.toString('pem'), { ...check(), sans }), want: /is missing/ },
      { name: 'a certSAN added', run: () => checkLeaf(serving, API_SERVER, ca.cert.toString('pem'), { ...check(), sans: [...sans, 'new.acme.example'] }), want: /missing: new\.acme\.example; extra: none/ },
      { name: 'a certSAN removed', run: () => checkLeaf(serving, API_SERVER, ca.cert.toString('pem'), { ...check(), sans: ['127.0.0.1', 'localhost'] }), want: /missing: none; extra: api\.acme\.example/ },
      {
        name: 'a rotated CA',
        run: async () => checkLeaf(serving, API_SERVER, (await loadCA(await buildClusterCA(opts), CA_SECRET)).cert.toString('pem'), { ...check(), sans }),
        want: /not signed by the current cluster-ca/,
      },
      { name: 'a key from another certificate', run: async () => checkLeaf({ ...serving, 'apiserver.key': (await buildLeaf(API_SERVER, ca, opts))['apiserver.key'] ?? '' }, API_SERVER, ca.cert.toString('pem'), { ...check(), sans }), want: /does not belong/ },
      { name: 'expiry within the threshold', run: () => checkLeaf(serving, API_SERVER, ca.cert.toString('pem'), { now: new Date(Date.now() + opts.certificateValidity - DAY), rotationThreshold: 2 * DAY, sans }), want: /within the rotation threshold/ },
      { name: 'a client certificate where a serving one is wanted', run: async () => checkLeaf(await buildLeaf({ ...API_SERVER, usage: 'client' }, ca, opts, sans), API_SERVER, ca.cert.toString('pem'), { ...check(), sans }), want: /lacks the serverAuth/ },
    ];
    for (const tc of cases) {
      it(`reissues on ${tc.name}`, async () => expect(await tc.run()).to.match(tc.want));
    }
    it('keeps a good certificate (SAN order and IP spelling do not matter)', () => {
      expect(checkLeaf(serving, API_SERVER, ca.cert.toString('pem'), { ...check(), sans: ['api.acme.example', 'localhost', '127.0.0.1'] })).to.equal(undefined);
    });
  });

  describe('needsRotation', () => {
    const cases: { name: string; offset: number; threshold: number; want: boolean }[] = [
      { name: 'a fresh certificate', offset: 0, threshold: 30 * DAY, want: false },
      { name: 'one expiring inside the threshold', offset: 340 * DAY, threshold: 30 * DAY, want: true },
      { name: 'one already expired', offset: 400 * DAY, threshold: 0, want: true },
      { name: 'one not yet valid', offset: -DAY, threshold: 0, want: true },
    ];
    for (const tc of cases) {
      it(`says ${String(tc.want)} for ${tc.name}`, async () => {
        const data = await buildLeaf(KONNECTIVITY, ca, opts);
        expect(needsRotation(data['tls.crt'] ?? '', tc.threshold, new Date(Date.now() + tc.offset))).to.equal(tc.want);
      });
    }
  });
});
