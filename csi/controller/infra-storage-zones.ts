// The zones a volume's infra storage serves, read from the infra StorageClass the DataVolume names (or the infra
// default class, the one CDI gives a DataVolume that names none). StorageClasses are cluster-scoped, so this read
// is the one thing outside the tenant's namespace the controller does: with --topology, and for GetCapacity where the
// credentials allow it.
import { ApiError } from '../../lib/kube/api-error.js';
import type { Client } from '../../lib/kube/client.js';
import type { KubeObject, TypeMeta } from '../../lib/kube/object.js';
import { invalidArgument } from '../status.js';
import type { InfraClass } from './capacity.js';
import { zonesOfStorageClass, type ServedZones, type StorageClassTopology } from './topology.js';

const STORAGE_CLASS_TYPE: TypeMeta = { apiVersion: 'storage.k8s.io/v1', kind: 'StorageClass' };
const DEFAULT_CLASS_ANNOTATION = 'storageclass.kubernetes.io/is-default-class';

type StorageClass = KubeObject & StorageClassTopology;

/** The infra default StorageClass: the newest of those annotated default, as the apiserver's admission picks it. */
function defaultClass(classes: StorageClass[]): StorageClass | undefined {
  const defaults = classes.filter((sc) => sc.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
  return defaults.sort((a, b) => (b.metadata.creationTimestamp ?? '').localeCompare(a.metadata.creationTimestamp ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))[0];
}

export async function servedZones(infra: Client, className: string | undefined): Promise<ServedZones> {
  if (className) {
    const sc = await infra.get<StorageClass>(STORAGE_CLASS_TYPE, { name: className }, { direct: true });
    // The class comes from the tenant's StorageClass parameters: a name the infra does not have is the caller's error.
    if (!sc) throw invalidArgument(`infraStorageClassName ${className}: the infra cluster has no such StorageClass`);
    return { className, zones: zonesOfStorageClass(sc) };
  }
  const sc = defaultClass(await infra.list<StorageClass>(STORAGE_CLASS_TYPE, { direct: true }));
  // No default class: the infra binds such claims to whatever it provisions without a class, zones unknown to it.
  return { className: undefined, zones: sc ? zonesOfStorageClass(sc) : undefined };
}

/**
 * The class a DataVolume naming none gets, for GetCapacity: the infra default's name, '' when the infra has no default
 * (such a claim has no class, and no class's quota counts it), or an unknown name when these credentials may not read
 * StorageClasses (a namespaced Role alone, without the --topology ClusterRole).
 */
export async function infraDefaultClass(infra: Client): Promise<InfraClass> {
  try {
    return { name: defaultClass(await infra.list<StorageClass>(STORAGE_CLASS_TYPE, { direct: true }))?.metadata.name ?? '' };
  } catch (err) {
    if (err instanceof ApiError && err.status === 403) return { name: undefined };
    throw err;
  }
}
