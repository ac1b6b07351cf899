// The control plane provider's CRDs (kamaji.clastix.io, controlplane.cluster.x-k8s.io), as `make generate` renders them.
import type { CRDSpec } from '../../../lib/crd/crd.js';

export const controlPlaneCRDs: readonly CRDSpec[] = [];
