// Failure domains of a KubevirtCluster (status.failureDomains) in both shapes of the Cluster API contract.
//
// Contract v1beta2 (what Cluster API >= 1.11 reads when our CRD carries the `cluster.x-k8s.io/v1beta2` label, which
// it always does) wants a list of {name, controlPlane, attributes}; the deprecated v1beta1 contract (cores that
// only know the `cluster.x-k8s.io/v1beta1` label) reads the same field as a map keyed by name. One CRD field
// cannot have two structural types, so the schema keeps it open (x-kubernetes-preserve-unknown-fields) and only
// the controller writes it: the list, unless it talks to a v1beta1-only core (toV1Beta1FailureDomains).
import { Type, type Static } from '@sinclair/typebox';

export const FailureDomainSchema = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 256, description: 'Name of the failure domain (a zone of the infra cluster).' }),
  controlPlane: Type.Optional(Type.Boolean({ description: 'Whether control plane machines may be placed in it.' })),
  attributes: Type.Optional(Type.Unsafe<Record<string, string>>({ type: 'object', additionalProperties: { type: 'string' } })),
});
/** The v1beta2 contract's failure domain (clusterv1.FailureDomain). */
export type FailureDomain = Static<typeof FailureDomainSchema>;

/** The v1beta1 contract's map value (clusterv1beta1.FailureDomainSpec). */
export interface V1Beta1FailureDomainSpec {
  controlPlane?: boolean;
  attributes?: Record<string, string>;
}
export type V1Beta1FailureDomains = Record<string, V1Beta1FailureDomainSpec>;

/** Open, as one field: CEL cannot see a schema node without a type, so the shape is this module's to keep. */
export const FailureDomainsSchema = Type.Unsafe<FailureDomain[] | V1Beta1FailureDomains>({
  description:
    'Failure domains (infra cluster zones) machines may be placed in: a list of {name, controlPlane, attributes} ' +
    '(Cluster API contract v1beta2) or, for cores on the v1beta1 contract, a map from name to {controlPlane, attributes}.',
  'x-kubernetes-preserve-unknown-fields': true,
});

/** The v1beta1 map form of a list of failure domains (the v1beta1 map has no room for a missing controlPlane). */
export function toV1Beta1FailureDomains(domains: readonly FailureDomain[]): V1Beta1FailureDomains {
  const out: V1Beta1FailureDomains = {};
  for (const d of domains) {
    out[d.name] = { controlPlane: d.controlPlane ?? false, ...(d.attributes ? { attributes: { ...d.attributes } } : {}) };
  }
  return out;
}

/** The list form, whichever shape is stored, sorted by name so a comparison with a freshly computed list is stable. */
export function failureDomainList(stored: FailureDomain[] | V1Beta1FailureDomains | undefined): FailureDomain[] {
  if (!stored) return [];
  const list = Array.isArray(stored) ? stored.map((d) => ({ ...d })) : Object.entries(stored).map(([name, spec]) => ({ name, ...spec }));
  return list.sort((a, b) => a.name.localeCompare(b.name));
}
