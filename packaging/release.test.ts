import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { initLayout, writeImages, writeLayer } from './oci-layout.js';
import { CHECKSUMS_FILE, filesUnder, imagesArchiveName, writeFullRelease } from './release.js';

describe('make release (packaging/release.ts)', function () {
  this.timeout(60_000);
  let scratch: string;
  let layout: string;
  let out: string;
  let lines: string[];

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'kvcloud-release-'));
    // A small real layout, as make image writes one, with its build record beside the spec's files.
    layout = join(scratch, 'layout');
    initLayout(layout);
    const layer = await writeLayer(layout, [{ path: 'hello', type: 'file', mode: 0o644, data: Buffer.from('hi\n'), size: 3 }]);
    writeImages(layout, [{ reference: 'ghcr.io/kvcloud/x:dev', layers: [layer], config: { Entrypoint: ['/hello'], Env: [], User: '65532:65532', WorkingDir: '/' }, created: '2000-01-01T00:00:00Z' }]);
    await writeFile(join(layout, 'kvcloud-layers.json'), '{}');
    out = join(scratch, 'release');
    // Left from an earlier release: the new one starts empty.
    await mkdir(join(out, 'old'), { recursive: true });
    await writeFile(join(out, 'old', 'file'), 'stale');
    lines = await writeFullRelease(out, 'v0.0.0', layout);
  });
  after(() => rm(scratch, { recursive: true, force: true }));

  it('writes the clusterctl repositories, the CSI manifests and the images archive, nothing of an earlier release', async () => {
    const files = await filesUnder(out);
    expect(files).to.include.members([
      'infrastructure-kubevirt/v0.0.0/infrastructure-components.yaml',
      'infrastructure-kubevirt/v0.0.0/metadata.yaml',
      'infrastructure-kubevirt/v0.0.0/cluster-template.yaml',
      'control-plane-kamaji/v0.0.0/control-plane-components.yaml',
      'control-plane-kamaji/v0.0.0/metadata.yaml',
      'csi-driver/v0.0.0/csi-controller.yaml',
      imagesArchiveName('v0.0.0'),
      CHECKSUMS_FILE,
    ]);
    expect(files.filter((f) => f.startsWith('old/'))).to.deep.equal([]);
    expect(lines.at(-1)).to.equal(`wrote ${join(out, CHECKSUMS_FILE)}: ${String(files.length - 1)} files`);
  });

  it('sums every other file, as sha256sum checks it', async () => {
    const sums = (await readFile(join(out, CHECKSUMS_FILE), 'utf8')).trimEnd().split('\n');
    const files = (await filesUnder(out)).filter((f) => f !== CHECKSUMS_FILE);
    expect(sums.map((l) => l.slice(66))).to.deep.equal(files);
    for (const line of sums) {
      const path = line.slice(66);
      expect(line.slice(0, 64), path).to.equal(createHash('sha256').update(await readFile(join(out, path))).digest('hex'));
    }
    // coreutils agrees, and a changed file fails it.
    expect(execFileSync('sha256sum', ['--check', '--strict', CHECKSUMS_FILE], { cwd: out, encoding: 'utf8' })).to.match(/metadata.yaml: OK/);
    await writeFile(join(out, 'control-plane-kamaji', 'v0.0.0', 'metadata.yaml'), 'changed');
    const changed = spawnSync('sha256sum', ['--check', '--quiet', CHECKSUMS_FILE], { cwd: out, encoding: 'utf8' });
    expect(changed.stdout).to.equal('control-plane-kamaji/v0.0.0/metadata.yaml: FAILED\n');
    expect(changed.status).to.equal(1);
  });

  it('archives the layout\'s spec files byte for byte, blobs included, and not its build record', async () => {
    const archive = join(out, imagesArchiveName('v0.0.0'));
    const listed = execFileSync('tar', ['-tf', archive], { encoding: 'utf8' }).trim().split('\n');
    const blobs = (await readdir(join(layout, 'blobs', 'sha256'))).sort().map((b) => `blobs/sha256/${b}`);
    expect(listed).to.deep.equal(['oci-layout', 'index.json', 'blobs/', 'blobs/sha256/', ...blobs]);
    const unpacked = join(scratch, 'unpacked');
    await mkdir(unpacked);
    execFileSync('tar', ['-xf', archive, '-C', unpacked]);
    for (const path of ['oci-layout', 'index.json', ...blobs]) {
      expect((await readFile(join(unpacked, path))).equals(await readFile(join(layout, path))), path).to.equal(true);
    }
  });
});
