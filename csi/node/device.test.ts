import { expect } from 'chai';
import { byIdCandidates, deviceFromLsblk } from './device.js';

describe('csi/node/device', () => {
  const uid = '0a1b2c3d-4e5f-6789-abcd-ef0123456789';

  it('looks for the disk under every by-id name its serial can take, the virtio truncation included', () => {
    expect(byIdCandidates(uid)).to.deep.equal([`virtio-${uid}`, `scsi-0QEMU_QEMU_HARDDISK_${uid}`, `scsi-${uid}`, 'virtio-0a1b2c3d-4e5f-6789-a']);
    expect(byIdCandidates('SHORT')).to.have.length(3);
  });

  it('finds the disk in lsblk output by its full or virtio-truncated serial', () => {
    const json = JSON.stringify({ blockdevices: [{ name: 'sda', serial: 'root' }, { name: 'vdb', serial: uid.slice(0, 20) }, { name: 'loop0', serial: null }] });
    expect(deviceFromLsblk(json, uid)).to.equal('/dev/vdb');
    expect(deviceFromLsblk(json, 'root')).to.equal('/dev/sda');
    expect(deviceFromLsblk(json, 'missing')).to.equal(undefined);
    // A short serial is never matched by prefix: "roo" is not "root".
    expect(deviceFromLsblk(json, 'roo')).to.equal(undefined);
  });
});
