import { expect } from 'chai';
import { identityService } from './identity.js';

describe('csi/identity', () => {
  const capabilities = async (topology: boolean) =>
    ((await identityService({ vendorVersion: '1', ready: () => Promise.resolve(true), topology }).GetPluginCapabilities?.({} as never)) as { capabilities: object[] }).capabilities;

  it('advertises VOLUME_ACCESSIBILITY_CONSTRAINTS only with --topology', async () => {
    expect(await capabilities(false)).to.deep.equal([{ service: { type: 'CONTROLLER_SERVICE' } }, { volume_expansion: { type: 'ONLINE' } }]);
    expect(await capabilities(true)).to.deep.include({ service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } });
  });
});
