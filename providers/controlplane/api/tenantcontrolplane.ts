// TenantControlPlane (kamaji.clastix.io/v1alpha1, short name tcp): a tenant cluster's control plane run as pods in
// the management cluster. The root schema, the static type and the values the operator derives from it.
import { Type, type Static } from '@sinclair/typebox';
import type { ObjectMeta } from '../../../lib/kube/object.js';
import { RootObjectMeta } from '../../../lib/crd/kube-schemas.js';
import { TenantControlPlaneSpec } from './tenantcontrolplane-spec.js';
import { TenantControlPlaneStatus } from './tenantcontrolplane-status.js';
import { rule } from '../../../lib/crd/validation-rules.js';
import { DNS1035_LABEL } from '../../../lib/crd/dns-names.js';

export const TenantControlPlaneSchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    metadata: Type.Optional(RootObjectMeta),
    spec: TenantControlPlaneSpec,
    status: Type.Optional(TenantControlPlaneStatus),
  },
  {
    'x-kubernetes-validations': [
      // The name becomes a Service name and a DNS label in the serving certificate (Kamaji checks DNS-1035).
      rule(
        `size(self.metadata.name) <= 63 && self.metadata.name.matches('${DNS1035_LABEL}')`,
        'metadata.name of a TenantControlPlane must be a DNS-1035 label: lowercase letters, digits and -, starting with a letter, at most 63 characters',
      ),
    ],
  },
);

export interface TenantControlPlane {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: Static<typeof TenantControlPlaneSpec>;
  status?: Static<typeof TenantControlPlaneStatus>;
}

/** Kamaji's default for dataStoreSchema and dataStoreUsername: `<namespace>_<name>`, dashes turned into underscores. */
export function defaultDataStoreIdentifier(tcp: Pick<TenantControlPlane, 'metadata'>): string {
  return `${tcp.metadata.namespace ?? ''}_${tcp.metadata.name ?? ''}`.replaceAll('-', '_');
}

/** The etcd key prefix / database name the tenant uses: spec.dataStoreSchema, else the default. */
export function dataStoreSchemaOf(tcp: TenantControlPlane): string {
  return tcp.spec.dataStoreSchema ?? defaultDataStoreIdentifier(tcp);
}

/** The datastore user the tenant authenticates as (the CN of its datastore client certificate for etcd). */
export function dataStoreUsernameOf(tcp: TenantControlPlane): string {
  return tcp.spec.dataStoreUsername ?? defaultDataStoreIdentifier(tcp);
}
