// Which TenantControlPlane serves the tenant now, recorded inside the tenant. Two management clusters sharing the
// tenant's DataStore both read it, so a source cluster learns from it that the target of a `clusterctl move`
// runs the tenant's control plane (controllers/move-handover.ts). Written only once the writer's own control plane
// pods are Ready, as the tenant phases are.
import type { KubeObject } from '../../../lib/kube/object.js';
import { KUBE_SYSTEM, type Manifest } from './manifest.js';

export const SERVING_MARKER = { apiVersion: 'v1', kind: 'ConfigMap', namespace: KUBE_SYSTEM, name: 'kvcloud-serving-control-plane' } as const;
const UID_KEY = 'tenantControlPlaneUID';

export function servingMarkerObjects(tcpUid: string): Manifest[] {
  return [
    {
      apiVersion: SERVING_MARKER.apiVersion,
      kind: SERVING_MARKER.kind,
      metadata: { name: SERVING_MARKER.name, namespace: SERVING_MARKER.namespace },
      data: { [UID_KEY]: tcpUid },
    },
  ];
}

export function servingUidOf(marker: KubeObject | undefined): string | undefined {
  return (marker as { data?: Record<string, string> } | undefined)?.data?.[UID_KEY];
}
