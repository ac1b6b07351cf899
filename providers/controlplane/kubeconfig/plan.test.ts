import { X509Certificate } from 'node:crypto';
import { expect } from 'chai';
import { parseKubeconfig } from '../../../lib/kube/client-cert-kubeconfig.js';
import { certificatePem } from '../../../lib/pki/x509.js';
import { buildLeaf, CA_SECRET, buildClusterCA, DEFAULT_PKI_OPTIONS, KONNECTIVITY, loadCA } from '../pki/index.js';
import type { KubeconfigTarget } from './builders.js';
import { planKubeconfigs, type KubeconfigPlanInput } from './plan.js';

const target: KubeconfigTarget = { tenant: 'acme', namespace: 'tenants', port: 6443, endpointHost: '203.0.113.10', endpointPort: 6443 };
const ALL = ['admin-kubeconfig', 'controller-manager-kubeconfig', 'konnectivity-kubeconfig', 'scheduler-kubeconfig'];

describe('controlplane/kubeconfig planKubeconfigs', () => {
  let input: KubeconfigPlanInput;
  before(async () => {
    const ca = await loadCA(await buildClusterCA(DEFAULT_PKI_OPTIONS), CA_SECRET);
    input = { target, ca, konnectivityCertificate: await buildLeaf(KONNECTIVITY, ca, DEFAULT_PKI_OPTIONS), options: DEFAULT_PKI_OPTIONS, now: new Date() };
  });

  it('writes every kubeconfig of a new tenant, then nothing while it is steady', async () => {
    const first = await planKubeconfigs({}, input);
    expect(Object.keys(first.changed).sort()).to.deep.equal(ALL);
    const second = await planKubeconfigs(first.secrets, input);
    expect(second.changed).to.deep.equal({});
  });

  it('reissues a forced kubeconfig with a new client certificate, and only that one', async () => {
    const first = await planKubeconfigs({}, input);
    const forced = await planKubeconfigs(first.secrets, { ...input, force: { 'admin-kubeconfig': 'rotate requested' } });
    expect(forced.changed).to.deep.equal({ 'admin-kubeconfig': 'rotate requested' });
    expect(forced.secrets['admin-kubeconfig']?.['admin.conf']).to.not.equal(first.secrets['admin-kubeconfig']?.['admin.conf']);
  });

  it('trusts the whole bundle during a CA rotation, client certificates still from the signing CA', async () => {
    const first = await planKubeconfigs({}, input);
    const other = (await buildClusterCA(DEFAULT_PKI_OPTIONS))['ca.crt'] ?? '';
    const trustPem = certificatePem(input.ca.cert) + other;
    const bundled = await planKubeconfigs(first.secrets, { ...input, trustPem });
    expect(Object.keys(bundled.changed).sort()).to.deep.equal(ALL);
    const admin = parseKubeconfig(bundled.secrets['admin-kubeconfig']?.['admin.conf'] ?? '');
    expect(admin.caPem).to.equal(trustPem);
    expect(new X509Certificate(admin.certPem).verify(new X509Certificate(certificatePem(input.ca.cert)).publicKey)).to.equal(true);
    expect((await planKubeconfigs(bundled.secrets, { ...input, trustPem })).changed).to.deep.equal({});
  });

  it('rewrites only the admin kubeconfigs when the public endpoint moves', async () => {
    const first = await planKubeconfigs({}, input);
    const moved = await planKubeconfigs(first.secrets, { ...input, target: { ...target, endpointHost: '198.51.100.7' } });
    expect(Object.keys(moved.changed)).to.deep.equal(['admin-kubeconfig']);
  });

  it('rewrites everything when the cluster CA rotates, and the konnectivity one when its certificate is reissued', async () => {
    const first = await planKubeconfigs({}, input);
    const ca = await loadCA(await buildClusterCA(DEFAULT_PKI_OPTIONS), CA_SECRET);
    const rotated = await planKubeconfigs(first.secrets, { ...input, ca, konnectivityCertificate: await buildLeaf(KONNECTIVITY, ca, DEFAULT_PKI_OPTIONS) });
    expect(Object.keys(rotated.changed).sort()).to.deep.equal(ALL);
    const reissued = await planKubeconfigs(first.secrets, { ...input, konnectivityCertificate: await buildLeaf(KONNECTIVITY, input.ca, DEFAULT_PKI_OPTIONS) });
    expect(reissued.changed).to.deep.equal({ 'konnectivity-kubeconfig': 'the konnectivity certificate was reissued' });
  });
});
