import { expect } from 'chai';
import { stringify } from 'yaml';
import { kubeProxySettings, nodePortAddresses, parseKubeProxyFlags, withTokenFilesRead } from './kube-proxy-config.js';
import type { Node } from '../../node-object.js';

const kubeadmConfig = stringify({
  apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
  kind: 'KubeProxyConfiguration',
  clientConnection: { kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf' },
  mode: 'iptables',
});

describe('kube-proxy command line and configuration for the service proxy', () => {
  const flagCases: { name: string; args: string[]; want: ReturnType<typeof parseKubeProxyFlags> | RegExp }[] = [
    {
      name: "kubeadm's DaemonSet command",
      args: ['--config=/var/lib/kube-proxy/config.conf', '--hostname-override=acme-vm1'],
      want: { config: '/var/lib/kube-proxy/config.conf', hostnameOverride: 'acme-vm1', kubeconfig: undefined },
    },
    { name: 'values as separate arguments, verbosity ignored', args: ['--kubeconfig', '/k', '--v=2'], want: { config: undefined, hostnameOverride: undefined, kubeconfig: '/k' } },
    { name: 'a flag the userspace proxy cannot honour', args: ['--ipvs-scheduler=rr'], want: /--ipvs-scheduler is not supported/ },
    { name: 'a flag without its value', args: ['--config'], want: /--config needs a value/ },
    { name: 'a stray argument', args: ['extra'], want: /unexpected argument "extra"/ },
  ];
  for (const tc of flagCases) {
    it(`parses flags: ${tc.name}`, () => {
      if (tc.want instanceof RegExp) expect(() => parseKubeProxyFlags(tc.args)).to.throw(tc.want);
      else expect(parseKubeProxyFlags(tc.args)).to.deep.equal(tc.want);
    });
  }

  it("takes the kubeconfig from the file and the node name from --hostname-override, lower-cased as kube-proxy's", () => {
    const flags = { config: '/var/lib/kube-proxy/config.conf', hostnameOverride: 'Acme-VM1', kubeconfig: '/ignored' };
    expect(kubeProxySettings(flags, kubeadmConfig, 'host')).to.deep.equal({ kubeconfig: '/var/lib/kube-proxy/kubeconfig.conf', nodeName: 'acme-vm1' });
  });

  it('resolves a relative kubeconfig against the configuration file and falls back to the hostname', () => {
    const text = stringify({ kind: 'KubeProxyConfiguration', clientConnection: { kubeconfig: 'kc.conf' } });
    expect(kubeProxySettings({ config: '/etc/kp/config.conf', hostnameOverride: undefined, kubeconfig: undefined }, text, 'vm2')).to.deep.equal({
      kubeconfig: '/etc/kp/kc.conf',
      nodeName: 'vm2',
    });
  });

  it('uses --kubeconfig without a file, and the in-cluster account without either', () => {
    expect(kubeProxySettings({ config: undefined, hostnameOverride: undefined, kubeconfig: '/k' }, undefined, 'h').kubeconfig).to.equal('/k');
    expect(kubeProxySettings({ config: undefined, hostnameOverride: undefined, kubeconfig: undefined }, undefined, 'h').kubeconfig).to.equal(undefined);
  });

  it('refuses a configuration file of another kind, naming it', () => {
    const flags = { config: '/c', hostnameOverride: undefined, kubeconfig: undefined };
    expect(() => kubeProxySettings(flags, stringify({ kind: 'KubeletConfiguration' }), 'h')).to.throw(/\/c holds kind "KubeletConfiguration", expected KubeProxyConfiguration/);
  });

  it("reads client-go's tokenFile into the token client-node understands", () => {
    const kubeconfig = stringify({ users: [{ name: 'default', user: { tokenFile: '/sa/token' } }, { name: 'other', user: { token: 'kept' } }] });
    const read: string[] = [];
    const out = withTokenFilesRead(kubeconfig, (p) => {
      read.push(p);
      return 'secret-token\n';
    });
    expect(out.users).to.deep.equal([
      { name: 'default', user: { token: 'secret-token' } },
      { name: 'other', user: { token: 'kept' } },
    ]);
    expect(read).to.deep.equal(['/sa/token']);
  });

  it("serves NodePorts on the Node's IPv4 InternalIPs only, and refuses a Node without one", () => {
    const node = (addresses: { type: string; address: string }[]): Node => ({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'vm1' }, status: { addresses } }) as Node;
    expect(
      nodePortAddresses(
        node([
          { type: 'Hostname', address: 'vm1' },
          { type: 'InternalIP', address: '10.244.0.7' },
          { type: 'InternalIP', address: 'fd00::7' },
        ]),
      ),
    ).to.deep.equal(['10.244.0.7']);
    expect(() => nodePortAddresses(node([]))).to.throw(/Node vm1 has no IPv4 InternalIP/);
  });
});
