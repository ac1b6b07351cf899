// Which kubernetesResources.version a TenantControlPlane reports, decided from what was last reported, the spec,
// the Deployment's rollout and whether the tenant apiserver answers /readyz. During a version change the old pods
// keep answering until the new ones are ready (maxUnavailable 0), so "an apiserver answers" alone would report
// Ready with the new version too early: a change of version is Upgrading until the Deployment has rolled out.
import type { KubernetesVersionStatus } from '../api/index.js';
import type { Deployment } from '../management/deployment.js';

export interface VersionStatus {
  version?: string;
  status: KubernetesVersionStatus;
}

export interface VersionInputs {
  /** status.kubernetesResources.version as last reported. */
  current: { version?: string; status?: KubernetesVersionStatus } | undefined;
  /** spec.kubernetes.version. */
  desired: string;
  /** The live Deployment; undefined before it exists. */
  deployment: Deployment | undefined;
  /** The tenant apiserver answered /readyz through the admin kubeconfig. */
  answering: boolean;
  /** spec.writePermissions blocks some writes: a serving tenant then reads WriteLimited instead of Ready, as in Kamaji. */
  writeLimited?: boolean;
  /**
   * A DataStore migration refuses the users' writes (datastore/migration.ts blocksWrites): a serving tenant then
   * reads Migrating, as in Kamaji. Only while the block holds: the reconciler lifts it in the pass after the one
   * that records the phase without the block, so a user who reads Migrating is refused, and a write accepted is
   * never accepted under a Migrating status.
   */
  migrationBlocksWrites?: boolean;
}

/** Every pod runs the current template: the controller saw the latest spec and no pod of an older one is left. */
export function rolledOut(d: Deployment | undefined): boolean {
  if (!d) return false;
  const want = d.spec?.replicas ?? 1;
  const st = d.status ?? {};
  return (st.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && (st.updatedReplicas ?? 0) === want && (st.replicas ?? 0) === want;
}

export function decideVersionStatus(i: VersionInputs): VersionStatus {
  const installed = i.current?.version;
  const changing = installed !== undefined && installed !== i.desired;
  if (i.answering && !(changing && !rolledOut(i.deployment))) return { version: i.desired, status: servingStatus(i) };
  if (installed === undefined) return { status: 'Provisioning' };
  return { version: installed, status: changing ? 'Upgrading' : 'NotReady' };
}

/**
 * The Kubernetes version of what the operator installs inside the tenant (kube-proxy's image, kubeadm-config): the
 * version decided above, which reaches the spec's only once every apiserver pod runs it. The version skew policy
 * allows no kube-proxy newer than the apiserver, and during an upgrade the old apiservers serve until the rollout
 * ends. Before any version is reported no older apiserver exists, so the spec's is the one.
 */
export function addonVersion(i: VersionInputs): string {
  return decideVersionStatus(i).version ?? i.desired;
}

function servingStatus(i: VersionInputs): KubernetesVersionStatus {
  if (i.migrationBlocksWrites) return 'Migrating';
  return i.writeLimited ? 'WriteLimited' : 'Ready';
}
