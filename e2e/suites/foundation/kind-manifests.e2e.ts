// What the kind path applies that is kvcloud's own, sent to a real apiserver: the manifests the Tiltfile deploys (each
// component's kustomize base with its variables substituted, as e2e/tools/tiltfile-check records them) and the
// KubeVirt, CDI and MetalLB objects hack/kind-up.sh applies from config/kind, each through `kubectl apply
// --server-side --dry-run=server` once the upstream CRDs they need are installed. kind itself does not run here.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { rejection } from '../../../lib/testing/rejection.js';
import { toolArtifact } from '../../../localcloud/binaries.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { parseManifests } from '../../../localcloud/manifests.js';
import { startPlane, type Plane } from '../../../localcloud/plane.js';
import { pinnedVersion } from '../../../packaging/image-contents.js';
import { deployedManifests, evaluateTiltfile, tiltfileTools } from '../../../packaging/tiltfile-check.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

/**
 * MetalLB's CRDs from its Go module (e2e/tools/metallb-crds), which `make tools` fetches: the suites run in a network
 * namespace without a route to the Go module proxy, so this only finds them (and fails when they were not fetched).
 */
function metallbCRDs(): string {
  execFileSync('bash', [join(repoRoot, 'e2e', 'tools', 'build.sh'), 'metallb-crds'], { stdio: 'ignore' });
  const cache = process.env.KVCLOUD_CACHE ?? join(homedir(), '.cache', 'kvcloud');
  return readFileSync(join(cache, 'bin', `metallb-crds-${pinnedVersion('METALLB_VERSION')}`, 'crds.yaml'), 'utf8');
}

/** config/kind's manifests as kind-up.sh applies them, the MetalLB pool with a kind network's addresses. */
function kindManifests(): { name: string; text: string }[] {
  const read = (file: string) => readFileSync(join(repoRoot, 'config', 'kind', file), 'utf8');
  return [
    { name: 'config/kind/kubevirt.yaml', text: read('kubevirt.yaml') },
    { name: 'config/kind/cdi.yaml', text: read('cdi.yaml') },
    { name: 'config/kind/metallb.yaml', text: read('metallb.yaml').replace('${KIND_LB_ADDRESSES}', '172.18.255.200-172.18.255.250') },
  ];
}

describe('the kind path’s own manifests, accepted by an apiserver with the upstream CRDs (kubectl apply --dry-run=server)', () => {
  // A plane of its own, as a fresh kind cluster is: on the shared one, the CRDs and policies other suites applied
  // under other field managers make a server-side apply conflict, which says nothing about the manifests.
  let plane: Plane | undefined;
  const createdNamespaces: string[] = [];

  before(async function () {
    this.timeout(30 * 60_000); // the first run may build the tools modules
    plane = await startPlane({ controllerManager: false });
    const kubevirt = readFileSync(toolArtifact('kubevirt-crds', 'KUBEVIRT_VERSION', 'crds.yaml'), 'utf8');
    const cdi = readFileSync(toolArtifact('cdi-crds', 'CDI_VERSION', 'crds.yaml'), 'utf8');
    // cert-manager's CRDs, which kind-up.sh installs with cert-manager: the autoscaler's base has Issuers and Certificates.
    const certManager = readFileSync(toolArtifact('cert-manager', 'CERT_MANAGER_VERSION', 'cert-manager.crds.yaml'), 'utf8');
    await plane.applyManifests([kubevirt, cdi, metallbCRDs(), certManager].join('\n---\n'));
  });
  after(async function () {
    this.timeout(120_000);
    await plane?.stop();
  });

  function kubeconfig(): string {
    if (!plane) throw new Error('no plane');
    return plane.kubeconfigPath;
  }

  /**
   * A dry run creates nothing, so a namespaced object is refused when its namespace does not exist yet, even if the
   * same apply would create it: the namespaces are made for real first (the upstream operators make theirs on kind).
   */
  async function ensureNamespaces(text: string): Promise<void> {
    const wanted = new Set(parseManifests(text).flatMap((o) => [o.metadata.namespace ?? '', o.kind === 'Namespace' ? (o.metadata.name ?? '') : '']));
    wanted.delete('');
    const existing = (await kubectl(kubeconfig(), ['get', 'namespaces', '-o', 'name'])).split('\n').map((n) => n.replace('namespace/', ''));
    for (const ns of wanted) {
      if (existing.includes(ns) || createdNamespaces.includes(ns)) continue;
      await kubectl(kubeconfig(), ['create', 'namespace', ns]);
      createdNamespaces.push(ns);
    }
  }

  async function dryRun(name: string, text: string): Promise<void> {
    await ensureNamespaces(text);
    const objects = parseManifests(text);
    expect(objects, `${name}: objects`).to.not.be.empty;
    const out = await kubectl(kubeconfig(), ['apply', '--server-side', '--field-manager=tilt', '--dry-run=server', '-f', '-'], text);
    const applied = out.split('\n').filter((l) => l.includes('(server dry run)'));
    expect(applied.length, `${name}: ${out}`).to.equal(objects.length);
  }

  it('accepts what the Tiltfile deploys: each component’s kustomize base, variables substituted', async function () {
    this.timeout(300_000);
    const manifests = deployedManifests(evaluateTiltfile(tiltfileTools()));
    expect(manifests).to.have.length(4);
    for (const [i, text] of manifests.entries()) await dryRun(`Tiltfile k8s_yaml #${String(i + 1)}`, text);
  });

  it('accepts config/kind: KubeVirt in emulation mode, CDI and the MetalLB pool', async function () {
    this.timeout(120_000);
    for (const m of kindManifests()) await dryRun(m.name, m.text);
  });

  it('refuses a misspelt field, so the dry runs above hold the manifests to the CRDs schemas', async function () {
    this.timeout(120_000);
    const kubevirt = kindManifests()[0]?.text.replace('useEmulation:', 'useEmulaton:') ?? '';
    const refused = await rejection(dryRun('a misspelt KubeVirt', kubevirt), 'a KubeVirt with an unknown field');
    expect(refused.message).to.include('useEmulaton');
  });
});
