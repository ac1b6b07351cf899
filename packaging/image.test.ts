import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { NODE_TOOLS } from '../csi/node/mounts.js';
import { SNAPSHOT_CRD_NAMES } from '../csi/snapshot-crds.js';
import { buildImageLayout, imageReference, runtimeConfig, type ImageLayout } from './image.js';
import { IMAGE_COMPONENTS, NODE_PATH, pinnedVersion, productionPackages } from './image-contents.js';
import { imageManifest, unpackImage } from './image-unpack.js';
import type { ImageRuntimeConfig } from './oci-layout.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));

interface Checked {
  ref: string;
  entrypoint: string[];
  user: string;
  workingDir: string;
}

/**
 * go-containerregistry's reader (e2e/tools/oci-layout-check), and the CSI driver's files and crictl the images ship, built from
 * the Go module proxy on first use: unit tests run before `make tools` in `make test`. A no-op once they are there.
 */
function ociLayoutCheck(): string {
  execFileSync('bash', [join(repoRoot, 'e2e', 'tools', 'build.sh'), 'csi-spec', 'csi-registration', 'csi-snapshotter', 'cri-tools', 'oci-layout-check'], { stdio: 'ignore' });
  const version = pinnedVersion('GO_CONTAINERREGISTRY_VERSION');
  return join(process.env.KVCLOUD_CACHE ?? join(homedir(), '.cache', 'kvcloud'), 'bin', `oci-layout-check-${version}`, 'oci-layout-check');
}

/**
 * Runs `argv` the way a runtime starts a container: root switched to the unpacked image (nothing of this machine
 * visible, so nothing resolves from the work tree), that root read-only, no network, the image's user, working
 * directory and environment only. /dev and /proc are the runtime's to mount, as in a pod.
 */
