import { createHmac } from 'node:crypto';
import { expect } from 'chai';
import { certificatePem, createCertificateAuthority } from '../../lib/pki/x509.js';
import { caPublicKeyHash, clusterOfKubeconfig, endpointURL, parseBootstrapToken, splitPemBundle, verifyDetachedJWS } from './discovery.js';

const token = parseBootstrapToken('abcdef.0123456789abcdef');
const payload = 'apiVersion: v1\nkind: Config\n';

function sign(header: object, body: string, secret: string): string {
  const h = Buffer.from(JSON.stringify(header)).toString('base64url');
  const sig = createHmac('sha256', secret).update(`${h}.${Buffer.from(body).toString('base64url')}`).digest('base64url');
  return `${h}..${sig}`;
}

describe('guest bootstrap-token discovery', () => {
  it('accepts the detached HS256 signature made with the token and refuses any change', () => {
    const jws = sign({ alg: 'HS256', kid: 'abcdef' }, payload, token.secret);
    expect(verifyDetachedJWS(jws, payload, token)).to.be.true;
    expect(verifyDetachedJWS(jws, payload + ' ', token), 'changed payload').to.be.false;
    expect(verifyDetachedJWS(sign({ alg: 'HS256', kid: 'zzzzzz' }, payload, token.secret), payload, token), 'other kid').to.be.false;
    expect(verifyDetachedJWS(sign({ alg: 'none', kid: 'abcdef' }, payload, token.secret), payload, token), 'alg none').to.be.false;
    expect(verifyDetachedJWS(sign({ alg: 'HS256', kid: 'abcdef' }, payload, 'x'.repeat(16)), payload, token), 'other secret').to.be.false;
    expect(verifyDetachedJWS('not-a-jws', payload, token)).to.be.false;
  });

  it("pins the CA by the SHA-256 of its SubjectPublicKeyInfo, kubeadm's format", async () => {
    const ca = await createCertificateAuthority('pin-ca', 86_400_000);
    const pem = certificatePem(ca.cert);
    const hash = caPublicKeyHash(pem);
    expect(hash).to.match(/^sha256:[0-9a-f]{64}$/);
    const spki = Buffer.from(await crypto.subtle.exportKey('spki', ca.key.keys.publicKey));
    const { createHash } = await import('node:crypto');
    expect(hash).to.equal(`sha256:${createHash('sha256').update(spki).digest('hex')}`);
    expect(splitPemBundle(pem + pem)).to.have.length(2);
  });

  it('reads server and CA from the cluster-info kubeconfig and turns host:port into a URL', () => {
    const kubeconfig = 'clusters:\n- cluster:\n    server: https://10.0.0.1:6443\n    certificate-authority-data: ' + Buffer.from('PEM').toString('base64') + '\n  name: ""\n';
    expect(clusterOfKubeconfig(kubeconfig)).to.deep.equal({ server: 'https://10.0.0.1:6443', caPem: 'PEM' });
    expect(endpointURL('10.0.0.1:6443')).to.equal('https://10.0.0.1:6443');
    expect(endpointURL('https://api.example:443/')).to.equal('https://api.example:443');
  });

  it('refuses a malformed token before any request', () => {
    expect(() => parseBootstrapToken('ABCDEF.0123456789abcdef')).to.throw(/does not match/);
  });
});
