import { expect } from 'chai';
import { GuestFS } from './guest-fs.js';

// /proc/self/mountinfo lines: the fifth field is the mount point.
const mountinfo = [
  '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
  '30 22 0:40 / /etc/hosts ro - tmpfs tmpfs ro',
  '31 22 0:41 / /etc/kubernetes rw - tmpfs tmpfs rw',
  '32 22 0:42 / /var/lib/kubelet rw - tmpfs tmpfs rw',
  '33 22 0:43 / /run/kubeadm rw - tmpfs tmpfs rw',
  '34 22 0:44 / /run/kvcloud/cloudinit/userdata ro - tmpfs tmpfs ro',
].join('\n');

describe('guest filesystem', () => {
  it('puts every path below the root when run outside a pod', () => {
    const fs = GuestFS.rooted('/tmp/guest');
    expect(fs.resolve('/etc/kubeadm.yml')).to.equal('/tmp/guest/etc/kubeadm.yml');
    expect(fs.resolve('/run/cluster-api/../../etc/x')).to.equal('/tmp/guest/etc/x');
  });

  it("in a pod, writes the guest's mounted directories in place and redirects the rest below the kubelet's emptyDir", () => {
    const fs = GuestFS.inPod(mountinfo);
    expect(fs.resolve('/etc/kubernetes/pki/ca.crt')).to.equal('/etc/kubernetes/pki/ca.crt');
    expect(fs.resolve('/run/kubeadm/kubeadm-join-config.yaml')).to.equal('/run/kubeadm/kubeadm-join-config.yaml');
    expect(fs.resolve('/var/run/kvcloud/cloudinit/userdata/userdata')).to.equal('/run/kvcloud/cloudinit/userdata/userdata');
    // Not mounted in this pod: never the host's own /run/cluster-api or /etc.
    expect(fs.resolve('/run/cluster-api/bootstrap-success.complete')).to.equal('/var/lib/kubelet/guest-rootfs/run/cluster-api/bootstrap-success.complete');
    expect(fs.resolve('/etc/kubeadm.yml')).to.equal('/var/lib/kubelet/guest-rootfs/etc/kubeadm.yml');
    expect(fs.resolve('/etc/hosts')).to.equal('/var/lib/kubelet/guest-rootfs/etc/hosts');
  });

  it("in a pod, finds the VM's own /dev and udev database in place, where its hot-plugged disks appear", () => {
    const fs = GuestFS.inPod(mountinfo);
    expect(['/dev', '/dev/disk/by-id', '/run/udev', '/var/run/udev/data'].map((p) => fs.resolve(p))).to.deep.equal(['/dev', '/dev/disk/by-id', '/run/udev', '/run/udev/data']);
    expect(fs.resolve('/devices')).to.equal('/var/lib/kubelet/guest-rootfs/devices');
    expect(fs.resolve('/run/udevd')).to.equal('/var/lib/kubelet/guest-rootfs/run/udevd');
  });

  it('refuses to write outside its mounts when the kubelet directory is not mounted', () => {
    const fs = GuestFS.inPod('22 1 8:1 / / rw - ext4 /dev/sda1 rw');
    expect(() => fs.resolve('/etc/kubeadm.yml')).to.throw(/not a mount of this pod/);
  });
});
