// A stand-in control plane for tenant clusters generated from the provider's templates, for runs where no
// control-plane machine can run `kubeadm init`: the harness tenant plane (a real kube-apiserver and
// kube-controller-manager with the kubeadm bootstrap objects, writing <cluster>-kubeconfig and <cluster>-ca)
// serves the tenant API, and the generated KubeadmControlPlane (or, for a ClusterClass, its
// KubeadmControlPlaneTemplate) with its control-plane machine template is replaced by a TestControlPlane(Template)
// that the suite reports initialized. Workers are untouched: they are real Machines -> KubevirtMachines -> VMs
// whose guests `kubeadm join` the tenant plane with the kubeadm bootstrap provider's data.
import { Type } from '@sinclair/typebox';
import { parseAllDocuments, stringify } from 'yaml';
import { buildCRD } from '../../../lib/crd/crd.js';
import { NODE_IP } from '../cluster/topology.js';
import type { Cluster } from '../cluster/cluster.js';
import { startTenantPlane, type TenantPlane } from '../guest/tenant-plane.js';
import { kubectl } from '../kubectl.js';
import { waitFor } from '../wait.js';
import { TEST_CONTROL_PLANE_GROUP } from './test-infrastructure.js';

interface Doc {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string };
  spec?: Record<string, unknown>;
}

interface TemplateRef {
  apiVersion: string;
  kind: string;
  name: string;
}

interface ClassControlPlane {
  templateRef: TemplateRef;
  machineInfrastructure?: { templateRef: TemplateRef };
}

const TEMPLATE_KIND = 'TestControlPlaneTemplate';

/**
 * What the stand-in needs beyond installTestInfrastructure (TestControlPlane and the core manager's access): the
 * TestControlPlaneTemplate kind a ClusterClass's control plane is stamped from, and read access for the kubeadm
 * bootstrap provider, which reads a worker's control plane for its version. A real control plane provider's kinds
 * are in controlplane.cluster.x-k8s.io, which kubeadm's bootstrap role already covers.
 */
