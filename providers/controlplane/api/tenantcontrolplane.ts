// TenantControlPlane (kamaji.clastix.io/v1alpha1, short name tcp): a tenant cluster's control plane run as pods in
// the management cluster. The root schema, the static type and the values the operator derives from it.
import { Type, type Static } from '@sinclair/typebox';
import type { ObjectMeta } from '../../../lib/kube/object.js';
import { ObjectMetaSchema } from './core-types.js';
import { DEFAULT_POD_CIDR, DEFAULT_SERVICE_CIDR, TenantControlPlaneSpec } from './tenantcontrolplane-spec.js';
import { TenantControlPlaneStatus } from './tenantcontrolplane-status.js';
import { rule } from './validation.js';

export const TenantControlPlaneSchema = Type.Object(
  {
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    metadata: Type.Optional(ObjectMetaSchema<ObjectMeta>()),
    spec: TenantControlPlaneSpec,
    status: Type.Optional(TenantControlPlaneStatus),
  },
  {
    'x-kubernetes-validations': [
      // The name becomes a Service name and a DNS label in the serving certificate (Kamaji checks DNS-1035).
      rule(
        "size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",
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

/** Service CIDRs in force: serviceCidrs wins over the deprecated serviceCidr (which the CRD defaults). */
export function serviceCIDRsOf(tcp: TenantControlPlane): string[] {
  const np = tcp.spec.networkProfile;
  if (np?.serviceCidrs && np.serviceCidrs.length > 0) return np.serviceCidrs;
  return [np?.serviceCidr ?? DEFAULT_SERVICE_CIDR];
}

/** Pod CIDRs in force: podCidrs wins over the deprecated podCidr. */
export function podCIDRsOf(tcp: TenantControlPlane): string[] {
  const np = tcp.spec.networkProfile;
  if (np?.podCidrs && np.podCidrs.length > 0) return np.podCidrs;
  return [np?.podCidr ?? DEFAULT_POD_CIDR];
}

export function clusterDomainOf(tcp: TenantControlPlane): string {
  return tcp.spec.networkProfile?.clusterDomain ?? 'cluster.local';
}

export function apiServerPortOf(tcp: TenantControlPlane): number {
  return tcp.spec.networkProfile?.port ?? 6443;
}
