import { generateKeyPairSync } from 'node:crypto';
import { expect } from 'chai';
import { importPrivateKey, loadCertificateAuthority, parseCertificate } from './pem.js';
import { certificatePem, createCertificateAuthority, issueCertificate, privateKeyPem, type KeyAlgorithm } from './x509.js';

const DAY = 86_400_000;

describe('lib/pki/pem', () => {
  for (const algorithm of ['ECDSA-P256', 'RSA-2048'] as KeyAlgorithm[]) {
    it(`loads a ${algorithm} CA from PEM and signs with it as if freshly created`, async () => {
      const original = await createCertificateAuthority('loaded-ca', DAY, algorithm);
      const loaded = await loadCertificateAuthority(certificatePem(original.cert), await privateKeyPem(original.key));
      expect(loaded.key.algorithm).to.equal(algorithm);
      const { cert } = await issueCertificate(loaded, { commonName: 'leaf', usage: 'client', validFor: DAY });
      expect(await cert.verify({ publicKey: original.cert.publicKey, signatureOnly: true })).to.equal(true);
    });
  }

  it('imports the PKCS#1 and SEC1 encodings users often have on disk', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs1', format: 'pem' });
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'sec1', format: 'pem' });
    expect((await importPrivateKey(rsa)).algorithm).to.equal('RSA-2048');
    expect((await importPrivateKey(ec)).algorithm).to.equal('ECDSA-P256');
  });

  it('refuses an EC curve other than P-256', async () => {
    const p384 = generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).privateKey.export({ type: 'pkcs8', format: 'pem' });
    let message = '';
    await importPrivateKey(p384).catch((err: unknown) => (message = String(err)));
    expect(message).to.match(/unsupported private key type ec secp384r1/);
  });

  it('refuses a CA whose key belongs to another certificate', async () => {
    const a = await createCertificateAuthority('a', DAY);
    const b = await createCertificateAuthority('b', DAY);
    let message = '';
    await loadCertificateAuthority(certificatePem(a.cert), await privateKeyPem(b.key)).catch((err: unknown) => (message = String(err)));
    expect(message).to.match(/does not belong to the CA certificate CN=a/);
    expect(parseCertificate(certificatePem(a.cert)).subject).to.equal('CN=a');
  });
});
