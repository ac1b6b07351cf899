import { status } from '@grpc/grpc-js';
import { expect } from 'chai';
import { rejection } from '../lib/testing/rejection.js';
import type { CsiError } from './status.js';
import { VolumeLocks } from './volume-locks.js';

describe('csi/volume-locks', () => {
  it('answers a second operation on a busy volume with ABORTED, lets other volumes through, and frees the volume after a failure', async () => {
    const locks = new VolumeLocks();
    let release: ((value: string) => void) | undefined;
    const first = locks.run('v1', 'Publish', () => new Promise<string>((resolve) => (release = resolve)));
    const err = (await rejection(locks.run('v1', 'Unpublish', () => Promise.resolve('x')), 'a concurrent operation')) as CsiError;
    expect(err.code).to.equal(status.ABORTED);
    expect(err.message).to.match(/Unpublish: an operation on volume v1 is already in progress/);
    expect(await locks.run('v2', 'Publish', () => Promise.resolve('other'))).to.equal('other');
    release?.('done');
    expect(await first).to.equal('done');
    await rejection(locks.run('v1', 'Stage', () => Promise.reject(new Error('boom'))), 'a failing operation');
    expect(await locks.run('v1', 'Stage', () => Promise.resolve('again'))).to.equal('again');
  });
});
