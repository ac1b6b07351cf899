// KubeVirt's and CDI's own CRDs (all of them), as `make tools` generated them from the pinned releases, and the
// VolumeSnapshot CRDs of external-snapshotter (infra snapshots are what tenant snapshots are made of), installed
// when the cluster does not have them yet (a cluster shared by several suites keeps the first install).
import { readFileSync } from 'node:fs';
import type { Client } from '../../lib/kube/client.js';
import type { KubeObject } from '../../lib/kube/object.js';
import { toolArtifact } from '../../localcloud/binaries.js';
import { parseManifests } from '../../localcloud/manifests.js';
import { waitFor } from '../../localcloud/wait.js';

const CRD = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' };
// Some forty CRDs at once keep a busy apiserver establishing them for a while.
const ESTABLISH_TIMEOUT_MS = 180_000;

interface CRDObject extends KubeObject {
  status?: { conditions?: { type: string; status: string }[] };
}

export function upstreamCRDs(): KubeObject[] {
  const text = [
    readFileSync(toolArtifact('kubevirt-crds', 'KUBEVIRT_VERSION', 'crds.yaml'), 'utf8'),
    readFileSync(toolArtifact('cdi-crds', 'CDI_VERSION', 'crds.yaml'), 'utf8'),
    readFileSync(toolArtifact('csi-snapshotter', 'EXTERNAL_SNAPSHOTTER_VERSION', 'crds.yaml'), 'utf8'),
  ].join('\n---\n');
  return parseManifests(text).filter((o) => o.kind === CRD.kind);
}

const established = (crd: CRDObject | undefined): boolean => crd?.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') === true;

/** The kinds the simulator serves: it starts once these are Established; the rest settle meanwhile. */
const SERVED = new Set([
  'virtualmachines.kubevirt.io',
  'virtualmachineinstances.kubevirt.io',
  'virtualmachineinstancemigrations.kubevirt.io',
  'datavolumes.cdi.kubevirt.io',
  'volumesnapshots.snapshot.storage.k8s.io',
  'volumesnapshotcontents.snapshot.storage.k8s.io',
  'volumesnapshotclasses.snapshot.storage.k8s.io',
]);

export async function installUpstreamCRDs(client: Client): Promise<void> {
  const crds = upstreamCRDs();
  await Promise.all(
    crds.map(async (crd) => {
      const ref = { name: crd.metadata.name ?? '' };
      if (!(await client.get(CRD, ref, { direct: true }))) await client.apply(crd);
      if (!SERVED.has(ref.name)) return;
      await waitFor(async () => (established(await client.get<CRDObject>(CRD, ref, { direct: true })) ? true : undefined), {
        timeoutMs: ESTABLISH_TIMEOUT_MS,
        intervalMs: 200,
        what: `CRD ${ref.name} to be Established`,
      });
    }),
  );
}
