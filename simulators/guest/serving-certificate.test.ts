// lib/pki/x509 first: it loads the reflect polyfill @peculiar/x509 needs.
import { createCertificateSigningRequest, generateKeyPair } from '../../lib/pki/x509.js';
import { X509Certificate } from 'node:crypto';
import { Pkcs10CertificateRequest, SubjectAlternativeNameExtension } from '@peculiar/x509';
import { expect } from 'chai';
import { KUBELET_SERVING_SIGNER, selfSignedServingCertificate, servingAltNames, servingCSR } from './serving-certificate.js';

describe('guest kubelet serving certificate', () => {
  it('names the node and its addresses once each', () => {
    expect(servingAltNames('vm1', ['10.244.0.11', '10.244.0.11'])).to.deep.equal(['vm1', '10.244.0.11']);
  });

  it('asks the kubelet-serving signer for server auth with the SANs in the request', async () => {
    const key = await generateKeyPair();
    const pem = await createCertificateSigningRequest(key, { commonName: 'system:node:vm1', organizations: ['system:nodes'], altNames: ['vm1', '10.244.0.11'] });
    const csr = servingCSR('csr-vm1', pem);
    expect(csr.spec.signerName).to.equal(KUBELET_SERVING_SIGNER);
    expect(csr.spec.usages).to.deep.equal(['digital signature', 'server auth']);
    const request = new Pkcs10CertificateRequest(Buffer.from(csr.spec.request, 'base64').toString());
    expect(request.subject).to.equal('CN=system:node:vm1, O=system:nodes');
    const raw = request.extensions.find((e) => e.type === '2.5.29.17');
    if (!raw) throw new Error('the request has no subjectAltName extension');
    expect(new SubjectAlternativeNameExtension(raw.rawData).names.toJSON()).to.deep.equal([
      { type: 'dns', value: 'vm1' },
      { type: 'ip', value: '10.244.0.11' },
    ]);
  });

  it('signs a stand-in certificate for the same names while the CSR waits', async () => {
    const { certPem } = await selfSignedServingCertificate('vm1', ['vm1', '10.244.0.11']);
    const leaf = new X509Certificate(certPem);
    expect(leaf.subjectAltName).to.include('DNS:vm1').and.include('IP Address:10.244.0.11');
    expect(leaf.issuer).to.match(/CN=vm1-ca@\d+/);
  });
});