export async function installStandInControlPlane(kubeconfig: string): Promise<void> {
  const crd = buildCRD({
    group: TEST_CONTROL_PLANE_GROUP,
    kind: TEMPLATE_KIND,
    plural: 'testcontrolplanetemplates',
    scope: 'Namespaced',
    labels: { 'cluster.x-k8s.io/v1beta2': 'v1alpha1', 'clusterctl.cluster.x-k8s.io': '' },
    versions: [{ name: 'v1alpha1', schema: Type.Object({}, { 'x-kubernetes-preserve-unknown-fields': true }) }],
  });
  const name = 'kvcloud-stand-in-control-plane-reader';
  const rbac = [
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name },
      rules: [{ apiGroups: [TEST_CONTROL_PLANE_GROUP], resources: ['*'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [{ kind: 'ServiceAccount', name: 'capi-kubeadm-bootstrap-manager', namespace: 'capi-kubeadm-bootstrap-system' }],
    },
  ];
  await kubectl(kubeconfig, ['apply', '-f', '-'], [crd, ...rbac].map((o) => stringify(o)).join('---\n'));
  await kubectl(kubeconfig, ['wait', '--for=condition=Established', '--timeout=60s', `crd/testcontrolplanetemplates.${TEST_CONTROL_PLANE_GROUP}`]);
}

/**
 * The generated manifests with the stand-in control plane in place of kubeadm's, and the Cluster's endpoint set
 * to the tenant plane's (a Cluster API Cluster keeps an endpoint set up front).
 */
export function withStandInControlPlane(manifests: string, clusterName: string, endpoint: { host: string; port: number }): string {
  const docs = parseAllDocuments(manifests)
    .map((d) => d.toJS() as Doc | null)
    .filter((d): d is Doc => d !== null);
  const cluster = docs.find((d) => d.kind === 'Cluster');
  const namespace = cluster?.metadata?.namespace;
  if (!cluster?.spec || !namespace) throw new Error('the generated manifests hold no namespaced Cluster');
  cluster.spec.controlPlaneEndpoint = endpoint;
  const clusterClass = docs.find((d) => d.kind === 'ClusterClass');
  const dropped = new Set<string>();
  const added: Doc[] = [];
  if (clusterClass?.spec) {
    const controlPlane = clusterClass.spec.controlPlane as ClassControlPlane;
    dropped.add(`${controlPlane.templateRef.kind}/${controlPlane.templateRef.name}`);
    if (controlPlane.machineInfrastructure) dropped.add(`${controlPlane.machineInfrastructure.templateRef.kind}/${controlPlane.machineInfrastructure.templateRef.name}`);
    const templateName = `${clusterClass.metadata?.name ?? ''}-control-plane`;
    clusterClass.spec.controlPlane = { templateRef: { apiVersion: `${TEST_CONTROL_PLANE_GROUP}/v1alpha1`, kind: TEMPLATE_KIND, name: templateName } };
    added.push({ apiVersion: `${TEST_CONTROL_PLANE_GROUP}/v1alpha1`, kind: TEMPLATE_KIND, metadata: { name: templateName, namespace }, spec: { template: { spec: {} } } });
  } else {
    const md = docs.find((d) => d.kind === 'MachineDeployment');
    const version = (md?.spec?.template as { spec?: { version?: string } } | undefined)?.spec?.version;
    dropped.add(`KubeadmControlPlane/${clusterName}-control-plane`);
    dropped.add(`KubevirtMachineTemplate/${clusterName}-control-plane`);
    cluster.spec.controlPlaneRef = { apiGroup: TEST_CONTROL_PLANE_GROUP, kind: 'TestControlPlane', name: clusterName };
    added.push({
      apiVersion: `${TEST_CONTROL_PLANE_GROUP}/v1alpha1`,
      kind: 'TestControlPlane',
      metadata: { name: clusterName, namespace },
      spec: { version },
    });
  }
  const kept = docs.filter((d) => !dropped.has(`${d.kind ?? ''}/${d.metadata?.name ?? ''}`));
  return [...kept, ...added].map((d) => stringify(d)).join('---\n');
}

export interface StandInControlPlane {
  readonly tenant: TenantPlane;
  readonly endpoint: { host: string; port: number };
  /**
   * After the Cluster exists: its <cluster>-kubeconfig and <cluster>-ca owned by the Cluster (as a control plane
   * provider's are, so they go with it), and its TestControlPlane reported initialized, at its spec.version with
   * all replicas up to date (what MachineSet preflight checks and the topology controller wait for).
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
      const { uid, controlPlane } = await waitFor(
        async () => {
          const c = JSON.parse(await kubectl(kubeconfig, ['get', 'clusters.v1beta2.cluster.x-k8s.io', '-n', namespace, clusterName, '-o', 'json'])) as {
            metadata: { uid: string };
            spec: { controlPlaneRef?: { name: string } };
          };
          return c.spec.controlPlaneRef ? { uid: c.metadata.uid, controlPlane: c.spec.controlPlaneRef.name } : undefined;
        },
        { timeoutMs: 60_000, what: `Cluster ${namespace}/${clusterName} to refer to its control plane` },
      );
      const owner = { apiVersion: 'cluster.x-k8s.io/v1beta2', kind: 'Cluster', name: clusterName, uid };
      for (const secret of [`${clusterName}-kubeconfig`, `${clusterName}-ca`]) {
        await kubectl(kubeconfig, ['patch', 'secret', '-n', namespace, secret, '--type=merge', '-p', JSON.stringify({ metadata: { ownerReferences: [owner] } })]);
      }
      const resource = `testcontrolplanes.${TEST_CONTROL_PLANE_GROUP}`;
      const spec = await waitFor(
        async () => {
          const cp = JSON.parse(await kubectl(kubeconfig, ['get', resource, '-n', namespace, controlPlane, '-o', 'json'])) as { spec?: { version?: string; replicas?: number } };
          return cp.spec?.version ? cp.spec : undefined;
        },
        { timeoutMs: 60_000, what: `TestControlPlane ${namespace}/${controlPlane} to have a version` },
      );
      const replicas = spec.replicas ?? 1;
      const status = {
        initialization: { controlPlaneInitialized: true },
        version: spec.version,
        replicas,
        readyReplicas: replicas,
        availableReplicas: replicas,
        upToDateReplicas: replicas,
      };
      await kubectl(kubeconfig, ['patch', resource, '-n', namespace, controlPlane, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
    },
    stop: () => tenant.stop(),
  };
}
