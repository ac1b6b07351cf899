// The KamajiControlPlane status Cluster API reads (contract v1beta2, with the v1alpha1 / v1beta1 fields beside
// it, since one status serves both API versions): initialization, replica counts and selector for the scale
// subresource, the running version(s), and the Available / Initialized / Ready / Sleeping conditions, all
// derived from the TenantControlPlane the operator reports on. Pure, so every case has a table test.
import type { ConditionUpdate } from '../../../lib/controller/conditions.js';
import { TENANT_NAME_LABEL, type TenantControlPlane } from '../api/index.js';
import type { KamajiControlPlane } from '../api/kamajicontrolplane.js';
import type { KamajiControlPlaneStatus, StatusVersion } from '../api/kamajicontrolplane-status.js';

/** Condition types with upstream's names (cluster-api-control-plane-provider-kamaji), plus Sleeping. */
export const KAMAJI_CONTROL_PLANE_CONDITIONS = {
  tenantControlPlaneCreated: 'TenantControlPlaneCreated',
  addressReady: 'TenantControlPlaneAddressReady',
  endpointPatched: 'ControlPlaneEndpointPatched',
  infrastructurePatched: 'InfrastructureClusterPatched',
  kubeadmResources: 'KubeadmResourcesCreated',
  initialized: 'KamajiControlPlaneIsInitialized',
  ready: 'KamajiControlPlaneIsReady',
  available: 'Available',
  sleeping: 'Sleeping',
  versionWalk: 'VersionUpgrade',
} as const;

export interface StatusInputs {
  kcp: KamajiControlPlane;
  /** The live TenantControlPlane; undefined before it exists. */
  tcp: TenantControlPlane | undefined;
  /** `<cluster>-kubeconfig` and `<cluster>-ca` are written: Cluster API can use the control plane. */
  secretsReady: boolean;
}

export interface StatusResult {
  status: KamajiControlPlaneStatus;
  conditions: ConditionUpdate[];
}

function versionsOf(tcp: TenantControlPlane, replicas: number, updated: number): StatusVersion[] | undefined {
  const v = tcp.status?.kubernetesResources?.version;
  if (!v?.version || replicas === 0) return undefined;
  const target = tcp.spec.kubernetes.version;
  if (v.status === 'Upgrading' && target !== v.version) {
    // Old pods keep serving until the new ones are ready: both versions run during the roll, oldest first.
    const list = [
      { version: v.version, replicas: Math.max(replicas - updated, 0) },
      { version: target, replicas: Math.min(updated, replicas) },
    ].filter((e) => e.replicas > 0);
    return list.length > 0 ? list : undefined;
  }
  return [{ version: v.version, replicas }];
}

export function computeStatus({ kcp, tcp, secretsReady }: StatusInputs): StatusResult {
  const dep = tcp?.status?.kubernetesResources?.deployment;
  const versionStatus = tcp?.status?.kubernetesResources?.version;
  const replicas = dep?.replicas ?? 0;
  const readyReplicas = dep?.readyReplicas ?? 0;
  const availableReplicas = dep?.availableReplicas ?? 0;
  const updatedReplicas = dep?.updatedReplicas ?? 0;
  const unavailableReplicas = dep?.unavailableReplicas ?? Math.max(replicas - availableReplicas, 0);
  const answering = versionStatus?.status === 'Ready' || versionStatus?.status === 'Upgrading' || versionStatus?.status === 'WriteLimited';
  // Initialized is a one-way latch in the contract: once the control plane has served, it stays initialized.
  const initialized =
    kcp.status?.initialization?.controlPlaneInitialized === true || kcp.status?.initialized === true || (versionStatus?.version !== undefined && secretsReady);
  const name = kcp.metadata.name ?? '';
  const versions = tcp ? versionsOf(tcp, replicas, updatedReplicas) : undefined;

  const status: KamajiControlPlaneStatus = {
    initialization: { controlPlaneInitialized: initialized },
    initialized,
    ready: answering && readyReplicas > 0,
    replicas,
    readyReplicas,
    availableReplicas,
    upToDateReplicas: updatedReplicas,
    updatedReplicas,
    unavailableReplicas,
    selector: dep?.selector ?? `${TENANT_NAME_LABEL}=${name}`,
    externalManagedControlPlane: true,
    ...(versionStatus?.version ? { version: versionStatus.version } : {}),
    ...(versions ? { versions } : {}),
  };

  const conditions: ConditionUpdate[] = [];
  const asleep = kcp.spec.replicas === 0;
  if (asleep) {
    conditions.push(
      replicas === 0
        ? { type: KAMAJI_CONTROL_PLANE_CONDITIONS.sleeping, status: 'True', reason: 'Sleeping', message: 'replicas is 0: no control plane pod runs; the tenant keeps its data' }
        : { type: KAMAJI_CONTROL_PLANE_CONDITIONS.sleeping, status: 'False', reason: 'FallingAsleep', message: `${String(replicas)} control plane pods still stopping` },
    );
  } else {
    conditions.push({ type: KAMAJI_CONTROL_PLANE_CONDITIONS.sleeping, status: 'False', reason: 'Awake' });
  }
  conditions.push(
    initialized
      ? { type: KAMAJI_CONTROL_PLANE_CONDITIONS.initialized, status: 'True', reason: 'Initialized' }
      : {
          type: KAMAJI_CONTROL_PLANE_CONDITIONS.initialized,
          status: 'False',
          reason: versionStatus?.version ? 'WaitingForKubeadmResources' : 'WaitingForTenantControlPlane',
          message: versionStatus?.version ? 'the kubeconfig and CA Secrets are not written yet' : `TenantControlPlane is ${versionStatus?.status ?? 'not created yet'}`,
        },
  );
  const tcpState = versionStatus?.status ?? 'Unknown';
  conditions.push(
    answering && readyReplicas > 0
      ? { type: KAMAJI_CONTROL_PLANE_CONDITIONS.ready, status: 'True', reason: 'Ready', message: `${String(readyReplicas)} of ${String(replicas)} control plane pods ready` }
      : { type: KAMAJI_CONTROL_PLANE_CONDITIONS.ready, status: 'False', reason: asleep ? 'Sleeping' : tcpState, message: `TenantControlPlane status ${tcpState}, ${String(readyReplicas)} of ${String(replicas)} pods ready` },
  );
  let available: ConditionUpdate;
  if (asleep) available = { type: KAMAJI_CONTROL_PLANE_CONDITIONS.available, status: 'False', reason: 'Sleeping', message: 'replicas is 0: the control plane sleeps' };
  else if (!initialized) available = { type: KAMAJI_CONTROL_PLANE_CONDITIONS.available, status: 'False', reason: 'NotInitialized', message: 'the control plane has not served yet' };
  else if (!answering || readyReplicas === 0) {
    available = { type: KAMAJI_CONTROL_PLANE_CONDITIONS.available, status: 'False', reason: 'NotReady', message: `TenantControlPlane status ${tcpState}, ${String(readyReplicas)} pods ready` };
  } else available = { type: KAMAJI_CONTROL_PLANE_CONDITIONS.available, status: 'True', reason: 'Available', message: `${String(readyReplicas)} of ${String(replicas)} control plane pods ready` };
  conditions.push(available);
  return { status, conditions };
}
