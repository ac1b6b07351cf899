import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import type { ManagedProcess } from '../process.js';
import { containerSetUp, namespacePropagation } from './container-process.js';

describe('container process', () => {
  it('starts a container with only private mounts in a mount namespace private from the start', () => {
    expect(namespacePropagation([{ source: '/a', target: '/a', readOnly: false }, { source: '/b', target: '/b', readOnly: true, propagation: 'private' }])).to.equal('private');
  });

  it('keeps the namespace joined to the host for the entry script when a mount propagates', () => {
    for (const propagation of ['rslave', 'rshared'] as const) {
      expect(namespacePropagation([{ source: '/a', target: '/a', readOnly: false }, { source: '/var/lib/kubelet', target: '/var/lib/kubelet', readOnly: false, propagation }])).to.equal('unchanged');
    }
  });

  it('waits for container-entry.sh to say the container is set up, and not forever', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'container-set-up-'));
    try {
      // This process stands in for the container: its root is the node's own.
      const running = { exitStatus: undefined, pid: process.pid } as unknown as ManagedProcess;
      setTimeout(() => void writeFile(join(dir, 'set-up'), ''), 100);
      expect(await containerSetUp(dir, running, 5000), 'the marker appeared, no root switch to wait for').to.equal(true);
      await writeFile(join(dir, 'set-up'), 'root');
      expect(await containerSetUp(dir, running, 200), 'a root switch that has not happened').to.equal(false);
      await rm(join(dir, 'set-up'));
      const began = Date.now();
      expect(await containerSetUp(dir, running, 200), 'no marker within the limit').to.equal(false);
      expect(Date.now() - began).to.be.below(2000);
      const exited = { exitStatus: { code: 128 } } as unknown as ManagedProcess;
      expect(await containerSetUp(dir, exited, 5000), 'the process ended first').to.equal(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
