import { createPrivateKey, X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import type { CertificateAuthority } from '../../../lib/pki/x509.js';
import { buildClusterCA, buildLeaf, CA_SECRET, DEFAULT_PKI_OPTIONS, KONNECTIVITY, loadCA } from '../pki/index.js';
import {
  ADMIN,
  buildAdminKubeconfigs,
  buildControllerManagerKubeconfig,
  buildKonnectivityKubeconfig,
  buildSchedulerKubeconfig,
  checkKubeconfig,
  CONTROLLER_MANAGER,
  SCHEDULER,
  serverURL,
  SUPER_ADMIN,
  type Identity,
  type KubeconfigTarget,
} from './builders.js';
import { parseKubeconfig } from '../../../lib/kube/client-cert-kubeconfig.js';

const target: KubeconfigTarget = { tenant: 'acme', namespace: 'tenants', port: 6443, endpointHost: '203.0.113.10', endpointPort: 443 };
const opts = DEFAULT_PKI_OPTIONS;

describe('controlplane/kubeconfig builders', () => {
  let ca: CertificateAuthority;
  let caPem: string;
  let data: Record<string, string>;

  before(async () => {
    const caData = await buildClusterCA(opts);
    ca = await loadCA(caData, CA_SECRET);
    caPem = caData['ca.crt'] ?? '';
    data = {
      ...(await buildAdminKubeconfigs(target, ca, opts)),
      ...(await buildControllerManagerKubeconfig(target, ca, opts)),
      ...(await buildSchedulerKubeconfig(target, ca, opts)),
      ...buildKonnectivityKubeconfig(target, caPem, await buildLeaf(KONNECTIVITY, ca, opts)),
    };
  });

  const cases: { key: string; server: string; identity: Identity }[] = [
    { key: 'admin.conf', server: 'https://203.0.113.10:443', identity: ADMIN },
    { key: 'admin.svc', server: 'https://acme.tenants.svc:6443', identity: ADMIN },
    { key: 'super-admin.conf', server: 'https://203.0.113.10:443', identity: SUPER_ADMIN },
    { key: 'super-admin.svc', server: 'https://acme.tenants.svc:6443', identity: SUPER_ADMIN },
    { key: 'controller-manager.conf', server: 'https://127.0.0.1:6443', identity: CONTROLLER_MANAGER },
    { key: 'scheduler.conf', server: 'https://127.0.0.1:6443', identity: SCHEDULER },
    { key: 'konnectivity-server.conf', server: 'https://127.0.0.1:6443', identity: { commonName: 'system:konnectivity-server', organizations: [] } },
  ];
  for (const tc of cases) {
    it(`writes ${tc.key} for ${tc.identity.commonName} against ${tc.server}, trusting the cluster CA`, () => {
      const parsed = parseKubeconfig(data[tc.key] ?? '');
      expect(parsed.server).to.equal(tc.server);
      expect(parsed.caPem).to.equal(caPem);
      const cert = new X509Certificate(parsed.certPem);
      expect(cert.subject).to.equal([`CN=${tc.identity.commonName}`, ...tc.identity.organizations.map((o) => `O=${o}`)].join('\n'));
      expect(cert.checkPrivateKey(createPrivateKey(parsed.keyPem))).to.equal(true);
      expect(cert.keyUsage).to.deep.equal(['1.3.6.1.5.5.7.3.2']);
      expect(checkKubeconfig(data[tc.key], { server: tc.server, caPem, identity: tc.identity, now: new Date(), rotationThreshold: opts.rotationThreshold })).to.equal(undefined);
    });
  }

  it('puts the admin and super-admin kubeconfigs in groups that RBAC and system:masters recognise', () => {
    expect(ADMIN.organizations).to.deep.equal(['kubeadm:cluster-admins']);
    expect(SUPER_ADMIN.organizations).to.deep.equal(['system:masters']);
  });

  it('brackets an IPv6 endpoint in the server URL', () => expect(serverURL('2001:db8::1', 6443)).to.equal('https://[2001:db8::1]:6443'));

  const problems: { name: string; check: () => string | undefined; want: RegExp }[] = [
    { name: 'a missing kubeconfig', check: () => checkKubeconfig(undefined, { server: 'x', caPem: '', identity: ADMIN, now: new Date(), rotationThreshold: 0 }), want: /missing/ },
    { name: 'a moved endpoint', check: () => checkKubeconfig(data['admin.conf'], { server: 'https://198.51.100.1:443', caPem, identity: ADMIN, now: new Date(), rotationThreshold: 0 }), want: /points at https:\/\/203\.0\.113\.10:443/ },
    { name: 'another identity', check: () => checkKubeconfig(data['admin.conf'], { server: 'https://203.0.113.10:443', caPem, identity: SUPER_ADMIN, now: new Date(), rotationThreshold: 0 }), want: /want CN=kubernetes-super-admin/ },
    { name: 'a client certificate close to expiry', check: () => checkKubeconfig(data['scheduler.conf'], { server: 'https://127.0.0.1:6443', caPem, identity: SCHEDULER, now: new Date(Date.now() + opts.certificateValidity), rotationThreshold: 0 }), want: /within the rotation threshold/ },
  ];
  for (const tc of problems) {
    it(`reissues on ${tc.name}`, () => expect(tc.check()).to.match(tc.want));
  }

  it('reissues when the CA rotated', async () => {
    const other = (await buildClusterCA(opts))['ca.crt'] ?? '';
    expect(checkKubeconfig(data['admin.conf'], { server: 'https://203.0.113.10:443', caPem: other, identity: ADMIN, now: new Date(), rotationThreshold: 0 })).to.match(/other CAs/);
  });
});
