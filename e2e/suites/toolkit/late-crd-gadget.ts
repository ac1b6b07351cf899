// The Gadget kind of the late-CRD suite: its own group, so no other toolkit suite on the shared plane installs it
// first.
import type { KubeObject } from '../../../lib/kube/object.js';

export const GADGET = { apiVersion: 'late.toolkit.kvcloud.test/v1', kind: 'Gadget' };

export interface Gadget extends KubeObject {
  spec?: { size?: number };
  status?: { observedSize?: number };
}

export const GADGET_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'gadgets.late.toolkit.kvcloud.test' },
  spec: {
    group: 'late.toolkit.kvcloud.test',
    scope: 'Namespaced',
    names: { plural: 'gadgets', singular: 'gadget', kind: 'Gadget', listKind: 'GadgetList' },
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
              status: { type: 'object', properties: { observedSize: { type: 'integer' } } },
            },
          },
        },
      },
    ],
  },
};
