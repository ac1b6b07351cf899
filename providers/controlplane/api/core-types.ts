// Kubernetes core types that Kamaji's API embeds. The small ones carry real schemas, so mistakes are refused at
// admission; the large pod-level ones (Container, Volume, Affinity, security contexts) are kept whole
// (preserve-unknown-fields) and validated by the apiserver when the operator writes the Deployment from them,
// which reports the error on the TenantControlPlane.
import { Type, type Static, type TSchema } from '@sinclair/typebox';

/** An object whose content the apiserver validates elsewhere; typed loosely here. */
export function opaque<T = Record<string, unknown>>(description: string) {
  return Type.Unsafe<T>({ type: 'object', description, 'x-kubernetes-preserve-unknown-fields': true });
}

export const IntOrString = Type.Unsafe<number | string>({ 'x-kubernetes-int-or-string': true });

export const Quantity = Type.Unsafe<number | string>({
  'x-kubernetes-int-or-string': true,
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
});

/** A map with free keys: `additionalProperties`, since structural schemas refuse the `patternProperties` Type.Record emits. */
export function mapOf<T extends TSchema>(value: T) {
  return Type.Unsafe<Record<string, Static<T>>>({ type: 'object', additionalProperties: value });
}

export const StringMap = mapOf(Type.String());

export const ResourceRequirements = Type.Object({
  limits: Type.Optional(mapOf(Quantity)),
  requests: Type.Optional(mapOf(Quantity)),
  claims: Type.Optional(Type.Array(Type.Object({ name: Type.String(), request: Type.Optional(Type.String()) }))),
});
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

export const Container = opaque('A core/v1 Container, validated when the operator writes the Deployment.');
export const Volume = opaque('A core/v1 Volume, validated when the operator writes the Deployment.');
export const Affinity = opaque('A core/v1 Affinity.');
export const TopologySpreadConstraint = opaque('A core/v1 TopologySpreadConstraint.');
export const SecurityContext = opaque('A core/v1 SecurityContext.');
export const PodSecurityContext = opaque('A core/v1 PodSecurityContext.');

/** metav1.Condition, as Kamaji's DataStore status carries it. */
export const Condition = Type.Object({
  type: Type.String({ maxLength: 316 }),
  status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
  observedGeneration: Type.Optional(Type.Integer({ format: 'int64', minimum: 0 })),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  reason: Type.String({ maxLength: 1024, minLength: 1 }),
  message: Type.String({ maxLength: 32768 }),
});
export type Condition = Static<typeof Condition>;

export const ObjectMetaSchema = <T>() => Type.Unsafe<T>({ type: 'object' });

