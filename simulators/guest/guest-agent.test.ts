import { expect } from 'chai';
import { filesystemMounts, parseOsRelease, timezone } from './guest-agent.js';

describe('guest agent reports', () => {
  it('reads os-release, quoted or not', () => {
    expect(parseOsRelease('NAME="Debian GNU/Linux"\nVERSION_ID=12\nID=debian\n# comment\nPRETTY_NAME=\'Debian 12\'\n')).to.deep.equal({
      NAME: 'Debian GNU/Linux',
      VERSION_ID: '12',
      ID: 'debian',
      PRETTY_NAME: 'Debian 12',
    });
  });

  it('lists real filesystems once, without kernel pseudo filesystems or its own overlays', () => {
    const mountinfo = [
      '21 1 252:1 / / rw - ext4 /dev/vda rw',
      '22 21 0:5 / /proc rw - proc proc rw',
      '23 21 0:6 / /dev rw - overlay kvcloud-guest rw',
      '24 21 252:1 / /etc/kubernetes rw - ext4 /dev/vda rw',
      '25 21 252:1 / /etc/kubernetes rw - ext4 /dev/vda rw',
      '26 21 0:7 / /sys/fs/cgroup rw - cgroup2 cgroup rw',
    ].join('\n');
    expect(filesystemMounts(mountinfo)).to.deep.equal([
      { mountPoint: '/', type: 'ext4', source: '/dev/vda' },
      { mountPoint: '/etc/kubernetes', type: 'ext4', source: '/dev/vda' },
    ]);
  });

  it('gives the timezone as zone and offset in seconds', () => {
    expect(timezone(new Date())).to.match(/^[\w/+-]+, -?\d+$/);
  });
});
