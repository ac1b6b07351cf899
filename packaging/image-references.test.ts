// Every manifest and template takes kvcloud's image references as a variable: a clusterctl variable with the
// reference as its default in what clusterctl reads, a kustomize `images:` entry in what `kubectl apply -k` reads.
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parse } from 'yaml';
import { imageReference } from './image.js';
import { IMAGE_COMPONENTS, IMAGE_REPOSITORY } from './image-contents.js';
import { kustomizationFiles, kustomizeBuild, podContainers, type KustomizeImage } from './kustomize.js';
import { isKvcloudImage, PROVIDERS, variablesOf, writeRelease } from './release-manifests.js';

const root = fileURLToPath(new URL('../', import.meta.url));
const KNOWN = new Set(IMAGE_COMPONENTS.map((c) => imageReference(c.name)));

/** Each kvcloud image reference a YAML text names outside comments, and whether a `${VAR:=` holds it as a default. */
function kvcloudReferences(text: string): { reference: string; variable: string | undefined }[] {
  const found: { reference: string; variable: string | undefined }[] = [];
  for (const line of text.split('\n').filter((l) => !l.trimStart().startsWith('#'))) {
    for (const m of line.matchAll(new RegExp(`(\\$\\{([A-Za-z_][A-Za-z0-9_]*):=)?(${IMAGE_REPOSITORY.replace(/\./g, '\\.')}/[^\\s"'}]+)`, 'g'))) {
      found.push({ reference: m[3] ?? '', variable: m[1] ? m[2] : undefined });
    }
  }
  return found;
}

async function yamlFiles(dir: string): Promise<string[]> {
  const entries = await readdir(join(root, dir), { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.yaml')).map((e) => relative(root, join(e.parentPath, e.name)));
}

describe('kvcloud image references in manifests and templates', () => {
  let out: string;
  before(async () => (out = await mkdtemp(join(tmpdir(), 'kvcloud-image-refs-'))));
  after(() => rm(out, { recursive: true, force: true }));

  it('every clusterctl release file takes each kvcloud image as a variable defaulting to the image make image builds', async () => {
    const checked: string[] = [];
    for (const provider of PROVIDERS) {
      const release = await writeRelease(provider, out, 'v0.0.0');
      for (const file of [release.componentsPath, ...release.templates]) {
        const text = await readFile(file, 'utf8');
        const refs = kvcloudReferences(text);
        const name = relative(out, file);
        expect(refs.filter((r) => r.variable === undefined).map((r) => r.reference), `${name}: hard-coded`).to.deep.equal([]);
        for (const r of refs) expect(KNOWN, `${name}: ${r.reference}`).to.include(r.reference);
        // Defaulted, so no install needs it set.
        const variables = new Set(refs.map((r) => r.variable));
        expect(variablesOf(text).filter((v) => variables.has(v.name) && v.default === undefined), name).to.deep.equal([]);
        if (refs.length > 0) checked.push(`${name}: ${[...variables].join(', ')}`);
      }
    }
    // The managers of both providers, and the template's CCM and CSI driver.
    expect(checked).to.include.members([
      'infrastructure-kubevirt/v0.0.0/infrastructure-components.yaml: KVCLOUD_INFRA_IMAGE',
      'control-plane-kamaji/v0.0.0/control-plane-components.yaml: KVCLOUD_CONTROLPLANE_IMAGE',
      'infrastructure-kubevirt/v0.0.0/cluster-template.yaml: KVCLOUD_CCM_IMAGE, KVCLOUD_CSI_IMAGE',
    ]);
  });

  it('every kustomize base under config/ names each kvcloud image it runs in its images:, so `kustomize edit set image` moves it', async () => {
    const bases = (await yamlFiles('config')).filter((f) => f.endsWith('/kustomization.yaml')).map((f) => f.slice(0, -'/kustomization.yaml'.length));
    const running: string[] = [];
    for (const base of bases) {
      const images = ((parse(await readFile(join(root, base, 'kustomization.yaml'), 'utf8')) as { images?: KustomizeImage[] } | null)?.images ?? []).map((i) => i.name);
      const kvcloud = (await kustomizeBuild(root, base)).flatMap(podContainers).flatMap((c) => (c.image !== undefined && isKvcloudImage(c.image) ? [c.image] : []));
      for (const image of kvcloud) {
        expect(images, `${base} runs ${image}`).to.include(image.replace(/[:@].*$/, ''));
        expect(KNOWN, `${base}: ${image}`).to.include(image);
      }
      if (kvcloud.length > 0) running.push(base);
    }
    expect(running.sort()).to.deep.equal(['config/autoscaler', 'config/controlplane', 'config/csi/controller', 'config/csi/tenant', 'config/infrastructure', 'config/streaming']);
  });

  it('no file under config/ or templates/ names a kvcloud image that neither a variable nor a kustomization sets', async () => {
    const bases = (await yamlFiles('config')).filter((f) => f.endsWith('/kustomization.yaml')).map((f) => f.slice(0, -'/kustomization.yaml'.length));
    const inBase = new Set((await Promise.all(bases.map((b) => kustomizationFiles(root, b)))).flat());
    const unset: string[] = [];
    // A kustomization.yaml's images: is the setting itself.
    const files = [...(await yamlFiles('config')), ...(await yamlFiles('templates'))].filter((f) => !f.endsWith('/kustomization.yaml'));
    for (const file of files) {
      const plain = kvcloudReferences(await readFile(join(root, file), 'utf8')).filter((r) => r.variable === undefined);
      if (plain.length > 0 && !inBase.has(file)) unset.push(`${file}: ${plain.map((r) => r.reference).join(', ')}`);
    }
    expect(unset).to.deep.equal([]);
  });
});
