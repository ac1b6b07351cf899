import { expect } from 'chai';
import { stringify } from 'yaml';
import { parseKubeconfig, renderKubeconfig } from './client-cert-kubeconfig.js';
import { kubeConfigFromString } from './kubeconfig.js';

describe('lib/kube client-certificate kubeconfig', () => {
  const params = {
    clusterName: 'tenant-a',
    server: 'https://10.0.0.1:6443',
    caPem: 'CA PEM\n',
    user: 'kubernetes-admin',
    certPem: 'CERT PEM\n',
    keyPem: 'KEY PEM\n',
  };

  it('reads back the server and credentials it writes', () => {
    expect(parseKubeconfig(renderKubeconfig(params))).to.deep.equal({
      server: params.server,
      caPem: params.caPem,
      certPem: params.certPem,
      keyPem: params.keyPem,
    });
  });

  it('names the context user@cluster and makes it current, as client-node reads it', () => {
    const kc = kubeConfigFromString(renderKubeconfig(params), 'test');
    expect(kc.getCurrentContext()).to.equal('kubernetes-admin@tenant-a');
    expect(kc.getCurrentCluster()?.server).to.equal(params.server);
    expect(kc.getCurrentUser()?.name).to.equal('kubernetes-admin');
  });

  const broken: { name: string; text: string; error: RegExp }[] = [
    { name: 'an empty document', text: '', error: /current context server/ },
    {
      name: 'a context naming no cluster',
      text: stringify({ 'current-context': 'x', contexts: [{ name: 'x', context: { cluster: 'gone', user: 'u' } }] }),
      error: /current context server/,
    },
    {
      name: 'a user without a client key',
      text: renderKubeconfig(params).replace(/client-key-data: .*/, 'client-key-data: ""'),
      error: /lacks client-key-data/,
    },
  ];
  for (const tc of broken) {
    it(`refuses ${tc.name}`, () => expect(() => parseKubeconfig(tc.text)).to.throw(tc.error));
  }
});
