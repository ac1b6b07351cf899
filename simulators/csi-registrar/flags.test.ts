import { expect } from 'chai';
import { parseRegistrarFlags } from './flags.js';

describe('simulators/csi-registrar flags', () => {
  it('takes upstream DaemonSets\' command line, with the registrar\'s defaults', () => {
    expect(parseRegistrarFlags(['--csi-address=/csi/csi.sock', '--kubelet-registration-path=/var/lib/kubelet/plugins/csi.kubevirt.io/csi.sock', '--v=5'])).to.deep.equal({
      csiAddress: '/csi/csi.sock',
      kubeletRegistrationPath: '/var/lib/kubelet/plugins/csi.kubevirt.io/csi.sock',
      pluginRegistrationPath: '/registration',
      timeoutMs: 1_000,
      logLevel: 'debug',
    });
    expect(parseRegistrarFlags(['--csi-address', 'unix:///csi/csi.sock', '--kubelet-registration-path', '/k/csi.sock', '--plugin-registration-path', '/reg', '--timeout', '3s'])).to.include({
      csiAddress: '/csi/csi.sock',
      pluginRegistrationPath: '/reg',
      timeoutMs: 3_000,
      logLevel: 'info',
    });
  });

  it('refuses what it cannot do, by name', () => {
    expect(() => parseRegistrarFlags(['--csi-address=/csi/csi.sock'])).to.throw(/--kubelet-registration-path is required/);
    expect(() => parseRegistrarFlags(['--kubelet-registration-path=/k', '--http-endpoint=:9809'])).to.throw(/--http-endpoint: the local cloud's node-driver-registrar stand-in does not offer it/);
    expect(() => parseRegistrarFlags(['--kubelet-registration-path=/k', '--no-such-flag'])).to.throw(/no-such-flag/);
    expect(() => parseRegistrarFlags(['--kubelet-registration-path=/k', '--v=x'])).to.throw(/--v: "x"/);
  });
});
