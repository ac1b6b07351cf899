// apps/v1 kinds that the kvcloud components read or own; each component keeps its own view of the fields it needs.
import type { TypeMeta } from '../kube/object.js';

export const DEPLOYMENT_TYPE: TypeMeta = { apiVersion: 'apps/v1', kind: 'Deployment' };
