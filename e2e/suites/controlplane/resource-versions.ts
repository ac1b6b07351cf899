// What "nothing was written" looks like from outside: the resourceVersion of each object the operator manages
// for a tenant (the TenantControlPlane, its Secrets and Service), and inside the tenant the objects it applies.
// Deployments and DaemonSets get status updates from controllers that are not ours (the management cluster's for
// the control plane Deployment, while a replaced pod finishes terminating; the tenant's for CoreDNS and
// kube-proxy), so for them metadata.generation plus labels and annotations stand for "we wrote nothing".
import type { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';

type Ref = [{ apiVersion: string; kind: string }, string | undefined, string];

const TENANT_OBJECTS: Ref[] = [
  [{ apiVersion: 'v1', kind: 'ConfigMap' }, 'kube-system', 'kubeadm-config'],
  [{ apiVersion: 'v1', kind: 'ConfigMap' }, 'kube-system', 'kubelet-config'],
  [{ apiVersion: 'v1', kind: 'ConfigMap' }, 'kube-system', 'coredns'],
  [{ apiVersion: 'v1', kind: 'ConfigMap' }, 'kube-system', 'kube-proxy'],
  [{ apiVersion: 'v1', kind: 'Service' }, 'kube-system', 'kube-dns'],
  [{ apiVersion: 'apps/v1', kind: 'Deployment' }, 'kube-system', 'coredns'],
  [{ apiVersion: 'apps/v1', kind: 'DaemonSet' }, 'kube-system', 'kube-proxy'],
];

const workloadVersion = (o: KubeObject) =>
  `generation ${String(o.metadata.generation)} ${JSON.stringify({ labels: o.metadata.labels, annotations: o.metadata.annotations })}`;
const version = (o: KubeObject | undefined, kind: string) =>
  !o ? 'absent' : kind === 'Deployment' || kind === 'DaemonSet' ? workloadVersion(o) : (o.metadata.resourceVersion ?? '');

/** "Kind namespace/name" -> resourceVersion of a tenant's objects in the management cluster. */
export async function managementVersions(client: Client, namespace: string, tenant: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const tcp = await client.get({ apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane' }, { namespace, name: tenant }, { direct: true });
  out[`TenantControlPlane ${tenant}`] = tcp?.metadata.resourceVersion ?? 'absent';
  for (const kind of ['Deployment', 'Service']) {
    const o = await client.get({ apiVersion: kind === 'Deployment' ? 'apps/v1' : 'v1', kind }, { namespace, name: tenant }, { direct: true });
    out[`${kind} ${tenant}`] = version(o, kind);
  }
  for (const s of await client.list({ apiVersion: 'v1', kind: 'Secret' }, { namespace, labelSelector: `kamaji.clastix.io/name=${tenant}`, direct: true })) {
    out[`Secret ${s.metadata.name ?? ''}`] = s.metadata.resourceVersion ?? '';
  }
  return out;
}

/** The same inside the tenant, through its admin client. */
export async function tenantVersions(tenantClient: Client): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [type, namespace, name] of TENANT_OBJECTS) {
    out[`${type.kind} ${namespace ?? ''}/${name}`] = version(await tenantClient.get(type, { namespace, name }, { direct: true }), type.kind);
  }
  return out;
}
