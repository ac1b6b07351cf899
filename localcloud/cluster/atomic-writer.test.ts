import { expect } from 'chai';
import { mkdtemp, readdir, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeAtomically, type FileProjection } from './atomic-writer.js';

function files(entries: Record<string, string>, mode = 0o644): Map<string, FileProjection> {
  return new Map(Object.entries(entries).map(([k, v]) => [k, { data: Buffer.from(v), mode }]));
}

describe('atomic volume writer', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'atomic-writer-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes files behind a ..data symlink, with top-level symlinks and modes', async () => {
    expect(await writeAtomically(join(dir, 'v'), files({ 'tls.crt': 'CERT', 'sub/dir/key': 'K' }, 0o600))).to.be.true;
    const v = join(dir, 'v');
    expect(await readFile(join(v, 'tls.crt'), 'utf8')).to.equal('CERT');
    expect(await readFile(join(v, 'sub/dir/key'), 'utf8')).to.equal('K');
    expect(await readlink(join(v, 'tls.crt'))).to.equal('..data/tls.crt');
    expect(await readlink(join(v, '..data'))).to.match(/^\.\.\d{4}_/);
    expect((await stat(join(v, 'tls.crt'))).mode & 0o777).to.equal(0o600);
  });

  it('does nothing when the content is unchanged', async () => {
    const v = join(dir, 'v');
    await writeAtomically(v, files({ a: '1' }));
    const before = await readlink(join(v, '..data'));
    expect(await writeAtomically(v, files({ a: '1' }))).to.be.false;
    expect(await readlink(join(v, '..data'))).to.equal(before);
  });

  it('switches to a new version, dropping removed names and the old version directory', async () => {
    const v = join(dir, 'v');
    await writeAtomically(v, files({ a: '1', b: '2' }));
    const before = await readlink(join(v, '..data'));
    expect(await writeAtomically(v, files({ a: '3', c: '4' }))).to.be.true;
    expect(await readFile(join(v, 'a'), 'utf8')).to.equal('3');
    expect(await readFile(join(v, 'c'), 'utf8')).to.equal('4');
    const names = await readdir(v);
    expect(names).to.not.include('b');
    expect(names).to.not.include(before);
    expect(names.filter((n) => n.startsWith('..')).sort()).to.deep.equal(['..data', await readlink(join(v, '..data'))].sort());
  });

  it('refuses paths that would escape the volume', async () => {
    let error: unknown;
    await writeAtomically(join(dir, 'v'), files({ '../evil': 'x' })).catch((err: unknown) => (error = err));
    expect((error as Error).message).to.match(/must be relative/);
  });
});
