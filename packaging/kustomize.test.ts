import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'chai';
import { kustomizeBuild, podContainers, transformImage, type KustomizeImage } from './kustomize.js';

describe('kustomize, as far as kvcloud\'s bases use it', () => {
  describe('transformImage (kustomize\'s images transformer; each case checked against kubectl kustomize v5.5)', () => {
    const cases: { name: string; reference: string; images: KustomizeImage[]; want: string }[] = [
      { name: 'leaves an image no entry names', reference: 'registry.k8s.io/x:v1', images: [{ name: 'ghcr.io/kvcloud/a', newTag: 'v2' }], want: 'registry.k8s.io/x:v1' },
      { name: 'sets a new tag', reference: 'ghcr.io/kvcloud/a:dev', images: [{ name: 'ghcr.io/kvcloud/a', newTag: 'v0.2.0' }], want: 'ghcr.io/kvcloud/a:v0.2.0' },
      { name: 'sets a new name and keeps the tag', reference: 'ghcr.io/kvcloud/a:dev', images: [{ name: 'ghcr.io/kvcloud/a', newName: 'r.example:5000/a' }], want: 'r.example:5000/a:dev' },
      { name: 'pins a digest', reference: 'ghcr.io/kvcloud/a:dev', images: [{ name: 'ghcr.io/kvcloud/a', digest: 'sha256:ab' }], want: 'ghcr.io/kvcloud/a@sha256:ab' },
      { name: 'writes a new tag and a digest both', reference: 'ghcr.io/kvcloud/a:dev', images: [{ name: 'ghcr.io/kvcloud/a', newTag: 'x', digest: 'sha256:ab' }], want: 'ghcr.io/kvcloud/a:x@sha256:ab' },
      { name: 'matches a name whose registry has a port', reference: 'r.example:5000/a', images: [{ name: 'r.example:5000/a', newTag: 'v1' }], want: 'r.example:5000/a:v1' },
      { name: 'matches a reference by digest', reference: 'ghcr.io/kvcloud/a@sha256:cd', images: [{ name: 'ghcr.io/kvcloud/a', newName: 'b' }], want: 'b@sha256:cd' },
      { name: 'applies every entry naming the image in turn', reference: 'a:1', images: [{ name: 'a', newTag: '2' }, { name: 'a', newTag: '3' }], want: 'a:3' },
      { name: 'a renamed image no later entry names stays renamed', reference: 'a:1', images: [{ name: 'a', newName: 'b' }, { name: 'a', newTag: '3' }], want: 'b:1' },
    ];
    for (const tc of cases) it(tc.name, () => expect(transformImage(tc.reference, tc.images)).to.equal(tc.want));
  });

  describe('kustomizeBuild', () => {
    let root: string;
    const deployment = (name: string, image: string) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ${name}}\nspec:\n  template:\n    spec:\n      initContainers: [{name: init, image: ${image}}]\n      containers: [{name: main, image: ${image}}, {name: side, image: registry.k8s.io/side:v1}]\n`;
    before(async () => {
      root = await mkdtemp(join(tmpdir(), 'kvcloud-kustomize-build-'));
      await mkdir(join(root, 'base', 'sub'), { recursive: true });
      await writeFile(join(root, 'base', 'kustomization.yaml'), 'resources: [d.yaml, sub]\nimages:\n  - {name: ghcr.io/kvcloud/a, newName: r.example/a, newTag: v1}\n');
      await writeFile(join(root, 'base', 'd.yaml'), deployment('outer', 'ghcr.io/kvcloud/a:dev'));
      // The nested base renames its image first; the outer entry then no longer names it.
      await writeFile(join(root, 'base', 'sub', 'kustomization.yaml'), 'resources: [d.yaml]\nimages:\n  - {name: ghcr.io/kvcloud/a, newName: r.example/inner}\n');
      await writeFile(join(root, 'base', 'sub', 'd.yaml'), `${deployment('inner', 'ghcr.io/kvcloud/a:dev')}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n`);
    });
    after(() => rm(root, { recursive: true, force: true }));

    it('builds the resources in order and sets every container\'s image its kustomizations name, inner first', async () => {
      const objects = await kustomizeBuild(root, 'base');
      expect(objects.map((o) => `${o.kind} ${o.metadata.name ?? ''}`)).to.deep.equal(['Deployment outer', 'Deployment inner', 'ConfigMap c']);
      const images = (i: number) => podContainers(objects[i] ?? { apiVersion: '', kind: '', metadata: {} }).map((c) => c.image);
      expect(images(0)).to.deep.equal(['r.example/a:v1', 'r.example/a:v1', 'registry.k8s.io/side:v1']);
      expect(images(1)).to.deep.equal(['r.example/inner:dev', 'r.example/inner:dev', 'registry.k8s.io/side:v1']);
    });

    it('refuses an images entry without a name', async () => {
      await mkdir(join(root, 'nameless'));
      await writeFile(join(root, 'nameless', 'kustomization.yaml'), 'resources: []\nimages: [{newTag: v1}]\n');
      let error = '';
      await kustomizeBuild(root, 'nameless').catch((err: unknown) => (error = (err as Error).message));
      expect(error).to.equal('nameless/kustomization.yaml: every images entry needs a name');
    });
  });
});
