import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { defaultRegistrationProtoPath, KUBELET_REGISTRATION_API_VERSION, pluginInfo } from './registration.js';

// The round trip with a kubelet (GetInfo, NotifyRegistrationStatus) is proven by e2e/suites/csi/pvc.e2e.ts, where
// the simulated guest's kubelet registers the node plugin from api.proto as `make tools` fetches it.
describe('csi/registration', () => {
  it('speaks the kubelet registration API of the k8s.io/kubelet version e2e/tools/versions.env fetches', () => {
    const env = readFileSync(new URL('../e2e/tools/versions.env', import.meta.url), 'utf8');
    expect(/^KUBELET_REGISTRATION_API_VERSION=(.*)$/m.exec(env)?.[1]).to.equal(KUBELET_REGISTRATION_API_VERSION);
    expect(defaultRegistrationProtoPath({ KVCLOUD_CACHE: '/cache' })).to.equal(`/cache/bin/csi-registration-${KUBELET_REGISTRATION_API_VERSION}/api.proto`);
  });

  it('presents itself as a CSI plugin of CSI 1.x at the socket the kubelet dials', () => {
    expect(pluginInfo('csi.kubevirt.io', '/var/lib/kubelet/plugins/csi.kubevirt.io/csi.sock')).to.deep.equal({
      type: 'CSIPlugin',
      name: 'csi.kubevirt.io',
      endpoint: '/var/lib/kubelet/plugins/csi.kubevirt.io/csi.sock',
      supported_versions: ['1.0.0'],
    });
  });
});
