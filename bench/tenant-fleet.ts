// N TenantControlPlanes of one shape on the DataStore shared-etcd, created at once and waited for until Ready: the load
// the operator memory benchmarks measure it under.
import type { Client } from '../lib/kube/client.js';
import type { KubeObject } from '../lib/kube/object.js';
import { waitFor } from '../localcloud/wait.js';

export const TCP = { apiVersion: 'kamaji.clastix.io/v1alpha1', kind: 'TenantControlPlane' };

/** Creates t000 .. t<n-1> in `namespace` and returns once all are Ready; their names. */
export async function createReadyTenants(client: Client, namespace: string, n: number, label: string): Promise<string[]> {
  const names = Array.from({ length: n }, (_, i) => `t${String(i).padStart(3, '0')}`);
  await Promise.all(
    names.map((name) =>
      client.create({
        ...TCP,
        metadata: { name, namespace },
        spec: {
          dataStore: 'shared-etcd',
          controlPlane: { deployment: { replicas: 1 }, service: { serviceType: 'LoadBalancer' } },
          kubernetes: { version: 'v1.37.2', kubelet: {} },
          addons: { coreDNS: {}, kubeProxy: {} },
        },
      }),
    ),
  );
  await waitFor(
    async () => {
      const list = await client.list<KubeObject & { status?: { kubernetesResources?: { version?: { status?: string } } } }>(TCP, { namespace, direct: true });
      return list.filter((t) => t.status?.kubernetesResources?.version?.status === 'Ready').length === n ? true : undefined;
    },
    { timeoutMs: 30 * 60_000, intervalMs: 1000, what: `${label}${String(n)} TenantControlPlanes to be Ready` },
  );
  return names;
}
