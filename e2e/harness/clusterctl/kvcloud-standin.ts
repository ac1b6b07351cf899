// A stand-in control plane for tenant clusters generated from the provider's templates, for runs where no
// control-plane machine can run `kubeadm init`: the harness tenant plane (a real kube-apiserver and
// kube-controller-manager with the kubeadm bootstrap objects, writing <cluster>-kubeconfig and <cluster>-ca)
// serves the tenant API, and the generated KubeadmControlPlane (with its control-plane machine template) is
// replaced by a TestControlPlane that the suite reports initialized. Workers are untouched: they are real
// Machines -> KubevirtMachines -> VMs whose guests `kubeadm join` the tenant plane with the kubeadm bootstrap
// provider's data.
import { parseAllDocuments, stringify } from 'yaml';
import { NODE_IP } from '../cluster/topology.js';
import type { Cluster } from '../cluster/cluster.js';
import { startTenantPlane, type TenantPlane } from '../guest/tenant-plane.js';
import { kubectl } from '../kubectl.js';
import { markTestControlPlaneInitialized, TEST_CONTROL_PLANE_GROUP } from './test-infrastructure.js';

interface Doc {
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: Record<string, unknown>;
}

/**
 * The generated manifests with a TestControlPlane in place of the KubeadmControlPlane and its machine template,
 * and the Cluster's endpoint set to the tenant plane's (a Cluster API Cluster keeps an endpoint set up front).
 */
export function withStandInControlPlane(manifests: string, clusterName: string, endpoint: { host: string; port: number }): string {
  const docs = parseAllDocuments(manifests)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
  const kept = docs.filter((d) => d.kind !== 'KubeadmControlPlane' && !(d.kind === 'KubevirtMachineTemplate' && d.metadata?.name === `${clusterName}-control-plane`));
  const cluster = kept.find((d) => d.kind === 'Cluster');
  if (!cluster?.spec || !cluster.metadata?.namespace) throw new Error('the generated manifests hold no namespaced Cluster');
  cluster.spec.controlPlaneRef = { apiGroup: TEST_CONTROL_PLANE_GROUP, kind: 'TestControlPlane', name: clusterName };
  cluster.spec.controlPlaneEndpoint = endpoint;
  const controlPlane = { apiVersion: `${TEST_CONTROL_PLANE_GROUP}/v1alpha1`, kind: 'TestControlPlane', metadata: { name: clusterName, namespace: cluster.metadata.namespace }, spec: {} };
  return [...kept, controlPlane].map((d) => stringify(d)).join('---\n');
}

export interface StandInControlPlane {
  readonly tenant: TenantPlane;
  readonly endpoint: { host: string; port: number };
  /**
   * After the Cluster exists: its <cluster>-kubeconfig and <cluster>-ca owned by the Cluster (as a control plane
   * provider's are, so they go with it), and the TestControlPlane reported initialized.
   */
  markInitialized(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts the tenant plane on the node address (reachable from VM guests in their pod namespaces). */
export async function startStandInControlPlane(management: Cluster, namespace: string, clusterName: string): Promise<StandInControlPlane> {
  const tenant = await startTenantPlane({ clusterName, bindAddress: NODE_IP, management: { kubeConfig: management.plane.kubeConfig, namespace } });
  const url = new URL(tenant.server);
  const endpoint = { host: url.hostname, port: Number(url.port) };
  const kubeconfig = management.plane.kubeconfigPath;
  return {
    tenant,
    endpoint,
    async markInitialized() {
      const uid = (await kubectl(kubeconfig, ['get', 'clusters.v1beta2.cluster.x-k8s.io', '-n', namespace, clusterName, '-o', 'jsonpath={.metadata.uid}'])).trim();
      const owner = { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster', name: clusterName, uid };
      for (const secret of [`${clusterName}-kubeconfig`, `${clusterName}-ca`]) {
        await kubectl(kubeconfig, ['patch', 'secret', '-n', namespace, secret, '--type=merge', '-p', JSON.stringify({ metadata: { ownerReferences: [owner] } })]);
      }
      await markTestControlPlaneInitialized(kubeconfig, namespace, clusterName);
    },
    stop: () => tenant.stop(),
  };
}
