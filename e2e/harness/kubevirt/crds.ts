// KubeVirt's and CDI's own CRDs, as `make tools` generated them from the pinned releases, installed when the
// cluster does not have them yet (a cluster shared by several suites keeps the first install).
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Client } from '../../../lib/kube/client.js';
import { toolArtifact } from '../binaries.js';
import { applyManifests, parseManifests } from '../manifests.js';

const CRD = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition' };

export function upstreamCRDs(): string {
  return [
    readFileSync(toolArtifact('kubevirt-crds', 'KUBEVIRT_VERSION', 'crds.yaml'), 'utf8'),
    readFileSync(toolArtifact('cdi-crds', 'CDI_VERSION', 'crds.yaml'), 'utf8'),
  ].join('\n---\n');
}

export async function installUpstreamCRDs(kubeConfig: KubeConfig, client: Client): Promise<void> {
  const crds = parseManifests(upstreamCRDs()).filter((o) => o.kind === CRD.kind);
  const absent = [];
  for (const crd of crds) {
    if (!(await client.get(CRD, { name: crd.metadata.name ?? '' }, { direct: true }))) absent.push(crd);
  }
  if (absent.length > 0) await applyManifests(kubeConfig, absent);
}
