// A Cluster generated from a release template, shaped to move between management clusters that share one infra
// cluster: its KubevirtCluster reaches the VMs through infraClusterSecretRef (so they are in neither management
// cluster and no move touches them), a hosted control plane answers at an address in front of whichever
// management cluster runs its pods, and only what clusterctl moves is kept. A template that pins its VMs to the
// Cluster's namespace (the default flavor) is made to follow the infra Secret's namespace, as the ext-infra flavor. The template's per-tenant CCM and CSI
// controller (Deployment, ServiceAccount, Role, RoleBinding, ConfigMap) are plain objects clusterctl neither
// discovers nor moves; a user re-applies them in the target, so a move proof leaves them out.
import { parseAllDocuments, stringify } from 'yaml';

export interface MovableClusterOptions {
  /** The Secret with the infra cluster's kubeconfig, as the ext-infra flavor names it. */
  infraClusterSecretRef: { name: string; namespace: string };
  /** For a KamajiControlPlane: the address its tenant apiserver is reached at, in front of the management clusters. */
  controlPlaneAddress?: string;
}

interface Doc {
  apiVersion?: string;
  kind?: string;
  spec?: Record<string, unknown>;
}

const MOVED_GROUP = /(^|\.)x-k8s\.io\//;

function vmTemplateOf(d: Doc): { metadata?: { namespace?: string } } | undefined {
  const template = d.spec?.template as { spec?: { virtualMachineTemplate?: { metadata?: { namespace?: string } } } } | undefined;
  return template?.spec?.virtualMachineTemplate;
}

export function movableCluster(generated: string, opts: MovableClusterOptions): string {
  const docs = parseAllDocuments(generated)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null && MOVED_GROUP.test(d.apiVersion ?? ''));
  for (const d of docs) {
    if (d.kind === 'KubevirtCluster') d.spec = { ...d.spec, infraClusterSecretRef: { apiVersion: 'v1', kind: 'Secret', ...opts.infraClusterSecretRef } };
    if (d.kind === 'KubevirtMachineTemplate') delete vmTemplateOf(d)?.metadata?.namespace;
    if (d.kind === 'KamajiControlPlane') {
      if (!opts.controlPlaneAddress) throw new Error('a KamajiControlPlane that is to move needs controlPlaneAddress: its endpoint must outlive the management cluster');
      // ClusterIP: the front reaches the pods through the Service of whichever management cluster runs them.
      d.spec = { ...d.spec, network: { ...(d.spec?.network as object), serviceType: 'ClusterIP', serviceAddress: opts.controlPlaneAddress } };
    }
  }
  return docs.map((d) => stringify(d)).join('---\n');
}
