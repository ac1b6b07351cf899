// kvcloud's infrastructure provider in the local clusterctl repository: the release `make release-manifests`
// builds, written from this work tree into the repository and registered in its clusterctl.yaml as the
// InfrastructureProvider "kubevirt" (the name clusterctl knows CAPK by), so `clusterctl init --infrastructure
// kubevirt` and `clusterctl generate cluster` use our manifests exactly as users would use a published release.
import { join } from 'node:path';
import { defaultVersion, INFRASTRUCTURE_PROVIDER, writeRelease, type Release } from '../../packaging/release-manifests.js';
import { toolArtifact } from '../binaries.js';
import { kubectl, waitForCRDsEstablished } from '../kubectl.js';
import { clusterctlInit, type InitResult } from './init.js';
import { addProvider, type ClusterctlRepository } from './repository.js';

export const KUBEVIRT_PROVIDER_NAMESPACE = INFRASTRUCTURE_PROVIDER.namespace;
export const KUBEVIRT_MANAGER_DEPLOYMENT = 'capk-controller-manager';
export const KUBEVIRT_MANAGER_SERVICE_ACCOUNT = 'capk-manager';
/** The template variables CAPK's quick start asks users to set: the VM image and the CRI socket of its nodes. */
export const QUICK_START_VARIABLES = { NODE_VM_IMAGE_TEMPLATE: 'quay.io/capk/ubuntu-2404-container-disk:v1.34.1', CRI_PATH: '/var/run/containerd/containerd.sock' };

export interface KvcloudInfrastructure extends Release {
  version: string;
}

/** Writes the provider's release into the repository and adds it to the repository's clusterctl.yaml. */
export async function addKvcloudInfrastructure(repo: ClusterctlRepository, version?: string): Promise<KvcloudInfrastructure> {
  const v = version ?? (await defaultVersion());
  const release = await writeRelease(INFRASTRUCTURE_PROVIDER, join(repo.dir, 'repository'), v);
  await addProvider(repo, { name: 'kubevirt', type: 'InfrastructureProvider', url: `file://${release.componentsPath}` });
  return { ...release, version: v };
}

/**
 * The KubeVirt and CDI CRDs, as a management cluster running KubeVirt has them before an infrastructure
 * provider is installed (the manager watches VirtualMachines and DataVolumes from its start).
 */
export async function installKubevirtCRDs(kubeconfig: string): Promise<void> {
  for (const [tool, key] of [
    ['kubevirt-crds', 'KUBEVIRT_VERSION'],
    ['cdi-crds', 'CDI_VERSION'],
  ] as const) {
    await kubectl(kubeconfig, ['apply', '--server-side', '-f', toolArtifact(tool, key, 'crds.yaml')]);
  }
  await waitForCRDsEstablished(kubeconfig, ['virtualmachines.kubevirt.io', 'datavolumes.cdi.kubevirt.io']);
}

/** `clusterctl init` with the kubevirt infrastructure provider too (its latest version in the repository). */
export function clusterctlInitWithKubevirt(repo: ClusterctlRepository, kubeconfig: string): Promise<InitResult> {
  return clusterctlInit(repo, kubeconfig, { infrastructure: 'kubevirt', timeoutSeconds: 300 });
}

export interface GenerateOptions {
  /**
   * A template file (`--from`), or a flavor of the kubevirt provider's templates in the repository (no flavor:
   * its default cluster-template.yaml, what `clusterctl generate cluster <name> --infrastructure kubevirt` takes).
   */
  source: { from: string } | { flavor?: string };
  /** The management cluster: clusterctl adds a ClusterClass the Cluster refers to only when it is not there yet. */
  kubeconfig: string;
  clusterName: string;
  namespace: string;
  kubernetesVersion: string;
  workerMachineCount: number;
  controlPlaneMachineCount?: number;
  /** Template variables (NODE_VM_IMAGE_TEMPLATE, CRI_PATH...). */
  variables?: Record<string, string>;
}

/** `clusterctl generate cluster --from <template>`: the manifests a user would apply. */
export async function generateCluster(repo: ClusterctlRepository, opts: GenerateOptions): Promise<string> {
  const { stdout } = await repo.clusterctl(
    [
      'generate',
      'cluster',
      opts.clusterName,
      ...('from' in opts.source ? ['--from', opts.source.from] : ['--infrastructure', 'kubevirt', ...(opts.source.flavor ? ['--flavor', opts.source.flavor] : [])]),
      '--kubeconfig',
      opts.kubeconfig,
      '--target-namespace',
      opts.namespace,
      '--kubernetes-version',
      opts.kubernetesVersion,
      '--worker-machine-count',
      String(opts.workerMachineCount),
      '--control-plane-machine-count',
      String(opts.controlPlaneMachineCount ?? 1),
    ],
    { env: opts.variables ?? {} },
  );
  return stdout;
}

/**
 * `clusterctl describe cluster`: the tree of the Cluster's objects, as a user reads it, with the conditions of the
 * kinds named in `showConditions` (e.g. `Cluster,KamajiControlPlane`, or `all`).
 */
export async function describeCluster(repo: ClusterctlRepository, kubeconfig: string, namespace: string, clusterName: string, showConditions = 'Cluster'): Promise<string> {
  const { stdout } = await repo.clusterctl(['describe', 'cluster', clusterName, '--kubeconfig', kubeconfig, '-n', namespace, '--show-conditions', showConditions]);
  return stdout;
}
