import { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { parseKubeconfig } from '../../../lib/kube/client-cert-kubeconfig.js';
import { certificatePem, createCertificateAuthority, privateKeyPem } from '../../../lib/pki/x509.js';
import { buildCASecret, buildKubeconfigSecret, checkClusterKubeconfig, issueClusterKubeconfig, serverURL, signingCertificate } from './cluster-secrets.js';

const HOUR = 3_600_000;

describe('kamajicontrolplane/cluster-secrets', () => {
  it('builds <cluster>-kubeconfig and <cluster>-ca as Cluster API secrets with the cluster-name label', () => {
    const kc = buildKubeconfigSecret('acme', 'tenants', 'kubeconfig-text');
    expect(kc.metadata).to.deep.equal({ name: 'acme-kubeconfig', namespace: 'tenants', labels: { 'cluster.x-k8s.io/cluster-name': 'acme' } });
    expect(kc.type).to.equal('cluster.x-k8s.io/secret');
    expect(Buffer.from(kc.data?.value ?? '', 'base64').toString()).to.equal('kubeconfig-text');
    const ca = buildCASecret('acme', 'tenants', 'CERT', 'KEY');
    expect(ca.metadata.name).to.equal('acme-ca');
    expect(Object.keys(ca.data ?? {})).to.deep.equal(['tls.crt', 'tls.key']);
  });

  it('writes IPv6 endpoints in brackets', () => {
    expect(serverURL({ host: 'fd00::1', port: 6443 })).to.equal('https://[fd00::1]:6443');
    expect(serverURL({ host: '10.0.0.1', port: 6443 })).to.equal('https://10.0.0.1:6443');
  });

  describe('short-lived client certificate', () => {
    let caPem = '';
    let kubeconfig = '';
    const server = 'https://10.255.0.10:6443';
    before(async () => {
      const ca = await createCertificateAuthority('kubernetes', 10 * 365 * 24 * HOUR);
      caPem = certificatePem(ca.cert);
      kubeconfig = await issueClusterKubeconfig(ca, caPem, 'acme', server, 24 * HOUR);
    });

    it('is issued by the tenant CA for the kubeadm admin identity with the requested lifetime', () => {
      const parsed = parseKubeconfig(kubeconfig);
      expect(parsed.server).to.equal(server);
      const cert = new X509Certificate(parsed.certPem);
      expect(cert.subject).to.include('CN=kubernetes-admin').and.include('O=kubeadm:cluster-admins');
      expect(cert.verify(new X509Certificate(caPem).publicKey)).to.equal(true);
      const life = cert.validToDate.getTime() - Date.now();
      expect(life).to.be.within(24 * HOUR - 60_000, 24 * HOUR + 1000);
    });

    const cases: { name: string; at: number; server?: string; reissue: boolean }[] = [
      { name: 'stays while two thirds of its life are left', at: 1 * HOUR, reissue: false },
      { name: 'stays just before a third is left', at: 15 * HOUR, reissue: false },
      { name: 'is re-issued once less than a third is left', at: 17 * HOUR, reissue: true },
      { name: 'is re-issued when the endpoint moved', at: 0, server: 'https://10.255.0.11:6443', reissue: true },
    ];
    for (const tc of cases) {
      it(tc.name, () => {
        const check = checkClusterKubeconfig(kubeconfig, caPem, tc.server ?? server, new Date(Date.now() + tc.at));
        expect(check.reissue !== undefined, check.reissue).to.equal(tc.reissue);
      });
    }

    it('says when to look again: a third of the lifetime before expiry', () => {
      const check = checkClusterKubeconfig(kubeconfig, caPem, server, new Date());
      const expectAt = Date.now() + 16 * HOUR;
      expect(check.renewAt).to.be.within(expectAt - 2 * 60_000, expectAt + 60_000);
    });

    it('is re-issued when the tenant CA changed', async () => {
      const other = certificatePem((await createCertificateAuthority('kubernetes', 24 * HOUR)).cert);
      expect(checkClusterKubeconfig(kubeconfig, other, server, new Date()).reissue).to.equal('the tenant CA changed');
    });

    it('during a CA rotation signs with the CA its key belongs to and trusts the whole bundle', async () => {
      const current = await createCertificateAuthority('kubernetes', 24 * HOUR);
      const next = await createCertificateAuthority('kubernetes', 24 * HOUR);
      const bundle = certificatePem(next.cert) + certificatePem(current.cert);
      const signer = signingCertificate(bundle, await privateKeyPem(current.key));
      expect(signer).to.equal(certificatePem(current.cert));
      const text = await issueClusterKubeconfig(current, bundle, 'acme', server, 24 * HOUR);
      expect(parseKubeconfig(text).caPem).to.equal(bundle);
      expect(checkClusterKubeconfig(text, bundle, server, new Date()).reissue).to.equal(undefined);
      // The old CA retired: the kubeconfig must trust (and be signed by) the one left.
      expect(checkClusterKubeconfig(text, certificatePem(next.cert), server, new Date()).reissue).to.equal('the tenant CA changed');
    });

    it('is issued when missing or unreadable', () => {
      expect(checkClusterKubeconfig(undefined, caPem, server, new Date()).reissue).to.equal('missing');
      expect(checkClusterKubeconfig('not: [a kubeconfig', caPem, server, new Date()).reissue).to.match(/^unreadable/);
    });
  });
});
