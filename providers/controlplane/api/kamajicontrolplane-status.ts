// KamajiControlPlane status. Upstream's v1alpha1 and v1alpha2 differ only here (v1alpha1: initialized,
// updatedReplicas, unavailableReplicas; v1alpha2: initialization.controlPlaneInitialized, upToDateReplicas,
// availableReplicas). kvcloud serves one status holding both sets and the controller writes both, so the versions
// convert with strategy None (no conversion webhook) and a reader of either version finds its own fields.
import { Type, type Static } from '@sinclair/typebox';
import { ConditionSchema } from '../../../lib/crd/kube-schemas.js';

const Replicas = Type.Integer({ format: 'int32', minimum: 0 });

/** Cluster API v1beta1 condition, kept under status.deprecated.v1beta1 as the v1beta2 contract describes. */
export const V1Beta1Condition = Type.Object({
  type: Type.String({ minLength: 1 }),
  status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
  severity: Type.Optional(Type.String()),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
});

/** Cluster API's StatusVersion: replicas running one Kubernetes version. */
export const StatusVersion = Type.Object({
  version: Type.String({ minLength: 1, maxLength: 256 }),
  replicas: Type.Optional(Type.Integer({ format: 'int32', minimum: 1 })),
});
export type StatusVersion = Static<typeof StatusVersion>;

export const KamajiControlPlaneStatus = Type.Object({
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64', minimum: 0 })),
  // v1alpha2 / Cluster API contract v1beta2
  initialization: Type.Optional(Type.Object({ controlPlaneInitialized: Type.Optional(Type.Boolean()) })),
  availableReplicas: Type.Optional(Replicas),
  upToDateReplicas: Type.Optional(Replicas),
  // v1alpha1 / contract v1beta1
  initialized: Type.Optional(Type.Boolean()),
  updatedReplicas: Type.Optional(Replicas),
  unavailableReplicas: Type.Optional(Replicas),
  // both versions
  ready: Type.Optional(Type.Boolean()),
  replicas: Type.Optional(Replicas),
  readyReplicas: Type.Optional(Replicas),
  selector: Type.Optional(Type.String()),
  externalManagedControlPlane: Type.Optional(Type.Boolean({ default: true })),
  failureReason: Type.Optional(Type.String()),
  failureMessage: Type.Optional(Type.String()),
  /** Contract v1beta2's preferred version report, oldest first; kvcloud's addition (upstream writes status.version only). */
  versions: Type.Optional(
    Type.Array(StatusVersion, { minItems: 1, maxItems: 100, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['version'] }),
  ),
  /** Deprecated by the contract in favour of status.versions; upstream's only version field. */
  version: Type.Optional(Type.String()),
  conditions: Type.Optional(Type.Array(ConditionSchema, { 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })),
  deprecated: Type.Optional(
    Type.Object({
      v1beta1: Type.Optional(
        Type.Object({
          conditions: Type.Optional(Type.Array(V1Beta1Condition)),
          failureReason: Type.Optional(Type.String()),
          failureMessage: Type.Optional(Type.String()),
          readyReplicas: Type.Optional(Replicas),
          updatedReplicas: Type.Optional(Replicas),
          unavailableReplicas: Type.Optional(Replicas),
        }),
      ),
    }),
  ),
});
export type KamajiControlPlaneStatus = Static<typeof KamajiControlPlaneStatus>;
