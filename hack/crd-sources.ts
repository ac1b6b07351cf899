// Every CRD kvcloud owns, by the directory `make generate` writes it to: each provider's crd/ under config/, a
// kustomize base of its own that the provider's kustomization lists (kustomize loads no file outside a base's
// directory). Each component lists its own API specs in its api/crds.ts.
import type { CRDSpec } from '../lib/crd/crd.js';
import { controlPlaneCRDs } from '../providers/controlplane/api/crds.js';
import { infrastructureCRDs } from '../providers/infrastructure/api/crds.js';

/** The generated CRD directories, relative to the repository root, and the specs each holds. */
export const crdSources: readonly { dir: string; specs: readonly CRDSpec[] }[] = [
  { dir: 'config/infrastructure/crd', specs: infrastructureCRDs },
  { dir: 'config/controlplane/crd', specs: controlPlaneCRDs },
];
