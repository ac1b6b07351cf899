// Manifests for the infrastructure controllers suite: a Cluster whose infrastructure is a KubevirtCluster and
// whose control plane is the harness's tenant plane (a TestControlPlane the test reports initialized), and
// MachineDeployments of KubevirtMachines with real kubeadm (CABPK) worker bootstrap data.
import { TEST_CONTROL_PLANE_GROUP } from '../../harness/clusterctl/test-infrastructure.js';
import { upstreamVersion } from '../../../localcloud/versions.js';

export const NAMESPACE = 'kvcloud-infra';
export const CLUSTER = 'acme';

export interface PoolOptions {
  name: string;
  replicas: number;
  failureDomain?: string;
  /** A pod-network bridge interface: KubeVirt cannot live-migrate such a VMI. */
  bridged?: boolean;
  /** spec.virtualMachineBootstrapCheck.checkStrategy; unset: the default tenant Node check. */
  checkStrategy?: 'ssh' | 'none';
}

export function clusterObjects(endpoint: { host: string; port: number }): object[] {
  const meta = { name: CLUSTER, namespace: NAMESPACE };
  return [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NAMESPACE } },
    {
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1alpha1',
      kind: 'KubevirtCluster',
      metadata: meta,
      // The tenant apiserver runs outside the VMs here (the harness's tenant plane), so its endpoint is given;
      // the <cluster>-lb Service is still made.
      spec: { controlPlaneEndpoint: endpoint, controlPlaneServiceTemplate: { spec: { type: 'ClusterIP' } } },
    },
    // CABPK reads the control plane's version when it renders worker bootstrap data: grant it the test kind. The
    // test reports status.version too (controlPlaneStatus), or MachineSets wait for a "provisioning" control plane.
    { apiVersion: `${TEST_CONTROL_PLANE_GROUP}/v1alpha1`, kind: 'TestControlPlane', metadata: meta, spec: { version: upstreamVersion('KUBERNETES_VERSION') } },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name: 'kvcloud-e2e-cabpk-test-control-plane' },
      rules: [{ apiGroups: [TEST_CONTROL_PLANE_GROUP], resources: ['*'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'kvcloud-e2e-cabpk-test-control-plane' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'kvcloud-e2e-cabpk-test-control-plane' },
      subjects: [{ kind: 'ServiceAccount', name: 'capi-kubeadm-bootstrap-manager', namespace: 'capi-kubeadm-bootstrap-system' }],
    },
    {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'Cluster',
      metadata: meta,
      spec: {
        infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'KubevirtCluster', name: CLUSTER },
        controlPlaneRef: { apiGroup: TEST_CONTROL_PLANE_GROUP, kind: 'TestControlPlane', name: CLUSTER },
      },
    },
  ];
}

export function poolObjects(pool: PoolOptions): object[] {
  const name = `${CLUSTER}-${pool.name}`;
  const meta = { name, namespace: NAMESPACE };
  const interfaces = pool.bridged ? { interfaces: [{ name: 'default', bridge: {} }] } : {};
  return [
    {
      apiVersion: 'infrastructure.cluster.x-k8s.io/v1alpha1',
      kind: 'KubevirtMachineTemplate',
      metadata: meta,
      spec: {
        template: {
          spec: {
            virtualMachineBootstrapCheck: pool.checkStrategy ? { checkStrategy: pool.checkStrategy } : {},
            virtualMachineTemplate: {
              metadata: { namespace: NAMESPACE, labels: { pool: pool.name } },
              spec: {
                runStrategy: 'Always',
                template: {
                  spec: {
                    evictionStrategy: 'External',
                    domain: {
                      cpu: { cores: 2, sockets: 1, threads: 2 },
                      memory: { guest: '4Gi' },
                      devices: { disks: [{ name: 'containervolume', disk: { bus: 'virtio' } }], ...interfaces },
                    },
                    networks: [{ name: 'default', pod: {} }],
                    volumes: [{ name: 'containervolume', containerDisk: { image: 'quay.io/capk/ubuntu-2404-container-disk:v1.34.1' } }],
                  },
                },
              },
            },
          },
        },
      },
    },
    {
      apiVersion: 'bootstrap.cluster.x-k8s.io/v1beta2',
      kind: 'KubeadmConfigTemplate',
      metadata: meta,
      // No provider-id kubelet flag, as CAPK's templates: the controller gives the Node its providerID.
      spec: { template: { spec: { format: 'cloud-config', joinConfiguration: { nodeRegistration: { kubeletExtraArgs: [{ name: 'node-labels', value: `pool=${pool.name}` }] } } } } },
    },
    {
      apiVersion: 'cluster.x-k8s.io/v1beta2',
      kind: 'MachineDeployment',
      metadata: meta,
      spec: {
        clusterName: CLUSTER,
        replicas: pool.replicas,
        selector: { matchLabels: { pool: pool.name } },
        template: {
          metadata: { labels: { pool: pool.name } },
          spec: {
            clusterName: CLUSTER,
            version: upstreamVersion('KUBERNETES_VERSION'),
            ...(pool.failureDomain ? { failureDomain: pool.failureDomain } : {}),
            bootstrap: { configRef: { apiGroup: 'bootstrap.cluster.x-k8s.io', kind: 'KubeadmConfigTemplate', name } },
            infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'KubevirtMachineTemplate', name },
          },
        },
      },
    },
  ];
}

/** The TestControlPlane's status as a control-plane provider reports it once its first member is up. */
export function controlPlaneStatus(): object {
  return { status: { initialization: { controlPlaneInitialized: true }, version: upstreamVersion('KUBERNETES_VERSION') } };
}