function runInImage(root: string, config: ImageRuntimeConfig, argv: string[]): { status: number | null; output: string } {
  const [uid = '', gid = ''] = config.User.split(':');
  // sh, not bash: bash reads ~/.bashrc when its stdin is a socket, as Node's pipes are.
  // Node hands c8's NODE_V8_COVERAGE to every child whatever env it is given (make test-unit runs under c8), and a
  // node in the image would then try to write its profile to a directory of this machine: the shell drops it.
  const script = [
    'unset NODE_V8_COVERAGE',
    'wd=$1 uid=$2 gid=$3',
    'mount --bind "$0" "$0"',
    'mount --rbind /dev "$0/dev"',
    'mount --rbind /proc "$0/proc"',
    'mount -o remount,bind,ro "$0"',
    'shift 3',
    'exec unshare --root "$0" --wd "$wd" --setuid "$uid" --setgid "$gid" -- "$@"',
  ].join(' && ');
  const env = Object.fromEntries(config.Env.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  const result = spawnSync('unshare', ['--mount', '--net', '--fork', 'sh', '-c', script, root, config.WorkingDir, uid, gid, ...argv], { encoding: 'utf8', env, timeout: 60_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

describe('the kvcloud image, built offline as an OCI layout (make image)', function () {
  this.timeout(600_000);
  let layout: ImageLayout;
  let checked: Checked[];
  let scratch: string;
  /** Unpacked roots by their layer digests: images with the same layers unpack to the same root. */
  const roots = new Map<string, string>();

  const rootOf = async (reference: string): Promise<{ root: string; config: ImageRuntimeConfig }> => {
    const key = imageManifest(layout.path, reference)
      .layers.map((l) => l.digest)
      .join(',');
    let root = roots.get(key);
    if (root === undefined) {
      root = join(scratch, String(roots.size));
      mkdirSync(root);
      await unpackImage(layout.path, reference, root);
      roots.set(key, root);
    }
    const component = IMAGE_COMPONENTS.find((c) => imageReference(c.name) === reference);
    return { root, config: runtimeConfig(component?.main ?? '', component?.nodeOptions) };
  };

  before(async () => {
    const checker = ociLayoutCheck();
    layout = await buildImageLayout();
    const out = execFileSync(checker, [layout.path], { encoding: 'utf8' });
    checked = out
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Checked);
    scratch = mkdtempSync(join(tmpdir(), 'kvcloud-image-'));
  });

  after(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('is a layout go-containerregistry reads and validates, one image per component', () => {
    // The checker has verified every manifest, config and layer against its digest, size and diff_id.
    expect(checked.map((c) => c.ref)).to.deep.equal(IMAGE_COMPONENTS.map((c) => imageReference(c.name)));
  });

  it('starts each component compiled, as the nonroot user, from /app', () => {
    for (const component of IMAGE_COMPONENTS) {
      const image = checked.find((c) => c.ref === imageReference(component.name));
      expect(image?.entrypoint, component.name).to.deep.equal([NODE_PATH, `/app/${component.main.replace(/\.ts$/, '.js')}`]);
      expect(image?.user, component.name).to.equal('65532:65532');
      expect(image?.workingDir, component.name).to.equal('/app');
    }
  });

  it('shares its layers between the images; only the CSI driver and the streaming operator add one of tools each', () => {
    const layers = (name: string): string[] => imageManifest(layout.path, imageReference(name)).layers.map((l) => l.digest);
    const plain = layers('controlplane-manager');
    for (const c of IMAGE_COMPONENTS.filter((c) => !c.tools)) expect(layers(c.name), c.name).to.deep.equal(plain);
    const extra = (name: string): string[] => layers(name).filter((d) => !plain.includes(d));
    for (const name of ['csi-driver', 'streaming-operator']) {
      expect(layers(name), name).to.have.length(plain.length + 1);
      expect(extra(name), name).to.have.length(1);
    }
    expect(extra('csi-driver')).not.to.deep.equal(extra('streaming-operator'));
  });

  it('holds every production package of the lockfile, no development package and no TypeScript', async () => {
    const { root } = await rootOf(imageReference('controlplane-manager'));
    const files = execFileSync('find', ['app', '-type', 'f'], { cwd: root, encoding: 'utf8' }).trim().split('\n');
    const fileSet = new Set(files);
    const lock = JSON.parse(readFileSync(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const dev = Object.entries(lock.packages).filter(([path, p]) => path !== '' && p.dev === true);
    expect(dev.length, 'the lockfile has development packages to leave out').to.be.greaterThan(10);
    expect(dev.filter(([path]) => fileSet.has(`app/${path}/package.json`)).map(([path]) => path)).to.deep.equal([]);
    const missing = productionPackages().filter((p) => !p.optional && !fileSet.has(`app/${p.path}/package.json`));
    expect(missing.map((p) => p.path)).to.deep.equal([]);
    expect(files.filter((f) => /\.[cm]?ts$/.test(f))).to.deep.equal([]);
    expect(files.filter((f) => !f.startsWith('app/node_modules/') && /\.test\.js$|\.testdata\.js$/.test(f))).to.deep.equal([]);
  });

  for (const component of IMAGE_COMPONENTS) {
    it(`loads ${component.name} from its unpacked image alone, read-only, without network, as nonroot`, async () => {
      const { root, config } = await rootOf(imageReference(component.name));
      // ESM links every static import before the program runs, so the program's own flag error means the whole
      // import graph, node_modules included, resolved inside the image.
      const { status, output } = runInImage(root, config, [...config.Entrypoint, '--no-such-flag']);
      expect(output).to.match(/Unknown option '--no-such-flag'/);
      expect(output).not.to.match(/ERR_MODULE_NOT_FOUND|Cannot find (module|package)/);
      expect(status).to.not.equal(0);
    });
  }

  it('sees nothing of this machine and cannot write its root', async () => {
    const { root, config } = await rootOf(imageReference('controlplane-manager'));
    const probe = `const fs = require('node:fs'); let w = 'written'; try { fs.writeFileSync('/app/x', ''); } catch (e) { w = e.code; } console.log(fs.existsSync(${JSON.stringify(repoRoot)}), process.getuid(), w)`;
    const { output } = runInImage(root, config, [NODE_PATH, '-e', probe]);
    expect(output.trim()).to.equal('false 65532 EROFS');
  });

  it('runs the CCM by the executable upstream manifests name', async () => {
    const { root, config } = await rootOf(imageReference('ccm'));
    const { output } = runInImage(root, config, ['/bin/kubevirt-cloud-controller-manager', '--no-such-flag']);
    expect(output).to.match(/^ccm: Unknown option '--no-such-flag'/);
  });

  it('gives the CSI driver its protocols, the snapshot CRDs and every program its node plugin runs', async () => {
    const { root, config } = await rootOf(imageReference('csi-driver'));
    const probe = [
      "const spec = await import('/app/csi/spec.js');",
      "const reg = await import('/app/csi/registration.js');",
      "const mounts = await import('/app/csi/node/mounts.js');",
      "const crds = await import('/app/csi/snapshot-crds.js');",
      "const tenant = await crds.readTenantObjects({ tenantSnapshotCrds: true, snapshotCrds: crds.defaultSnapshotCrdsPath() });",
      'const csi = spec.loadCsiServices(spec.defaultCsiProtoPath());',
      "const registration = reg.loadRegistrationService(reg.defaultRegistrationProtoPath());",
      "console.log(JSON.stringify({ csi: Object.keys(csi), registration: 'GetInfo' in registration, crds: tenant?.map((o) => o.metadata.name), missing: await mounts.missingTools(mounts.NODE_TOOLS) }));",
    ].join(' ');
    const loaded = runInImage(root, config, [NODE_PATH, '--input-type=module', '-e', probe]);
    expect(JSON.parse(loaded.output)).to.deep.equal({ csi: ['Identity', 'Controller', 'Node'], registration: true, crds: [...SNAPSHOT_CRD_NAMES], missing: [] });
    for (const tool of NODE_TOOLS) {
      // Each prints its release: it started, every library it links found in the image.
      const { output } = runInImage(root, config, [tool, '-V']);
      expect(output, tool).to.match(/(util-linux|e2fsck|mke2fs|dumpe2fs|resize2fs) \d+\.\d+/);
    }
  });

  it('gives the streaming operator crictl for operators and ss to name each session\'s caller', async () => {
    const { root, config } = await rootOf(imageReference('streaming-operator'));
    // Each prints its release: it started, every library it links found in the image.
    const crictl = runInImage(root, config, ['crictl', '--version']);
    expect(crictl.output).to.equal(`crictl version ${pinnedVersion('CRI_TOOLS_VERSION')}\n`);
    expect(crictl.status).to.equal(0);
    const ss = runInImage(root, config, ['ss', '-V']);
    expect(ss.output).to.match(/^ss utility, iproute2-/);
    expect(ss.status).to.equal(0);
  });
});
