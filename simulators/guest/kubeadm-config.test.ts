import { expect } from 'chai';
import { parseKubeadmConfig, parseNodeLabels, parseTaintsFlag } from './kubeadm-config.js';

describe('guest kubeadm configuration', () => {
  it('reads a v1beta4 JoinConfiguration: token discovery, kubeletExtraArgs as a list, name, explicit no taints', () => {
    const { join } = parseKubeadmConfig(
      [
        '---',
        'apiVersion: kubeadm.k8s.io/v1beta4',
        'kind: JoinConfiguration',
        'discovery:',
        '  bootstrapToken: {apiServerEndpoint: "10.0.0.1:6443", token: abcdef.0123456789abcdef, caCertHashes: ["sha256:aa"]}',
        'nodeRegistration:',
        '  name: vm-1',
        '  kubeletExtraArgs: [{name: provider-id, value: "kubevirt://vm-1"}, {name: node-labels, value: "a=b"}, {name: v, value: 2}]',
        '  taints: []',
      ].join('\n'),
    );
    expect(join?.bootstrapToken).to.deep.equal({ apiServerEndpoint: '10.0.0.1:6443', token: 'abcdef.0123456789abcdef', caCertHashes: ['sha256:aa'], unsafeSkipCAVerification: false });
    expect(join?.nodeRegistration).to.deep.equal({ name: 'vm-1', kubeletExtraArgs: { 'provider-id': 'kubevirt://vm-1', 'node-labels': 'a=b', v: '2' }, taints: [] });
    expect(join?.controlPlane).to.be.false;
  });

  it('reads a v1beta3 JoinConfiguration: kubeletExtraArgs as a map, file discovery, tlsBootstrapToken, controlPlane', () => {
    const { join } = parseKubeadmConfig(
      [
        'apiVersion: kubeadm.k8s.io/v1beta3',
        'kind: JoinConfiguration',
        'discovery: {file: {kubeConfigPath: /etc/kubernetes/discovery.conf}, tlsBootstrapToken: abcdef.0123456789abcdef}',
        'controlPlane: {localAPIEndpoint: {advertiseAddress: 10.0.0.2}}',
        'nodeRegistration: {kubeletExtraArgs: {node-labels: "x=y"}, taints: [{key: k, value: v, effect: NoExecute}]}',
      ].join('\n'),
    );
    expect(join?.discoveryFile).to.equal('/etc/kubernetes/discovery.conf');
    expect(join?.tlsBootstrapToken).to.equal('abcdef.0123456789abcdef');
    expect(join?.controlPlane).to.be.true;
    expect(join?.nodeRegistration).to.deep.equal({ name: undefined, kubeletExtraArgs: { 'node-labels': 'x=y' }, taints: [{ key: 'k', value: 'v', effect: 'NoExecute' }] });
  });

  it('separates Init and Cluster configurations and ignores non-kubeadm documents', () => {
    const docs = parseKubeadmConfig(
      ['apiVersion: kubeadm.k8s.io/v1beta4', 'kind: InitConfiguration', '---', 'apiVersion: kubeadm.k8s.io/v1beta4', 'kind: ClusterConfiguration', 'clusterName: acme', '---', 'apiVersion: kubelet.config.k8s.io/v1beta1', 'kind: KubeletConfiguration'].join('\n'),
    );
    expect(docs.join).to.equal(undefined);
    expect(docs.init?.kind).to.equal('InitConfiguration');
    expect(docs.cluster?.clusterName).to.equal('acme');
  });

  it('refuses a JoinConfiguration without discovery or with a malformed taint', () => {
    expect(() => parseKubeadmConfig('apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\n')).to.throw(/neither discovery.bootstrapToken nor discovery.file/);
    expect(() =>
      parseKubeadmConfig('apiVersion: kubeadm.k8s.io/v1beta4\nkind: JoinConfiguration\ndiscovery: {file: {kubeConfigPath: /x}}\nnodeRegistration: {taints: [{key: k, effect: Sometimes}]}\n'),
    ).to.throw(/needs a key and effect/);
  });

  it('parses the kubelet flags --node-labels and --register-with-taints', () => {
    expect(parseNodeLabels('a=b, node.kubernetes.io/pool=md-0,empty=')).to.deep.equal({ a: 'b', 'node.kubernetes.io/pool': 'md-0', empty: '' });
    expect(parseTaintsFlag('dedicated=gpu:NoSchedule,maintenance:NoExecute')).to.deep.equal([
      { key: 'dedicated', value: 'gpu', effect: 'NoSchedule' },
      { key: 'maintenance', effect: 'NoExecute' },
    ]);
    expect(() => parseTaintsFlag('bad')).to.throw(/--register-with-taints/);
  });
});
