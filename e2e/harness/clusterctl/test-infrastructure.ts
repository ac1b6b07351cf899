// A stand-in infrastructure and control-plane provider's API for Cluster API tests: TestCluster,
// TestMachineTemplate and TestControlPlane kinds (schemaless, with a status subresource a test sets by hand), and
// a ClusterRole the core manager's aggregated role picks up so it may read and watch them. No controller
// reconciles them: a test plays the provider.
import { Type } from '@sinclair/typebox';
import { stringify } from 'yaml';
import { buildCRD } from '../../../lib/crd/crd.js';
import { kubectl, waitForCRDsEstablished } from '../../../localcloud/kubectl.js';

export const TEST_INFRASTRUCTURE_GROUP = 'infrastructure.kvcloud.test';
export const TEST_CONTROL_PLANE_GROUP = 'controlplane.kvcloud.test';

// Labelled with the contract they implement, so Cluster API and clusterctl accept them as provider kinds.
const CONTRACT_LABELS = { 'cluster.x-k8s.io/v1beta2': 'v1alpha1', 'clusterctl.cluster.x-k8s.io': '' };

function testKind(group: string, kind: string, plural: string, statusSubresource: boolean): object {
  return buildCRD({
    group,
    kind,
    plural,
    scope: 'Namespaced',
    labels: CONTRACT_LABELS,
    versions: [
      {
        name: 'v1alpha1',
        schema: Type.Object({}, { 'x-kubernetes-preserve-unknown-fields': true }),
        ...(statusSubresource ? { subresources: { status: true } } : {}),
      },
    ],
  });
}

const MANIFESTS = [
  testKind(TEST_INFRASTRUCTURE_GROUP, 'TestCluster', 'testclusters', true),
  testKind(TEST_INFRASTRUCTURE_GROUP, 'TestMachineTemplate', 'testmachinetemplates', false),
  testKind(TEST_CONTROL_PLANE_GROUP, 'TestControlPlane', 'testcontrolplanes', true),
  {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'kvcloud-test-infrastructure', labels: { 'cluster.x-k8s.io/aggregate-to-manager': 'true' } },
    rules: [{ apiGroups: [TEST_INFRASTRUCTURE_GROUP, TEST_CONTROL_PLANE_GROUP], resources: ['*'], verbs: ['*'] }],
  },
];

/** Installs the kinds and the RBAC, and waits until the kinds are served. */
export async function installTestInfrastructure(kubeconfig: string): Promise<void> {
  await kubectl(kubeconfig, ['apply', '-f', '-'], MANIFESTS.map((m) => stringify(m)).join('---\n'));
  await waitForCRDsEstablished(kubeconfig, [`testclusters.${TEST_INFRASTRUCTURE_GROUP}`, `testmachinetemplates.${TEST_INFRASTRUCTURE_GROUP}`, `testcontrolplanes.${TEST_CONTROL_PLANE_GROUP}`]);
}

/** The TestCluster a test Cluster refers to, provisioned (as its provider would report it) or not. */
export function testClusterYaml(namespace: string, name: string): string {
  return [
    `apiVersion: ${TEST_INFRASTRUCTURE_GROUP}/v1alpha1`,
    'kind: TestCluster',
    'metadata:',
    `  name: ${name}`,
    `  namespace: ${namespace}`,
    'spec:',
    '  controlPlaneEndpoint: {host: 10.0.0.1, port: 6443}',
    '',
  ].join('\n');
}

// Sets status.initialization.<field> as the provider of that kind would report it.
async function markInitialized(kubeconfig: string, resource: string, namespace: string, name: string, field: string): Promise<void> {
  const patch = JSON.stringify({ status: { initialization: { [field]: true } } });
  await kubectl(kubeconfig, ['patch', resource, '-n', namespace, name, '--subresource=status', '--type=merge', '-p', patch]);
}

/** Reports the TestCluster's infrastructure provisioned, as a provider would once it has built it. */
export function markTestClusterProvisioned(kubeconfig: string, namespace: string, name: string): Promise<void> {
  return markInitialized(kubeconfig, `testclusters.${TEST_INFRASTRUCTURE_GROUP}`, namespace, name, 'provisioned');
}

/** A TestControlPlane (for a Cluster's controlPlaneRef). */
export function testControlPlaneYaml(namespace: string, name: string): string {
  return [`apiVersion: ${TEST_CONTROL_PLANE_GROUP}/v1alpha1`, 'kind: TestControlPlane', 'metadata:', `  name: ${name}`, `  namespace: ${namespace}`, 'spec: {}', ''].join('\n');
}

/** Reports the TestControlPlane initialized, as a control-plane provider would once its first member is up. */
export function markTestControlPlaneInitialized(kubeconfig: string, namespace: string, name: string): Promise<void> {
  return markInitialized(kubeconfig, `testcontrolplanes.${TEST_CONTROL_PLANE_GROUP}`, namespace, name, 'controlPlaneInitialized');
}
