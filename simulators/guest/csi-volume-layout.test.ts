import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { attachmentName, nodeIdAnnotation, publishPath, stagingPath, uniqueVolumeName, volumeCapability, withCSINodeDriver } from './csi-volume-layout.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const fsVolume = { driver: 'csi.kubevirt.io', volumeHandle: 'pvc-1', pvName: 'pvc-1', block: false };
const blockVolume = { ...fsVolume, block: true };

describe('guest kubelet CSI volume layout', () => {
  it('names the VolumeAttachment as the attach-detach controller does: csi-<sha256(handle, driver, node)>', () => {
    expect(attachmentName('pvc-1', 'csi.kubevirt.io', 'worker-1')).to.equal(`csi-${sha('pvc-1csi.kubevirt.ioworker-1')}`);
  });

  it('names volumes in volumesInUse as the CSI plugin does', () => {
    expect(uniqueVolumeName('csi.kubevirt.io', 'pvc-1')).to.equal('kubernetes.io/csi/csi.kubevirt.io^pvc-1');
  });

  const paths = [
    { name: 'stages a filesystem volume once per node under the driver and the handle hash', got: stagingPath('/var/lib/kubelet', fsVolume), want: `/var/lib/kubelet/plugins/kubernetes.io/csi/csi.kubevirt.io/${sha('pvc-1')}/globalmount` },
    { name: 'publishes a filesystem volume into the pod directory', got: publishPath('/var/lib/kubelet', 'uid-1', fsVolume), want: '/var/lib/kubelet/pods/uid-1/volumes/kubernetes.io~csi/pvc-1/mount' },
    { name: 'stages a block volume under volumeDevices/staging', got: stagingPath('/var/lib/kubelet', blockVolume), want: '/var/lib/kubelet/plugins/kubernetes.io/csi/volumeDevices/staging/pvc-1' },
    { name: 'publishes a block volume per pod under volumeDevices/publish', got: publishPath('/var/lib/kubelet', 'uid-1', blockVolume), want: '/var/lib/kubelet/plugins/kubernetes.io/csi/volumeDevices/publish/pvc-1/uid-1' },
  ];
  for (const tc of paths) it(tc.name, () => expect(tc.got).to.equal(tc.want));

  const capabilities = [
    { name: 'ReadWriteOnce filesystem with fsType and mount options', pv: { accessModes: ['ReadWriteOnce'], fsType: 'ext4', mountOptions: ['noatime'] }, block: false, want: { mount: { fs_type: 'ext4', mount_flags: ['noatime'] }, access_mode: { mode: 'SINGLE_NODE_WRITER' } } },
    { name: 'ReadWriteOncePod falls back to single-node writer', pv: { accessModes: ['ReadWriteOncePod'] }, block: false, want: { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } } },
    { name: 'ReadWriteMany block', pv: { accessModes: ['ReadWriteMany'] }, block: true, want: { block: {}, access_mode: { mode: 'MULTI_NODE_MULTI_WRITER' } } },
    { name: 'no access mode', pv: {}, block: true, want: { block: {}, access_mode: { mode: 'UNKNOWN' } } },
  ];
  for (const tc of capabilities) it(`asks for the capability of ${tc.name}`, () => expect(volumeCapability(tc.pv, tc.block)).to.deep.equal(tc.want));

  it('keeps other drivers in the node ID annotation, drops a removed one, and rewrites a garbled one', () => {
    expect(nodeIdAnnotation('{"other":"n1"}', 'csi.kubevirt.io', 'ns/vm')).to.equal('{"other":"n1","csi.kubevirt.io":"ns/vm"}');
    expect(nodeIdAnnotation('{"csi.kubevirt.io":"ns/vm"}', 'csi.kubevirt.io', undefined)).to.equal(undefined);
    expect(nodeIdAnnotation('not json', 'csi.kubevirt.io', 'ns/vm')).to.equal('{"csi.kubevirt.io":"ns/vm"}');
  });

  it("replaces a driver's CSINode entry and leaves the others", () => {
    const drivers = [{ name: 'a', nodeID: '1' }, { name: 'csi.kubevirt.io', nodeID: 'old' }];
    expect(withCSINodeDriver(drivers, 'csi.kubevirt.io', { name: 'csi.kubevirt.io', nodeID: 'ns/vm' })).to.deep.equal([{ name: 'a', nodeID: '1' }, { name: 'csi.kubevirt.io', nodeID: 'ns/vm' }]);
    expect(withCSINodeDriver(drivers, 'csi.kubevirt.io', undefined)).to.deep.equal([{ name: 'a', nodeID: '1' }]);
  });

  it('adds the first driver to a CSINode the apiserver returns with drivers: null', () => {
    expect(withCSINodeDriver(null, 'csi.kubevirt.io', { name: 'csi.kubevirt.io', nodeID: 'ns/vm' })).to.deep.equal([{ name: 'csi.kubevirt.io', nodeID: 'ns/vm' }]);
  });
});
