import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { imageManifest } from '../../packaging/image-unpack.js';
import { initLayout, writeImages, writeLayer, type ImageRuntimeConfig } from '../../packaging/oci-layout.js';
import type { TarEntry } from '../../packaging/tar.js';
import { configEnv, configHome, configUser, effectiveUser, findInImage, IMAGE_LAYOUT_ENV, rootKey, unpackedImage } from './image-rootfs.js';
import { prepareStart } from './container-start.js';
import { containerArgv, ImageNotMappedError, resolveImage } from './images.js';
import type { Pod } from './pod-api.js';

const data = (path: string, content: string | Buffer, mode = 0o644): TarEntry => ({ path, type: 'file', mode, data: Buffer.from(content) });
const dir = (path: string, uid = 0): TarEntry => ({ path, type: 'dir', mode: 0o755, uid, gid: uid });

const config = (entrypoint: string[], extra: Partial<ImageRuntimeConfig> = {}): ImageRuntimeConfig => ({
  Entrypoint: entrypoint,
  Env: ['PATH=/usr/local/bin:/bin', 'NODE_ENV=production', 'EQUALS=a=b'],
  User: '65532:65532',
  WorkingDir: '/app',
  ...extra,
});

/** A layout of two images on the same layers (base, then app) and a third with one more. */
async function writeTestLayout(path: string, appContent: string | Buffer = 'main'): Promise<void> {
  initLayout(path);
  const base = await writeLayer(path, [
    dir('bin'),
    data('bin/tool', '#!/bin/true\n', 0o755),
    dir('etc'),
    data('etc/passwd', 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n'),
    data('etc/group', 'root:x:0:\nnonroot:x:65532:\n'),
    dir('home'),
    dir('home/nonroot', 65532),
  ]);
  const app = await writeLayer(path, [dir('app'), data('app/main.js', appContent)]);
  const tools = await writeLayer(path, [dir('usr'), dir('usr/local'), dir('usr/local/bin'), data('usr/local/bin/extra', 'x', 0o755)]);
  const created = '2000-01-01T00:00:00Z';
  writeImages(path, [
    { reference: 'ghcr.io/kvcloud/one:dev', layers: [base, app], config: config(['/nodejs/bin/node', '/app/one.js']), created },
    { reference: 'ghcr.io/kvcloud/two:dev', layers: [base, app], config: config(['/nodejs/bin/node', '/app/two.js'], { Cmd: ['--default'] }), created },
    { reference: 'ghcr.io/kvcloud/tools:dev', layers: [base, app, tools], config: config(['/nodejs/bin/node', '/app/tools.js']), created },
  ]);
}

describe('image mode of the pod runner: images unpacked from an OCI layout', () => {
  let scratch: string;
  let layout: string;

  before(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'image-rootfs-'));
    layout = join(scratch, 'layout');
    await writeTestLayout(layout);
  });
  after(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('keys a root by its layers in order', () => {
    expect(rootKey(['sha256:a', 'sha256:b'])).to.equal(rootKey(['sha256:a', 'sha256:b']));
    expect(rootKey(['sha256:a', 'sha256:b'])).not.to.equal(rootKey(['sha256:b', 'sha256:a']));
    expect(rootKey(['sha256:a', 'sha256:b'])).not.to.equal(rootKey(['sha256:a']));
    expect(rootKey(['sha256:a'])).to.match(/^[0-9a-f]{64}$/);
  });

  it('unpacks concurrent pods of one image once, shares the root between images of the same layers, and leaves no partial copy', async () => {
    const cache = join(scratch, 'cache-concurrent');
    const [a, b, c, tools] = await Promise.all([
      unpackedImage(cache, layout, 'ghcr.io/kvcloud/one:dev'),
      unpackedImage(cache, layout, 'ghcr.io/kvcloud/one:dev'),
      unpackedImage(cache, layout, 'ghcr.io/kvcloud/two:dev'),
      unpackedImage(cache, layout, 'ghcr.io/kvcloud/tools:dev'),
    ]);
    expect(a.rootfs).to.equal(b.rootfs);
    expect(c.rootfs).to.equal(a.rootfs);
    expect(tools.rootfs).not.to.equal(a.rootfs);
    expect(a.digest).to.equal(b.digest);
    expect(c.digest).not.to.equal(a.digest);
    expect(a.config.Entrypoint).to.deep.equal(['/nodejs/bin/node', '/app/one.js']);
    expect(c.config.Cmd).to.deep.equal(['--default']);
    expect(readFileSync(join(a.rootfs, 'app', 'main.js'), 'utf8')).to.equal('main');
    expect(existsSync(join(a.rootfs, 'usr/local/bin/extra'))).to.equal(false);
    expect(existsSync(join(tools.rootfs, 'usr/local/bin/extra'))).to.equal(true);
    expect(readdirSync(cache).sort()).to.deep.equal([a.rootfs, tools.rootfs].map((r) => r.split('/').at(-2)).sort());
  });

  it('takes a root another process finished instead of unpacking again', async () => {
    const cache = join(scratch, 'cache-other');
    const theirs = join(cache, rootKey(imageManifest(layout, 'ghcr.io/kvcloud/one:dev').layers.map((l) => l.digest)), 'rootfs');
    mkdirSync(theirs, { recursive: true });
    writeFileSync(join(theirs, 'marker'), 'theirs');
    const image = await unpackedImage(cache, layout, 'ghcr.io/kvcloud/one:dev');
    expect(image.rootfs).to.equal(theirs);
    expect(existsSync(join(theirs, 'app'))).to.equal(false);
  });

  it('lets processes racing for one root both succeed with one copy', async function () {
    this.timeout(60_000);
    const big = join(scratch, 'layout-big');
    // Enough bytes that tar takes a while, so the two unpacks overlap.
    await writeTestLayout(big, Buffer.alloc(8 << 20, 7));
    const cache = join(scratch, 'cache-race');
    const script = `const m = await import(${JSON.stringify(new URL('./image-rootfs.ts', import.meta.url).href)}); console.log((await m.unpackedImage(${JSON.stringify(cache)}, ${JSON.stringify(big)}, 'ghcr.io/kvcloud/one:dev')).rootfs);`;
    const run = () => promisify(execFile)(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    const [first, second] = await Promise.all([run(), run()]);
    expect(first.stdout.trim()).to.equal(second.stdout.trim());
    expect(readdirSync(cache)).to.have.length(1);
    expect(readFileSync(join(first.stdout.trim(), 'app', 'main.js')).length).to.equal(8 << 20);
  });

  it('removes roots no container started from for hours when it unpacks another', async () => {
    const cache = join(scratch, 'cache-prune');
    const stale = join(cache, 'a'.repeat(64));
    const recent = join(cache, 'b'.repeat(64));
    mkdirSync(join(stale, 'rootfs'), { recursive: true });
    mkdirSync(join(recent, 'rootfs'), { recursive: true });
    const hoursAgo = new Date(Date.now() - 7 * 3600_000);
    utimesSync(stale, hoursAgo, hoursAgo);
    const image = await unpackedImage(cache, layout, 'ghcr.io/kvcloud/one:dev');
    expect(existsSync(stale)).to.equal(false);
    expect(existsSync(recent)).to.equal(true);
    expect(existsSync(image.rootfs)).to.equal(true);
  });

  it('reads the config as a runtime does: environment, user by number or name, home, programs on the image PATH', async () => {
    const { rootfs } = await unpackedImage(join(scratch, 'cache-config'), layout, 'ghcr.io/kvcloud/one:dev');
    expect(configEnv(config([]))).to.deep.equal({ PATH: '/usr/local/bin:/bin', NODE_ENV: 'production', EQUALS: 'a=b' });
    expect(configUser(rootfs, '65532:65532')).to.deep.equal({ uid: 65532, gid: 65532 });
    expect(configUser(rootfs, 'nonroot')).to.deep.equal({ uid: 65532, gid: 65532 });
    expect(configUser(rootfs, 'nonroot:root')).to.deep.equal({ uid: 65532, gid: 0 });
    expect(configUser(rootfs, '1234')).to.deep.equal({ uid: 1234, gid: 0 });
    expect(configUser(rootfs, '')).to.deep.equal({ uid: 0, gid: 0 });
    expect(() => configUser(rootfs, 'nobody')).to.throw(/image user "nobody": no user "nobody" in the image's \/etc\/passwd/);
    expect(() => configUser(rootfs, '1:staff')).to.throw(/no group "staff" in the image's \/etc\/group/);
    expect(configHome(rootfs, 65532)).to.equal('/home/nonroot');
    expect(configHome(rootfs, 1234)).to.equal('/');
    expect(findInImage(rootfs, '/usr/local/bin:/bin', 'tool')).to.equal('/bin/tool');
    expect(findInImage(rootfs, '/usr/local/bin:/bin', '/bin/tool')).to.equal('/bin/tool');
    expect(findInImage(rootfs, '/usr/local/bin:/bin', 'sh')).to.equal(undefined);
    expect(findInImage(rootfs, '/usr/local/bin:/bin', '/usr/bin/env')).to.equal(undefined);
    // A link is the image's: it names a path inside the image, whatever this machine has there.
    symlinkSync('/bin/sh', join(rootfs, 'bin', 'link'));
    expect(findInImage(rootfs, '/bin', 'link')).to.equal('/bin/link');
  });

  it('runs as the securityContext says, the container over the pod, over the image', async () => {
    const { rootfs } = await unpackedImage(join(scratch, 'cache-user'), layout, 'ghcr.io/kvcloud/one:dev');
    const image = { uid: 65532, gid: 65532 };
    expect(effectiveUser(rootfs, image, undefined, undefined)).to.deep.equal(image);
    expect(effectiveUser(rootfs, image, { runAsUser: 0 }, undefined)).to.deep.equal({ uid: 0, gid: 0 });
    expect(effectiveUser(rootfs, image, { runAsUser: 0 }, { runAsUser: 65532 })).to.deep.equal({ uid: 65532, gid: 65532 });
    expect(effectiveUser(rootfs, image, { runAsGroup: 5 }, { runAsUser: 1000 })).to.deep.equal({ uid: 1000, gid: 5 });
  });

  describe('resolveImage with a layout', () => {
    const saved = { layout: process.env[IMAGE_LAYOUT_ENV], cache: process.env.KVCLOUD_CACHE };
    before(() => {
      process.env[IMAGE_LAYOUT_ENV] = layout;
      process.env.KVCLOUD_CACHE = join(scratch, 'kvcloud-cache');
    });
    after(() => {
      for (const [name, value] of [
        [IMAGE_LAYOUT_ENV, saved.layout],
        ['KVCLOUD_CACHE', saved.cache],
      ] as const) {
        if (value === undefined) Reflect.deleteProperty(process.env, name);
        else process.env[name] = value;
      }
    });

    it('runs a kvcloud image from its unpacked root, with its config and image ID', async () => {
      const image = await resolveImage('ghcr.io/kvcloud/two:dev');
      expect(image.sandbox?.rootfs).to.match(new RegExp(`^${join(scratch, 'kvcloud-cache', 'images')}/[0-9a-f]{64}/rootfs$`));
      expect(image.sandbox?.user).to.deep.equal({ uid: 65532, gid: 65532 });
      expect(image.sandbox?.workingDir).to.equal('/app');
      expect(image.env).to.deep.equal({ PATH: '/usr/local/bin:/bin', NODE_ENV: 'production', EQUALS: 'a=b' });
      expect(image.id).to.match(/^ghcr\.io\/kvcloud\/two@sha256:[0-9a-f]{64}$/);
      expect(containerArgv(image, undefined, undefined)).to.deep.equal(['/nodejs/bin/node', '/app/two.js', '--default']);
      expect(containerArgv(image, undefined, ['--v=2'])).to.deep.equal(['/nodejs/bin/node', '/app/two.js', '--v=2']);
      expect(containerArgv(image, ['tool'], ['x'])).to.deep.equal(['/bin/tool', 'x']);
      expect(() => containerArgv(image, ['sh', '-c', 'true'], undefined)).to.throw(/exec: "sh": executable file not found in image ghcr\.io\/kvcloud\/two:dev \(it has the files of the image\)/);
    });

    it('prepares a container to run in the image: its root, its user or the securityContext\'s, that user\'s home, its working directory', async () => {
      const container = { name: 'app', image: 'ghcr.io/kvcloud/one:dev', args: ['--v=2'], volumeMounts: [{ name: 'data', mountPath: '/app' }] };
      const start = (pod: Pod['spec']['securityContext'], workingDir?: string) =>
        prepareStart({
          pod: { metadata: { name: 'p', namespace: 'n' }, spec: { containers: [container], volumes: [{ name: 'data', emptyDir: {} }], securityContext: pod } },
          container: { ...container, ...(workingDir ? { workingDir } : {}) },
          lookup: { configMap: () => Promise.resolve(undefined), secret: () => Promise.resolve(undefined) },
          facts: { podIP: '10.244.0.9', hostIP: '10.244.0.1', nodeAllocatable: {} },
          baseEnv: { HOME: '/run/pod/home', HOSTNAME: 'p' },
          volumePaths: new Map([['data', '/run/pod/volumes/data']]),
          etcHosts: '/run/pod/etc-hosts',
        });
      // A volume over the program's directory is the pod's business: the image's root, not this machine's, holds it.
      const asImage = await start(undefined);
      expect(asImage.argv).to.deep.equal(['/nodejs/bin/node', '/app/one.js', '--v=2']);
      expect(asImage.root).to.deep.include({ uid: 65532, gid: 65532 });
      expect(asImage.root?.rootfs).to.match(/\/rootfs$/);
      expect(asImage.env.get('HOME')).to.equal('/home/nonroot');
      expect(asImage.env.get('NODE_ENV')).to.equal('production');
      expect(asImage.workingDir).to.equal('/app');
      const asRoot = await start({ runAsUser: 0 }, '/tmp');
      expect(asRoot.root).to.deep.include({ uid: 0, gid: 0 });
      expect(asRoot.env.get('HOME')).to.equal('/root');
      expect(asRoot.workingDir).to.equal('/tmp');
    });

    it("hands the layout to the simulated VMs' guests, whose kubelets resolve kvcloud's images the same way", async () => {
      expect((await resolveImage('kvcloud.local/test/virt-launcher:dev')).env).to.include({ [IMAGE_LAYOUT_ENV]: layout });
    });

    it('fails like a pull of a missing image when the layout lacks it, and leaves other images to the catalog', async () => {
      const err = await resolveImage('ghcr.io/kvcloud/ccm:dev').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).to.be.instanceOf(ImageNotMappedError);
      expect((err as Error).message).to.match(/image "ghcr\.io\/kvcloud\/ccm:dev" from the OCI layout .*: .* has no image ghcr\.io\/kvcloud\/ccm:dev; it has ghcr\.io\/kvcloud\/one:dev/);
      expect((await resolveImage('kvcloud.local/test/shell:dev')).sandbox).to.equal(undefined);
    });
  });
});
