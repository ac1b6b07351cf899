import { expect } from 'chai';
import { byIdName, parseMountinfo, submountsOf, udevRecord } from './guest-devices.js';

describe('guest disk naming', () => {
  it('names by-id links as udev does for QEMU virtio and SCSI disks', () => {
    expect(byIdName('virtio', 'DATA1')).to.equal('virtio-DATA1');
    expect(byIdName('scsi', 'DATA1')).to.equal('scsi-0QEMU_QEMU_HARDDISK_DATA1');
  });

  it("records the serial where lsblk looks for it (ID_SCSI_SERIAL / ID_SERIAL_SHORT, ID_SERIAL)", () => {
    expect(udevRecord('scsi', 'DATA1').split('\n')).to.include.members(['E:ID_SCSI_SERIAL=DATA1', 'E:ID_SERIAL_SHORT=DATA1', 'E:ID_SERIAL=0QEMU_QEMU_HARDDISK_DATA1', 'S:disk/by-id/scsi-0QEMU_QEMU_HARDDISK_DATA1']);
    expect(udevRecord('virtio', 'DATA1').split('\n')).to.include.members(['E:ID_SERIAL=DATA1', 'S:disk/by-id/virtio-DATA1']);
    expect(udevRecord('virtio', undefined)).to.not.include('SERIAL');
  });
});

describe('guest private directories', () => {
  const mountinfo = [
    '21 1 252:1 / / rw - ext4 /dev/vda rw',
    '22 21 0:5 / /dev rw - devtmpfs udev rw',
    '23 22 0:20 / /dev/shm rw - tmpfs tmpfs rw',
    '24 22 0:21 / /dev/pts rw - devpts devpts rw',
    '25 24 0:21 / /dev/pts rw - devpts devpts rw',
    '30 21 0:40 / /run rw - overlay kvcloud-copy rw',
    '31 30 0:41 / /run/kubeadm rw - ext4 /dev/vda rw',
    '32 30 0:42 / /run/kvcloud/cloudinit/userdata ro - tmpfs tmpfs ro',
    '33 31 0:43 / /run/kubeadm/inner rw - tmpfs tmpfs rw',
    '40 21 0:44 / /var/lib/kubelet rw - ext4 /dev/vda rw',
    '41 21 0:45 / /with\\040space rw - tmpfs tmpfs rw',
  ].join('\n');
  const entries = parseMountinfo(mountinfo);

  it('finds the mounts directly below a directory, once per mount point (stacked mounts travel together)', () => {
    expect(submountsOf(entries, '/dev')).to.deep.equal(['/dev/shm', '/dev/pts']);
    expect(submountsOf(entries, '/run')).to.deep.equal(['/run/kubeadm', '/run/kvcloud/cloudinit/userdata']);
  });

  it('finds submounts of a directory that is not itself a mount point', () => {
    expect(submountsOf(entries, '/var/lib')).to.deep.equal(['/var/lib/kubelet']);
  });

  it('decodes octal escapes in mount points', () => {
    expect(entries.at(-1)?.point).to.equal('/with space');
  });
});
