// The test kinds of the toolkit suites: namespaced, spec.size and a status subresource each, in groups of their own
// so that no suite on the shared plane installs another's kind first.
import type { Condition } from '../../../lib/controller/conditions.js';
import type { KubeObject } from '../../../lib/kube/object.js';

/** A CRD of a namespaced kind with spec.size, a status subresource and `status` properties as given. */
function sizedKindCRD(group: string, kind: string, status: Record<string, unknown>) {
  const singular = kind.toLowerCase();
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${singular}s.${group}` },
    spec: {
      group,
      scope: 'Namespaced',
      names: { plural: `${singular}s`, singular, kind, listKind: `${kind}List` },
      versions: [
        {
          name: 'v1',
          served: true,
          storage: true,
          subresources: { status: {} },
          schema: {
            openAPIV3Schema: {
              type: 'object',
              properties: {
                spec: { type: 'object', properties: { size: { type: 'integer' } } },
                status: { type: 'object', properties: status },
              },
            },
          },
        },
      ],
    },
  };
}

export const WIDGET = { apiVersion: 'toolkit.kvcloud.test/v1', kind: 'Widget' };

export interface Widget extends KubeObject {
  spec?: { size?: number };
  status?: { observedSize?: number; conditions?: Condition[] };
}

export const WIDGET_CRD = sizedKindCRD('toolkit.kvcloud.test', 'Widget', {
  observedSize: { type: 'integer' },
  conditions: {
    type: 'array',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
    items: {
      type: 'object',
      required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
      properties: {
        type: { type: 'string' },
        status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
        observedGeneration: { type: 'integer' },
        lastTransitionTime: { type: 'string', format: 'date-time' },
        reason: { type: 'string' },
        message: { type: 'string' },
      },
    },
  },
});

/** The late-CRD suite's kind: the manager starts before this CRD exists. */
export const GADGET = { apiVersion: 'late.toolkit.kvcloud.test/v1', kind: 'Gadget' };

export interface Gadget extends KubeObject {
  spec?: { size?: number };
  status?: { observedSize?: number };
}

export const GADGET_CRD = sizedKindCRD('late.toolkit.kvcloud.test', 'Gadget', { observedSize: { type: 'integer' } });
