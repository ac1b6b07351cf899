// Kubernetes core types that Kamaji's API embeds. The small ones carry real schemas, so mistakes are refused at
// admission; the large pod-level ones (Container, Volume, Affinity, security contexts) are kept whole
// (preserve-unknown-fields) and validated by the apiserver when the operator writes the Deployment from them,
// which reports the error on the TenantControlPlane.
import type {
  V1Affinity,
  V1Container,
  V1PodSecurityContext,
  V1ResourceRequirements,
  V1SecurityContext,
  V1TopologySpreadConstraint,
  V1Volume,
} from '@kubernetes/client-node';
import { Type, type Static } from '@sinclair/typebox';
import { IntOrString, ResourceList } from '../../../lib/crd/kube-schemas.js';

/** An object whose content the apiserver validates elsewhere; typed loosely here. */
export function opaque<T = Record<string, unknown>>(description: string) {
  return Type.Unsafe<T>({ type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true });
}

export const ResourceRequirements = Type.Unsafe<V1ResourceRequirements>(
  Type.Object({
    limits: Type.Optional(ResourceList()),
    requests: Type.Optional(ResourceList()),
    claims: Type.Optional(Type.Array(Type.Object({ name: Type.String(), request: Type.Optional(Type.String()) }))),
  }),
);
export type ResourceRequirements = Static<typeof ResourceRequirements>;

export const Toleration = Type.Object({
  key: Type.Optional(Type.String()),
  operator: Type.Optional(Type.Union([Type.Literal('Exists'), Type.Literal('Equal'), Type.Literal('Lt'), Type.Literal('Gt')])),
  value: Type.Optional(Type.String()),
  effect: Type.Optional(Type.Union([Type.Literal(''), Type.Literal('NoSchedule'), Type.Literal('PreferNoSchedule'), Type.Literal('NoExecute')])),
  tolerationSeconds: Type.Optional(Type.Integer({ format: 'int64' })),
});
export type Toleration = Static<typeof Toleration>;

export const VolumeMount = Type.Object({
  name: Type.String({ minLength: 1 }),
  mountPath: Type.String({ minLength: 1 }),
  readOnly: Type.Optional(Type.Boolean()),
  recursiveReadOnly: Type.Optional(Type.String()),
  subPath: Type.Optional(Type.String()),
  subPathExpr: Type.Optional(Type.String()),
  mountPropagation: Type.Optional(Type.String()),
});
export type VolumeMount = Static<typeof VolumeMount>;

export const DeploymentStrategy = Type.Object({
  type: Type.Optional(Type.Union([Type.Literal('RollingUpdate'), Type.Literal('Recreate')])),
  rollingUpdate: Type.Optional(Type.Object({ maxUnavailable: Type.Optional(IntOrString), maxSurge: Type.Optional(IntOrString) })),
});
export type DeploymentStrategy = Static<typeof DeploymentStrategy>;

/** Gateway API ParentReference (gateway.networking.k8s.io/v1). */
export const ParentReference = Type.Object({
  group: Type.Optional(Type.String()),
  kind: Type.Optional(Type.String()),
  namespace: Type.Optional(Type.String()),
  name: Type.String({ minLength: 1 }),
  sectionName: Type.Optional(Type.String()),
  port: Type.Optional(Type.Integer({ format: 'int32', minimum: 1, maximum: 65535 })),
});
export type ParentReference = Static<typeof ParentReference>;

// Opaque to admission, but typed as the Kubernetes models the Deployment builder puts them into.
export const Container = opaque<V1Container>('A core/v1 Container, validated when the operator writes the Deployment.');
export const Volume = opaque<V1Volume>('A core/v1 Volume, validated when the operator writes the Deployment.');
export const Affinity = opaque<V1Affinity>('A core/v1 Affinity.');
export const TopologySpreadConstraint = opaque<V1TopologySpreadConstraint>('A core/v1 TopologySpreadConstraint.');
export const SecurityContext = opaque<V1SecurityContext>('A core/v1 SecurityContext.');
export const PodSecurityContext = opaque<V1PodSecurityContext>('A core/v1 PodSecurityContext.');


