import { expect } from 'chai';
import { stringify } from 'yaml';
import { clusterDNSOf } from './kubelet-config.js';

const config = (fields: Record<string, unknown>) => stringify({ apiVersion: 'kubelet.config.k8s.io/v1beta1', kind: 'KubeletConfiguration', ...fields });

describe("the cluster's KubeletConfiguration as the guest kubelet reads it", () => {
  it('takes clusterDNS and clusterDomain, without a trailing dot', () => {
    expect(clusterDNSOf(config({ clusterDNS: ['10.95.0.10'], clusterDomain: 'acme.local.' }))).to.deep.equal({ nameservers: ['10.95.0.10'], domain: 'acme.local' });
  });

  it('defaults the domain to cluster.local', () => {
    expect(clusterDNSOf(config({ clusterDNS: ['10.95.0.10'] }))).to.deep.equal({ nameservers: ['10.95.0.10'], domain: 'cluster.local' });
  });

  it('gives no cluster DNS when the configuration names no server', () => {
    expect(clusterDNSOf(config({ clusterDomain: 'cluster.local' }))).to.equal(undefined);
    expect(clusterDNSOf(config({ clusterDNS: [] }))).to.equal(undefined);
  });

  it('refuses another kind, naming it', () => {
    expect(() => clusterDNSOf(stringify({ kind: 'KubeProxyConfiguration' }))).to.throw(/holds kind "KubeProxyConfiguration"/);
  });
});
