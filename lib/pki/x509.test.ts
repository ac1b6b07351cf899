import 'reflect-metadata';
import { X509Certificate as NodeX509 } from 'node:crypto';
import { expect } from 'chai';
import * as x509 from '@peculiar/x509';
import { certificatePem, createCertificateAuthority, createCertificateSigningRequest, generateKeyPair, issueCertificate, privateKeyPem, type KeyAlgorithm } from './x509.js';

const DAY = 86_400_000;

describe('lib/pki/x509', () => {
  const algorithms: KeyAlgorithm[] = ['ECDSA-P256', 'RSA-2048'];
  for (const algorithm of algorithms) {
    it(`issues a ${algorithm} serving certificate that chains to its CA and names every SAN by type`, async () => {
      const ca = await createCertificateAuthority('test-ca', 10 * DAY, algorithm);
      const { cert, key } = await issueCertificate(
        ca,
        { commonName: 'kube-apiserver', altNames: ['localhost', '127.0.0.1', '::1', 'kubernetes.default.svc'], usage: 'server', validFor: DAY },
        algorithm,
      );
      const leaf = new NodeX509(certificatePem(cert));
      const root = new NodeX509(certificatePem(ca.cert));
      expect(leaf.verify(root.publicKey)).to.be.true;
      expect(leaf.checkIssued(root)).to.be.true;
      expect(leaf.ca).to.be.false;
      expect(root.ca).to.be.true;
      expect(leaf.subjectAltName).to.equal('DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:kubernetes.default.svc');
      expect(leaf.checkPrivateKey((await import('node:crypto')).createPrivateKey(await privateKeyPem(key)))).to.be.true;
    });
  }

  it('marks client certificates for clientAuth only and carries the organizations as groups', async () => {
    const ca = await createCertificateAuthority('test-ca', DAY);
    const { cert } = await issueCertificate(ca, { commonName: 'admin', organizations: ['system:masters'], usage: 'client', validFor: DAY });
    const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
    expect(eku?.usages).to.deep.equal([x509.ExtendedKeyUsage.clientAuth]);
    expect(new NodeX509(certificatePem(cert)).subject).to.equal('CN=admin\nO=system:masters');
    const ku = cert.getExtension(x509.KeyUsagesExtension);
    expect(ku?.usages).to.equal(x509.KeyUsageFlags.digitalSignature);
  });

  it('backdates notBefore so a fresh certificate is valid on a peer whose clock is slightly behind', async () => {
    const ca = await createCertificateAuthority('test-ca', DAY);
    expect(ca.cert.notBefore.getTime()).to.be.lessThan(Date.now() - 30_000);
    const usage = ca.cert.getExtension(x509.KeyUsagesExtension)?.usages ?? 0;
    expect(usage & x509.KeyUsageFlags.keyCertSign).to.not.equal(0);
  });

  it('makes a self-signed PKCS#10 request carrying the subject, for the Kubernetes CSR API', async () => {
    const key = await generateKeyPair();
    const pem = await createCertificateSigningRequest(key, { commonName: 'system:node:vm-1', organizations: ['system:nodes'] });
    expect(pem).to.match(/^-----BEGIN CERTIFICATE REQUEST-----\n/);
    const csr = new x509.Pkcs10CertificateRequest(pem);
    expect(csr.subject).to.equal('CN=system:node:vm-1, O=system:nodes');
    expect(await csr.verify()).to.be.true;
  });
});
