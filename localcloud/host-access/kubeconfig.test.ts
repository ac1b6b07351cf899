import { expect } from 'chai';
import { parse } from 'yaml';
import { apiServerAddress, hostKubeconfig } from './kubeconfig.js';

const kubeconfig = (server: string, extra = '') => `apiVersion: v1
kind: Config
current-context: admin@acme
clusters:
  - name: other
    cluster:
      server: https://10.0.0.9:6443
  - name: acme
    cluster:
      server: ${server}
      certificate-authority-data: Q0E=${extra}
contexts:
  - name: admin@acme
    context:
      cluster: acme
      user: admin
users:
  - name: admin
    user:
      client-certificate-data: Q0VSVA==
      client-key-data: S0VZ
`;

interface Parsed {
  clusters: { name: string; cluster: Record<string, string> }[];
  users: { name: string; user: Record<string, string> }[];
}

describe('localcloud/host-access/kubeconfig', () => {
  const cases = [
    { name: 'an IPv4 address with a port', server: 'https://10.255.255.1:6443', want: { host: '10.255.255.1', port: 6443 } },
    { name: 'a host name without a port (443)', server: 'https://acme.tenants.svc', want: { host: 'acme.tenants.svc', port: 443 } },
    { name: 'an IPv6 address, without its brackets', server: 'https://[fd00::10]:6443', want: { host: 'fd00::10', port: 6443 } },
  ];
  for (const tc of cases) {
    it(`finds the current context's apiserver: ${tc.name}`, () => {
      expect(apiServerAddress(kubeconfig(tc.server))).to.deep.equal(tc.want);
    });
  }

  it('points the current cluster at the forwarded port and verifies the certificate for the original address', () => {
    const out = parse(hostKubeconfig(kubeconfig('https://10.255.255.1:6443'), 41234)) as Parsed;
    expect(out.clusters.find((c) => c.name === 'acme')?.cluster).to.deep.equal({
      server: 'https://127.0.0.1:41234',
      'certificate-authority-data': 'Q0E=',
      'tls-server-name': '10.255.255.1',
    });
  });

  it('leaves the other clusters and the credentials as they were', () => {
    const out = parse(hostKubeconfig(kubeconfig('https://10.255.255.1:6443'), 41234)) as Parsed;
    expect(out.clusters.find((c) => c.name === 'other')?.cluster).to.deep.equal({ server: 'https://10.0.0.9:6443' });
    expect(out.users).to.deep.equal([{ name: 'admin', user: { 'client-certificate-data': 'Q0VSVA==', 'client-key-data': 'S0VZ' } }]);
  });

  it('keeps a tls-server-name the kubeconfig already had', () => {
    const out = parse(hostKubeconfig(kubeconfig('https://10.255.255.1:6443', '\n      tls-server-name: api.acme.example'), 41234)) as Parsed;
    expect(out.clusters.find((c) => c.name === 'acme')?.cluster['tls-server-name']).to.equal('api.acme.example');
  });

  const bad = [
    { name: 'a plain-http server', text: kubeconfig('http://10.0.0.1:8080'), want: /not https/ },
    { name: 'a current context that does not exist', text: kubeconfig('https://10.0.0.1').replace('current-context: admin@acme', 'current-context: gone'), want: /no current context "gone"/ },
    { name: 'a context naming a cluster that is not there', text: kubeconfig('https://10.0.0.1').replace('cluster: acme\n      user', 'cluster: nope\n      user'), want: /names cluster "nope", which has no server/ },
    { name: 'a file that is not a kubeconfig', text: '', want: /not a kubeconfig/ },
  ];
  for (const tc of bad) {
    it(`rejects ${tc.name}, naming the file`, () => {
      expect(() => hostKubeconfig(tc.text, 41234, 'acme.kubeconfig')).to.throw(Error, /^acme\.kubeconfig: /).with.property('message').that.matches(tc.want);
    });
  }

  it('rejects a port that is not a TCP port', () => {
    expect(() => hostKubeconfig(kubeconfig('https://10.0.0.1'), 0)).to.throw(/not a TCP port/);
  });
});
