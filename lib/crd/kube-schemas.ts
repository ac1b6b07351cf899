// Kubernetes building blocks of CRD schemas (object metadata, maps, quantities, conditions) as TypeBox schemas
// that render to structural schema and type as the wire shapes the toolkit reads and writes.
import { Type, type Static, type TSchema, type TUnsafe } from '@sinclair/typebox';
import type { Condition } from '../controller/conditions.js';
import type { ObjectMeta } from '../kube/object.js';

/** apiVersion and kind, which the apiserver fills in on every object it returns. */
export const TypeMetaFields = { apiVersion: Type.Optional(Type.String()), kind: Type.Optional(Type.String()) };

/** The object's own metadata: the apiserver validates it, so the schema only says "object". */
export const RootObjectMeta: TUnsafe<ObjectMeta> = Type.Unsafe<ObjectMeta>({ type: 'object' });

/** A map with free keys: `additionalProperties`, since structural schemas refuse the `patternProperties` Type.Record emits. */
export function mapOf<T extends TSchema>(value: T, description?: string): TUnsafe<Record<string, Static<T>>> {
  return Type.Unsafe<Record<string, Static<T>>>({ type: 'object', additionalProperties: value, ...(description ? { description } : {}) });
}

/** map[string]string (labels, annotations, node selectors). */
export const StringMap = (description?: string): TUnsafe<Record<string, string>> => mapOf(Type.String(), description);

/** intstr.IntOrString: a port number or name, a count or percentage. */
export const IntOrString = Type.Unsafe<number | string>({ 'x-kubernetes-int-or-string': true });

/** A resource.Quantity: "2", 2, "4Gi", "500m". */
export const Quantity = (description?: string): TUnsafe<number | string> =>
  Type.Unsafe<number | string>({
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    'x-kubernetes-int-or-string': true,
    pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
    ...(description ? { description } : {}),
  });

/** corev1.ResourceList (capacity, requests, limits). */
export const ResourceList = (description?: string): TUnsafe<Record<string, number | string>> => mapOf(Quantity(), description);

/** metav1.Condition with upstream's validation, as the toolkit's conditions helpers write it. */
export const ConditionSchema: TUnsafe<Condition> = Type.Unsafe<Condition>(
  Type.Object({
    type: Type.String({
      maxLength: 316,
      pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    }),
    status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
    observedGeneration: Type.Optional(Type.Integer({ format: 'int64', minimum: 0 })),
    lastTransitionTime: Type.String({ format: 'date-time' }),
    reason: Type.String({ minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' }),
    message: Type.String({ maxLength: 32768 }),
  }),
);

/** status.conditions: one entry per type. */
export const Conditions = (description: string) =>
  Type.Array(ConditionSchema, {
    description,
    maxItems: 32,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  });
