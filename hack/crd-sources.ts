// Every CRD kvcloud owns, by the file `make generate` writes it to. Components add their API specs here as
// they define them; config/ kustomizations include the generated files.
import type { CRDSpec } from '../lib/crd/crd.js';

export const crdSources: readonly CRDSpec[] = [];
