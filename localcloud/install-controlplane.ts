// Installs the control plane provider the way a user would with `kubectl apply -k config/controlplane`: every
// object of the kustomization (resources followed into directories, the operator's image as its `images` sets it),
// then waits for the operator pod to be Ready. The pod runner runs its image (ghcr.io/kvcloud/controlplane-manager:dev)
// as providers/controlplane/main.ts with the manifest's args, ServiceAccount and RBAC.
import { fileURLToPath } from 'node:url';
import type { Client } from '../lib/kube/client.js';
import type { KubeObject } from '../lib/kube/object.js';
import { kustomizeBuild, type Manifest } from '../packaging/kustomize.js';
import type { Cluster } from './cluster/cluster.js';
import { POD_CIDR } from './cluster/topology.js';
import { waitFor } from './wait.js';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));

/** The objects of config/controlplane, read by the same kustomize subset as the clusterctl release. */
export function controlPlaneProviderObjects(): Promise<Manifest[]> {
  return kustomizeBuild(REPO_ROOT, 'config/controlplane');
}

/**
 * The manifests with the operator told this cluster's Pod and Service ranges, as a user's kustomize patch would
 * tell it theirs, so tenants that would overlap them are refused.
 */
function withManagementRanges(objects: object[], ranges: { podCIDR: string; serviceCIDR: string }): object[] {
  return objects.map((o) => {
    const d = o as { kind?: string; spec?: { template?: { spec?: { containers?: { name: string; args?: string[] }[] } } } };
    const containers = d.kind === 'Deployment' ? d.spec?.template?.spec?.containers : undefined;
    if (!containers) return o;
    const args = [`--management-pod-cidr=${ranges.podCIDR}`, `--management-service-cidr=${ranges.serviceCIDR}`];
    const patched = containers.map((c) => ({ ...c, args: [...(c.args ?? []), ...args] }));
    return { ...d, spec: { ...d.spec, template: { ...d.spec?.template, spec: { ...d.spec?.template?.spec, containers: patched } } } };
  });
}

export async function installControlPlaneProvider(cluster: Cluster, client: Client): Promise<void> {
  const objects = withManagementRanges(await controlPlaneProviderObjects(), { podCIDR: POD_CIDR, serviceCIDR: cluster.network.serviceCIDR });
  await cluster.plane.applyManifests(objects);
  await waitFor(
    async () => {
      const pods = await client.list<KubeObject & { status?: { conditions?: { type: string; status: string }[]; containerStatuses?: unknown[] } }>(
        { apiVersion: 'v1', kind: 'Pod' },
        { namespace: 'kamaji-system', labelSelector: 'app.kubernetes.io/name=kvcloud-controlplane', direct: true },
      );
      const ready = pods.some((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'));
      if (!ready) throw new Error(`operator pods: ${JSON.stringify(pods.map((p) => p.status?.containerStatuses ?? p.status))}`);
      return true;
    },
    { timeoutMs: 120_000, what: 'the control plane operator pod to be Ready' },
  );
}


