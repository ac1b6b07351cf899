// What the local cloud installs as the control plane provider: config/controlplane as `kubectl apply -k` takes it.
// That packaging/kustomize.ts builds what kubectl kustomize builds is packaging/kustomize-build.test.ts's part.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { parse, parseAllDocuments } from 'yaml';
import type { KustomizeImage, Manifest } from '../packaging/kustomize.js';
import { controlPlaneProviderObjects } from './install-controlplane.js';

const CONFIG = fileURLToPath(new URL('../config/controlplane', import.meta.url));

const identity = (o: Pick<Manifest, 'kind' | 'metadata'>): string => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

describe('localcloud/install-controlplane', () => {
  it('installs an object for every manifest in or below config/controlplane, the nested bases followed', async () => {
    // config/controlplane/kustomization.yaml promises every file below it is a resource; read them without kustomize.
    const files = (await readdir(CONFIG, { recursive: true })).filter((f) => f.endsWith('.yaml') && !f.endsWith('kustomization.yaml'));
    const texts = await Promise.all(files.map((f) => readFile(join(CONFIG, f), 'utf8')));
    const written = texts.flatMap((text) => parseAllDocuments(text).map((d) => d.toJS() as Manifest | null)).filter((o): o is Manifest => o !== null);
    const installed = await controlPlaneProviderObjects();
    expect(installed.map(identity).sort()).to.deep.equal(written.map(identity).sort());
    expect(installed.map((o) => o.kind)).to.include.members(['Namespace', 'CustomResourceDefinition', 'ValidatingAdmissionPolicy', 'Deployment']);
  });

  it("runs the operator image the kustomization's images entry names, as `kustomize edit set image` leaves it", async () => {
    const { images } = parse(await readFile(join(CONFIG, 'kustomization.yaml'), 'utf8')) as { images: KustomizeImage[] };
    const [image] = images;
    const deployment = (await controlPlaneProviderObjects()).find((o) => o.kind === 'Deployment') as
      | (Manifest & { spec: { template: { spec: { containers: { image: string }[] } } } })
      | undefined;
    expect(deployment?.spec.template.spec.containers.map((c) => c.image)).to.deep.equal([`${image?.newName ?? ''}:${image?.newTag ?? ''}`]);
  });
});
