import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { IMAGE_LAYOUT_ENV } from './image-rootfs.js';
import { imageMode, startProgram } from './image-process.js';

describe('kvcloud programs started as plain processes', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'image-process-'));
  const saved = process.env[IMAGE_LAYOUT_ENV];
  before(() => Reflect.deleteProperty(process.env, IMAGE_LAYOUT_ENV));
  after(() => {
    if (saved !== undefined) process.env[IMAGE_LAYOUT_ENV] = saved;
    rmSync(scratch, { recursive: true, force: true });
  });

  it('runs the compiled program of the work tree without a layout, with the given args', async function () {
    this.timeout(60_000); // the first program of a changed tree compiles it
    expect(imageMode()).to.equal(false);
    const logFile = join(scratch, 'ccm.log');
    const ccm = await startProgram({ name: 'ccm', component: 'ccm', args: ['--no-such-flag'], logFile, runDir: scratch });
    expect((await ccm.exited).code).to.equal(2);
    expect(readFileSync(logFile, 'utf8')).to.match(/^ccm: Unknown option '--no-such-flag'/);
  });

  it('names the images there are for a component that has none', async () => {
    const err = await startProgram({ name: 'x', component: 'kube-proxy', args: [], logFile: join(scratch, 'x.log'), runDir: scratch }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).to.match(/^no kvcloud image "kube-proxy"; the images are infrastructure-manager, controlplane-manager, ccm, csi-driver, /);
  });
});
