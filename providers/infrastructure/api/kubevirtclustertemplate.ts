// KubevirtClusterTemplate: the InfraClusterTemplate a ClusterClass stamps KubevirtClusters from. Its spec is
// immutable (config/infrastructure/admission); it has no status, like CAPK's.
import { Type, type Static } from '@sinclair/typebox';
import { KubevirtClusterSpecSchema } from './kubevirtcluster.js';
import { RootObjectMeta, TypeMetaFields } from '../../../lib/crd/kube-schemas.js';
import { TemplateObjectMeta } from './kube-shapes.js';

export const KubevirtClusterTemplateResourceSchema = Type.Object(
  {
    metadata: Type.Optional(TemplateObjectMeta),
    spec: KubevirtClusterSpecSchema,
  },
  { description: 'The KubevirtCluster to create.' },
);

export const KubevirtClusterTemplateSpecSchema = Type.Object({ template: KubevirtClusterTemplateResourceSchema });

export const KubevirtClusterTemplateSchema = Type.Object({
  ...TypeMetaFields,
  metadata: RootObjectMeta,
  spec: KubevirtClusterTemplateSpecSchema,
});

export type KubevirtClusterTemplateResource = Static<typeof KubevirtClusterTemplateResourceSchema>;
export type KubevirtClusterTemplateSpec = Static<typeof KubevirtClusterTemplateSpecSchema>;
export type KubevirtClusterTemplate = Static<typeof KubevirtClusterTemplateSchema>;
