// The infrastructure provider's CRDs (infrastructure.cluster.x-k8s.io), as `make generate` renders them.
import type { CRDSpec } from '../../../lib/crd/crd.js';

export const infrastructureCRDs: readonly CRDSpec[] = [];
