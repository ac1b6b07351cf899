// Kubernetes building blocks of the provider's schemas (object metadata, references, conditions, quantities), as
// TypeBox schemas that render to structural CRD schema and type as the toolkit's wire shapes.
import { Type, type TSchema, type TUnsafe } from '@sinclair/typebox';
import type { Condition } from '../../../lib/controller/conditions.js';
import type { ObjectMeta } from '../../../lib/kube/object.js';

/** A CEL rule with the message the apiserver returns when it fails; messages name the field and the fix. */
export interface Rule {
  rule: string;
  message: string;
  /** Where the apiserver reports the error, relative to the node carrying the rule. */
  fieldPath?: string;
}

export const rules = (...list: Rule[]) => ({ 'x-kubernetes-validations': list });

/**
 * The schema with more rules. Transition rules (oldSelf) go on the objects' own spec only, never on a spec shared
 * with a template: there they would refuse the topology controller's dry-run that the template policy exempts.
 */
export function withRules<T extends TSchema>(schema: T, extra: Rule[]): T {
  const existing = (schema['x-kubernetes-validations'] as Rule[] | undefined) ?? [];
  return { ...schema, 'x-kubernetes-validations': [...existing, ...extra] };
}

// CEL string literals have no `\.` escape, so dots are matched with `[.]`.
const DNS1123_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?([.][a-z0-9]([-a-z0-9]*[a-z0-9])?)*$';
const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';

/** A string field holding the name of an object (a Secret, a namespace...), checked with a readable message. */
export function objectName(field: string, what: string, opts: { label?: boolean; description?: string } = {}) {
  const pattern = opts.label ? DNS1123_LABEL : DNS1123_SUBDOMAIN;
  return Type.String({
    maxLength: opts.label ? 63 : 253,
    ...(opts.description ? { description: opts.description } : {}),
    ...rules({
      rule: `self.matches('${pattern}')`,
      message: `${field} must be ${what}: lowercase letters, digits and '-'${opts.label ? '' : " or '.'"}, starting and ending with a letter or digit`,
    }),
  });
}

/** map[string]string (labels, annotations, attributes). */
export const StringMap = (description?: string): TUnsafe<Record<string, string>> =>
  Type.Unsafe<Record<string, string>>({
    type: 'object',
    additionalProperties: { type: 'string' },
    ...(description ? { description } : {}),
  });

/** A resource.Quantity: "2", 2, "4Gi", "500m". */
export const Quantity = (description?: string): TUnsafe<number | string> =>
  Type.Unsafe<number | string>({
    anyOf: [{ type: 'integer' }, { type: 'string' }],
    'x-kubernetes-int-or-string': true,
    pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
    ...(description ? { description } : {}),
  });

/** corev1.ResourceList (capacity, requests, limits). */
export const ResourceList = (description?: string): TUnsafe<Record<string, number | string>> =>
  Type.Unsafe<Record<string, number | string>>({
    type: 'object',
    additionalProperties: Quantity(),
    ...(description ? { description } : {}),
  });

/** apiVersion and kind, which the apiserver fills in on every object it returns. */
export const TypeMetaFields = { apiVersion: Type.Optional(Type.String()), kind: Type.Optional(Type.String()) };

/** The object's own metadata: the apiserver validates it, so the schema only says "object". */
export const RootObjectMeta: TUnsafe<ObjectMeta> = Type.Unsafe<ObjectMeta>({ type: 'object' });

/**
 * Metadata embedded in a spec (a Service or VM template): CAPK keeps it open and nullable, so any ObjectMeta a
 * CAPK manifest carries is kept; the fields we act on are typed.
 */
export const EmbeddedObjectMeta = (description: string, namespaceField: string) =>
  Type.Object(
    {
      name: Type.Optional(Type.String()),
      namespace: Type.Optional(objectName(namespaceField, 'a namespace name', { label: true })),
      labels: Type.Optional(StringMap()),
      annotations: Type.Optional(StringMap()),
    },
    { description, nullable: true, 'x-kubernetes-preserve-unknown-fields': true },
  );

/** Cluster API's template metadata (clusterv1.ObjectMeta): labels and annotations only. */
export const TemplateObjectMeta = Type.Object(
  { labels: Type.Optional(StringMap()), annotations: Type.Optional(StringMap()) },
  { description: 'Labels and annotations copied to the objects created from the template.' },
);

/** corev1.ObjectReference, atomic as upstream. */
export const ObjectReference = (description: string, extra: Rule[] = []) =>
  Type.Object(
    {
      apiVersion: Type.Optional(Type.String()),
      kind: Type.Optional(Type.String()),
      name: Type.Optional(Type.String()),
      namespace: Type.Optional(Type.String()),
      uid: Type.Optional(Type.String()),
      resourceVersion: Type.Optional(Type.String()),
      fieldPath: Type.Optional(Type.String()),
    },
    { description, 'x-kubernetes-map-type': 'atomic', ...(extra.length ? rules(...extra) : {}) },
  );

/** metav1.Condition, as the toolkit's conditions helpers write it. */
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

export const Conditions = (description: string) =>
  Type.Array(ConditionSchema, {
    description,
    maxItems: 32,
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
  });

/** The v1beta1 condition mirror the toolkit writes under status.deprecated.v1beta1 (lib/controller/conditions-v1beta1.ts). */
export const DeprecatedStatus = Type.Object(
  {
    v1beta1: Type.Optional(
      Type.Object({
        conditions: Type.Optional(
          Type.Array(
            Type.Object({
              type: Type.String({ maxLength: 256 }),
              status: Type.String({ maxLength: 16 }),
              severity: Type.Optional(Type.String({ maxLength: 16 })),
              lastTransitionTime: Type.String({ format: 'date-time' }),
              reason: Type.Optional(Type.String({ maxLength: 256 })),
              message: Type.Optional(Type.String({ maxLength: 10240 })),
            }),
            { maxItems: 32 },
          ),
        ),
      }),
    ),
  },
  { description: 'Status kept for consumers of the deprecated Cluster API v1beta1 contract.' },
);
