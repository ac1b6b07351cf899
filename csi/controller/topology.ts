// Volume topology, as pure functions. A tenant Node's zone is its topology.kubernetes.io/zone label (the CCM copies
// it from the infra Node its VM runs on), which the node plugin reports as its only topology key; a volume can be
// hot-plugged only into VMs in a zone its infra storage serves, which is what the infra StorageClass's
// allowedTopologies say. CreateVolume places a volume in one of those zones that the CO's requisite allows, the CO's
// first preferred one where it can, and reports that zone as the volume's accessible topology (so the tenant's
// scheduler only puts its pods on Nodes of that zone). One zone, not every zone served: storage that spans zones
// may still provision a volume in one of them (the consumer's, under WaitForFirstConsumer), and the first hot-plug
// then goes to a VM of the reported zone. Infra storage that names no zone serves all of them: no topology reported.
import { TOPOLOGY_ZONE_LABEL } from '../../lib/apis/core.js';
import type { Topology, TopologyRequirement } from '../csi-types.js';
import { invalidArgument, resourceExhausted } from '../status.js';

export const ZONE_KEY = TOPOLOGY_ZONE_LABEL;
/** On the DataVolume: the zone CreateVolume placed the volume in, so a repeated call and ListVolumes answer alike. */
export const ZONE_ANNOTATION = 'csi.kubevirt.io/zone';

export interface StorageClassTopology {
  allowedTopologies?: { matchLabelExpressions?: { key: string; values?: string[] }[] }[];
}

/** The zones an infra StorageClass provisions in; undefined when it restricts no zone (any term without a zone key). */
export function zonesOfStorageClass(sc: StorageClassTopology): string[] | undefined {
  const terms = sc.allowedTopologies ?? [];
  if (terms.length === 0) return undefined;
  const zones = new Set<string>();
  for (const term of terms) {
    const expr = term.matchLabelExpressions?.find((e) => e.key === ZONE_KEY);
    // Terms are ORed: one that leaves the zone open opens every zone.
    if (!expr) return undefined;
    for (const z of expr.values ?? []) zones.add(z);
  }
  return [...zones];
}

/** The zone of each topology; INVALID_ARGUMENT for a key the node plugins never report, or a topology without a zone. */
function zonesOf(list: Topology[] | undefined, what: string): string[] {
  return (list ?? []).map((t, i) => {
    const segments = t.segments ?? {};
    const other = Object.keys(segments).find((k) => k !== ZONE_KEY);
    if (other) throw invalidArgument(`accessibility_requirements.${what}[${String(i)}]: topology key ${other} is not one this driver reports (only ${ZONE_KEY})`);
    const zone = segments[ZONE_KEY];
    if (!zone) throw invalidArgument(`accessibility_requirements.${what}[${String(i)}]: no ${ZONE_KEY} segment`);
    return zone;
  });
}

/** The requisite and preferred zones of a requirement, checked as the CSI spec asks (preferred within requisite). */
function requirementZones(req: TopologyRequirement | undefined): { requisite: string[]; preferred: string[] } {
  const requisite = zonesOf(req?.requisite, 'requisite');
  const preferred = zonesOf(req?.preferred, 'preferred');
  const stray = requisite.length > 0 ? preferred.find((z) => !requisite.includes(z)) : undefined;
  if (stray) throw invalidArgument(`accessibility_requirements: preferred zone ${stray} is not among the requisite zones (${requisite.join(', ')})`);
  return { requisite, preferred };
}

/** What the infra storage of a volume serves: its class (undefined: the infra default) and zones (undefined: all). */
export interface ServedZones {
  className: string | undefined;
  zones: string[] | undefined;
}

const classWords = (served: ServedZones) => (served.className ? `infra StorageClass ${served.className}` : 'the infra default StorageClass');

/**
 * The zone to place a volume in: the first preferred zone the storage serves, else the first requisite one, else
 * the first zone served; undefined when the storage serves every zone. RESOURCE_EXHAUSTED (the CSI spec's code for
 * a requirement that cannot be provisioned) when no requisite zone is served.
 */
export function placeVolume(req: TopologyRequirement | undefined, served: ServedZones): string | undefined {
  const { requisite, preferred } = requirementZones(req);
  if (!served.zones) return undefined;
  const zones = served.zones;
  const allowed = requisite.length > 0 ? requisite.filter((z) => zones.includes(z)) : zones;
  if (allowed.length === 0) {
    throw resourceExhausted(`cannot provision in the requisite zones (${requisite.join(', ')}): ${classWords(served)} serves only ${zones.join(', ') || 'no zone'}; schedule the pod to a Node in one of those zones or pick a class whose infra storage serves its zone`);
  }
  return preferred.find((z) => allowed.includes(z)) ?? allowed[0];
}

/** Why a volume placed in `zone` does not meet a repeated CreateVolume's requirement; undefined when it does. */
export function zoneMismatch(zone: string | undefined, req: TopologyRequirement | undefined): string | undefined {
  const { requisite } = requirementZones(req);
  if (!zone || requisite.length === 0 || requisite.includes(zone)) return undefined;
  return `it is in zone ${zone}, not one of the requisite zones (${requisite.join(', ')})`;
}

/** A volume's accessible_topology: its zone, or nothing (accessible from every zone). */
export const accessibleTopology = (zone: string | undefined): Topology[] | undefined => (zone ? [{ segments: { [ZONE_KEY]: zone } }] : undefined);
