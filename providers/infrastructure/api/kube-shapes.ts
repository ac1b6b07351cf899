// The provider's own schema shapes beside lib/crd's Kubernetes building blocks: CAPK's embedded and template
// metadata, object references and the Cluster API v1beta1 status mirror.
import { Type } from '@sinclair/typebox';
import { objectName } from '../../../lib/crd/dns-names.js';
import { StringMap } from '../../../lib/crd/kube-schemas.js';
import { rules, type ValidationRule } from '../../../lib/crd/validation-rules.js';

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
export const ObjectReference = (description: string, extra: ValidationRule[] = []) =>
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
