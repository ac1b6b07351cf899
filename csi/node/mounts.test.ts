import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingTools, parseMountinfo } from './mounts.js';

describe('csi/node/mounts', () => {
  it('parses mountinfo lines, optional fields and octal escapes included', () => {
    const text = [
      '36 35 98:0 / /mnt1 rw,noatime master:1 - ext3 /dev/root rw,errors=continue',
      '120 36 7:3 / /var/lib/kubelet/plugins/staging\\040dir rw,relatime - ext4 /dev/loop3 ro,errors=remount-ro',
      '121 36 7:3 / /pods/target rw,relatime shared:5 - ext4 /dev/loop3 rw',
      '',
    ].join('\n');
    const entries = parseMountinfo(text);
    expect(entries).to.have.length(3);
    expect(entries[1]).to.deep.equal({ device: '7:3', root: '/', point: '/var/lib/kubelet/plugins/staging dir', options: ['rw', 'relatime'], superOptions: ['ro', 'errors=remount-ro'], fsType: 'ext4', source: '/dev/loop3' });
    expect(entries[2]?.fsType).to.equal('ext4');
  });

  it('names the tools found in no PATH directory, counting only executables', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'csi-tools-'));
    try {
      await writeFile(join(dir, 'blkid'), '#!/bin/sh\n', { mode: 0o755 });
      await writeFile(join(dir, 'mount'), 'not executable', { mode: 0o644 });
      expect(await missingTools(['blkid', 'mount', 'mkfs.ext4'], `/nonexistent:${dir}`)).to.deep.equal(['mount', 'mkfs.ext4']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
