import { expect } from 'chai';
import { checkWellFormed, isReadOnlyMode, unsupportedReason, volumeModeOf } from './capabilities.js';
import type { VolumeCapability } from './csi-types.js';

const mount = (mode: NonNullable<VolumeCapability['access_mode']>['mode'], fs_type = ''): VolumeCapability => ({ mount: { fs_type }, access_mode: { mode } });
const block = (mode: NonNullable<VolumeCapability['access_mode']>['mode']): VolumeCapability => ({ block: {}, access_mode: { mode } });

describe('csi/capabilities', () => {
  const malformed = [
    { name: 'no capability', cap: undefined, want: /volume_capability is required/ },
    { name: 'no access type', cap: { access_mode: { mode: 'SINGLE_NODE_WRITER' } } as VolumeCapability, want: /access_type \(block or mount\) is required/ },
    { name: 'both access types', cap: { block: {}, mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } } as VolumeCapability, want: /either block or mount/ },
    { name: 'no access mode', cap: { mount: {} }, want: /access_mode is required/ },
    { name: 'mode UNKNOWN', cap: mount('UNKNOWN'), want: /access_mode is required/ },
  ];
  for (const tc of malformed) it(`refuses ${tc.name} as malformed`, () => expect(() => checkWellFormed(tc.cap)).to.throw(tc.want));

  const support = [
    { name: 'a single-node writer filesystem', cap: mount('SINGLE_NODE_WRITER'), want: undefined },
    { name: 'a read-only ext4 filesystem', cap: mount('SINGLE_NODE_READER_ONLY', 'ext4'), want: undefined },
    { name: 'a shared raw block device (live migration)', cap: block('MULTI_NODE_MULTI_WRITER'), want: undefined },
    { name: 'a shared filesystem', cap: mount('MULTI_NODE_MULTI_WRITER'), want: /supported for Block volumes only/ },
    { name: 'a multi-node reader', cap: block('MULTI_NODE_READER_ONLY'), want: /MULTI_NODE_READER_ONLY is not supported/ },
    { name: 'an unknown filesystem', cap: mount('SINGLE_NODE_WRITER', 'zfs'), want: /fs_type zfs is not supported/ },
  ];
  for (const tc of support) {
    it(`judges ${tc.name}`, () => {
      const why = unsupportedReason(tc.cap);
      if (tc.want) expect(why).to.match(tc.want);
      else expect(why).to.equal(undefined);
    });
  }

  it('derives one volume mode from the capabilities and refuses a block and mount mix', () => {
    expect(volumeModeOf([mount('SINGLE_NODE_WRITER')])).to.equal('Filesystem');
    expect(volumeModeOf([block('SINGLE_NODE_WRITER'), block('MULTI_NODE_MULTI_WRITER')])).to.equal('Block');
    expect(() => volumeModeOf([block('SINGLE_NODE_WRITER'), mount('SINGLE_NODE_WRITER')])).to.throw(/both block and mount/);
  });

  it('treats the reader-only modes as read-only', () => {
    expect(isReadOnlyMode(mount('SINGLE_NODE_READER_ONLY'))).to.equal(true);
    expect(isReadOnlyMode(mount('SINGLE_NODE_WRITER'))).to.equal(false);
  });
});
