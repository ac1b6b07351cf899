// What a Cluster that asks for autoscaling gets in its namespace of the management cluster: cluster-autoscaler with
// its clusterapi cloud provider, watching the tenant through <cluster>-kubeconfig and resizing that Cluster's
// MachineDeployments as a ServiceAccount that may touch nothing else. All of it is owned by the Cluster, so the
// garbage collector removes it with the Cluster.
import type { Cluster } from '../../lib/apis/cluster-api.js';
import { ownerReferenceTo } from '../../lib/controller/owner-references.js';
import type { KubeObject } from '../../lib/kube/object.js';
import { APP_NAME_LABEL, CLUSTER_NAME_LABEL } from './api/annotations.js';

/** Where cluster-autoscaler's image comes from unless the manager is told otherwise (--cluster-autoscaler-image). */
export const DEFAULT_CLUSTER_AUTOSCALER_IMAGE = 'registry.k8s.io/autoscaling/cluster-autoscaler:v1.36.1';

export const clusterAutoscalerName = (clusterName: string): string => `${clusterName}-cluster-autoscaler`;

// The tenant's admin kubeconfig as Cluster API writes it (Secret <cluster>-kubeconfig, key "value").
const TENANT_KUBECONFIG_DIR = '/etc/kubernetes/tenant';

interface PolicyRule { apiGroups: string[]; resources: string[]; verbs: string[] }

/**
 * Exactly what the clusterapi provider does in the Cluster's namespace, when its auto-discovery names that namespace
 * (its informers are then namespaced): read the scalable kinds and their Machines (machinepools too: it watches
 * them whenever they are served), resize through the scale subresource, annotate Machines it deletes, and read
 * the machine templates for scale from zero.
 */
export const CLUSTER_AUTOSCALER_RULES: readonly PolicyRule[] = [
  { apiGroups: ['cluster.x-k8s.io'], resources: ['machinedeployments', 'machinesets', 'machinepools', 'machines'], verbs: ['get', 'list', 'watch'] },
  { apiGroups: ['cluster.x-k8s.io'], resources: ['machinedeployments/scale', 'machinesets/scale', 'machinepools/scale'], verbs: ['get', 'update', 'patch'] },
  { apiGroups: ['cluster.x-k8s.io'], resources: ['machines'], verbs: ['update', 'patch'] },
  { apiGroups: ['infrastructure.cluster.x-k8s.io'], resources: ['kubevirtmachinetemplates'], verbs: ['get', 'list', 'watch'] },
];

export interface ClusterAutoscalerSettings {
  image: string;
  /** Extra cluster-autoscaler flags (e.g. shorter scale-down delays), after the ones the wiring needs. */
  extraArgs: readonly string[];
}

/** ServiceAccount, Role, RoleBinding and Deployment, named after the Cluster and controlled by it. */
export function buildClusterAutoscalerObjects(cluster: Cluster, settings: ClusterAutoscalerSettings): KubeObject[] {
  const clusterName = cluster.metadata.name ?? '';
  const namespace = cluster.metadata.namespace ?? '';
  const name = clusterAutoscalerName(clusterName);
  const labels = { [CLUSTER_NAME_LABEL]: clusterName, [APP_NAME_LABEL]: 'cluster-autoscaler' };
  const metadata = { name, namespace, labels, ownerReferences: [ownerReferenceTo(cluster, { controller: true })] };
  return [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata },
    { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata, rules: CLUSTER_AUTOSCALER_RULES } as KubeObject,
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata,
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    } as KubeObject,
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata,
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            serviceAccountName: name,
            containers: [
              {
                name: 'cluster-autoscaler',
                image: settings.image,
                command: ['/cluster-autoscaler'],
                // The management cluster through the ServiceAccount (in-cluster config, authoritative: never the
                // tenant's kubeconfig for Cluster API objects); the tenant through its kubeconfig.
                args: [
                  '--cloud-provider=clusterapi',
                  '--clusterapi-cloud-config-authoritative',
                  `--kubeconfig=${TENANT_KUBECONFIG_DIR}/value`,
                  `--node-group-auto-discovery=clusterapi:namespace=${namespace},clusterName=${clusterName}`,
                  ...settings.extraArgs,
                ],
                volumeMounts: [{ name: 'tenant-kubeconfig', mountPath: TENANT_KUBECONFIG_DIR, readOnly: true }],
              },
            ],
            volumes: [{ name: 'tenant-kubeconfig', secret: { secretName: `${clusterName}-kubeconfig` } }],
          },
        },
      },
    } as KubeObject,
  ];
}
