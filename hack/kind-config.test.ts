// hack/kind-config.yaml, the cluster `make kind-up` creates, loaded by kind's own config loader
// (e2e/tools/kind-config-check: kind's strict decoding, defaults and validation), since no kind cluster runs here.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { pinnedVersion } from '../packaging/image-contents.js';

const repoRoot = fileURLToPath(new URL('../', import.meta.url));
const configPath = join(repoRoot, 'hack', 'kind-config.yaml');

interface KindConfig {
  Name: string;
  Nodes: { Role: string; Image: string }[];
  Networking: { PodSubnet: string; ServiceSubnet: string };
}

/** The checker, built on first use: unit tests run before `make tools`. */
function checker(): string {
  execFileSync('bash', [join(repoRoot, 'e2e', 'tools', 'build.sh'), 'kind-config-check'], { stdio: 'ignore' });
  const cache = process.env.KVCLOUD_CACHE ?? join(homedir(), '.cache', 'kvcloud');
  return join(cache, 'bin', `kind-config-check-${pinnedVersion('KIND_VERSION')}`, 'kind-config-check');
}

/** An IPv4 CIDR as its first and last address. */
function range(cidr: string): [number, number] {
  const [ip = '', bits = ''] = cidr.split('/');
  const start = ip.split('.').reduce((n, octet) => n * 256 + Number(octet), 0);
  const size = 2 ** (32 - Number(bits));
  return [start - (start % size), start - (start % size) + size - 1];
}

/** The pod and service ranges the cluster templates give tenants (a variable's default where one is used). */
function templateRanges(): string[] {
  const dir = join(repoRoot, 'templates');
  const files = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.yaml'));
  const cidrs = new Set<string>();
  for (const f of files) {
    for (const block of readFileSync(join(dir, f), 'utf8').matchAll(/cidrBlocks:\n((?:\s+- .*\n)+)/g)) {
      for (const cidr of (block[1] ?? '').matchAll(/(\d+\.\d+\.\d+\.\d+\/\d+)/g)) cidrs.add(cidr[1] ?? '');
    }
  }
  return [...cidrs];
}

describe('hack/kind-config.yaml, loaded by kind’s own config loader', function () {
  this.timeout(600_000); // a cold tools cache builds the checker first
  let bin: string;
  let scratch: string;
  const load = (path: string) => spawnSync(bin, [path], { encoding: 'utf8' });

  before(function () {
    bin = checker();
    scratch = mkdtempSync(join(tmpdir(), 'kvcloud-kind-config-'));
  });
  after(function () {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('loads and validates: a control plane and a worker, named as the Tiltfile expects', function () {
    const run = load(configPath);
    expect(run.status, run.stderr).to.equal(0);
    const config = JSON.parse(run.stdout) as KindConfig;
    expect(config.Nodes.map((n) => n.Role)).to.deep.equal(['control-plane', 'worker']);
    const tiltfile = readFileSync(join(repoRoot, 'Tiltfile'), 'utf8');
    expect(tiltfile).to.include(`"kind_cluster_name": "${config.Name}"`);
    expect(tiltfile).to.include(`"allowed_contexts": ["kind-${config.Name}"]`);
    // The config names no image: kind-up.sh passes KIND_NODE_IMAGE, which must be what this kind release defaults to.
    for (const node of config.Nodes) expect(node.Image, 'KIND_NODE_IMAGE in e2e/tools/versions.env').to.equal(pinnedVersion('KIND_NODE_IMAGE'));
  });

  it('keeps its pod and service ranges apart from the ones the cluster templates give tenants', function () {
    const config = JSON.parse(load(configPath).stdout) as KindConfig;
    const tenants = templateRanges();
    expect(tenants, 'cidrBlocks in templates/').to.not.be.empty;
    for (const own of [config.Networking.PodSubnet, config.Networking.ServiceSubnet]) {
      const [a, b] = range(own);
      for (const tenant of tenants) {
        const [c, d] = range(tenant);
        expect(a > d || c > b, `${own} overlaps the templates' ${tenant}`).to.equal(true);
      }
    }
  });

  // The loader is strict, so the passing test above means something: each of these is refused before kind would
  // create anything.
  const broken = [
    { name: 'an unknown field', text: (c: string) => c.replace('networking:', 'networkin:'), error: /field networkin not found/ },
    { name: 'no control plane node', text: (c: string) => c.replace('- role: control-plane', '- role: worker'), error: /must have at least one control-plane node/ },
    { name: 'a pod subnet that is no CIDR', text: (c: string) => c.replace('10.244.0.0/16', '10.244.0.0'), error: /invalid pod subnet/ },
  ];
  for (const c of broken) {
    it(`refuses a config with ${c.name}`, function () {
      const path = join(scratch, `${c.name.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(path, c.text(readFileSync(configPath, 'utf8')));
      const run = load(path);
      expect(run.status).to.equal(1);
      expect(run.stderr).to.match(c.error);
    });
  }
});
