import { expect } from 'chai';
import { refusalOf } from './csi-plugins.js';

const csi = { type: 'CSIPlugin', name: 'csi.kubevirt.io', endpoint: '/var/lib/kubelet/plugins/csi.kubevirt.io/csi.sock', supported_versions: ['1.0.0'] };

describe('guest kubelet plugin registration', () => {
  const cases = [
    { name: 'accepts a CSI plugin of CSI 1.x', info: csi, want: undefined },
    { name: 'accepts a version written with a v', info: { ...csi, supported_versions: ['v1.13.0'] }, want: undefined },
    { name: 'refuses a device plugin', info: { ...csi, type: 'DevicePlugin' }, want: /plugin type DevicePlugin is not supported/ },
    { name: 'refuses a plugin without an endpoint', info: { ...csi, endpoint: '' }, want: /gave no endpoint/ },
    { name: 'refuses a plugin of CSI 0.x only', info: { ...csi, supported_versions: ['0.3.0'] }, want: /supports none of the CSI versions/ },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const refusal = refusalOf(tc.info);
      if (tc.want === undefined) expect(refusal).to.equal(undefined);
      else expect(refusal).to.match(tc.want);
    });
  }
});
