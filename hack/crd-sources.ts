// Every CRD kvcloud owns, by the file `make generate` writes it to. Each component lists its own API specs in
// its api/crds.ts; config/ kustomizations include the generated files.
import type { CRDSpec } from '../lib/crd/crd.js';
import { controlPlaneCRDs } from '../providers/controlplane/api/crds.js';
import { infrastructureCRDs } from '../providers/infrastructure/api/crds.js';

export const crdSources: readonly CRDSpec[] = [...infrastructureCRDs, ...controlPlaneCRDs];
