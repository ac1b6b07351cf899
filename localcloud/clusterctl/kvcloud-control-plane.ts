// kvcloud's control plane provider in the local clusterctl repository: the control-plane-kamaji release
// `make release-manifests` builds, written from this work tree into the repository and registered in its
// clusterctl.yaml as the ControlPlaneProvider "kamaji" (the name clusterctl knows
// cluster-api-control-plane-provider-kamaji by), so `clusterctl init --control-plane kamaji` installs our operator
// (TenantControlPlane, DataStore and KamajiControlPlane) exactly as users would from a published release.
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { CONTROL_PLANE_PROVIDER, defaultVersion, writeRelease, type Release } from '../../packaging/release-manifests.js';
import { clusterctlInit, type InitResult } from './init.js';
import { addProvider, type ClusterctlRepository } from './repository.js';

export const KAMAJI_PROVIDER_NAMESPACE = CONTROL_PLANE_PROVIDER.namespace;
export const KAMAJI_MANAGER_DEPLOYMENT = 'kvcloud-controlplane-manager';
export const KAMAJI_MANAGER_SERVICE_ACCOUNT = 'kvcloud-controlplane-manager';

export interface KvcloudControlPlane extends Release {
  version: string;
}

/** Writes the provider's release into the repository and adds it to the repository's clusterctl.yaml. */
export async function addKvcloudControlPlane(repo: ClusterctlRepository, version?: string): Promise<KvcloudControlPlane> {
  const v = version ?? (await defaultVersion());
  const release = await writeRelease(CONTROL_PLANE_PROVIDER, join(repo.dir, 'repository'), v);
  await addProvider(repo, { name: 'kamaji', type: 'ControlPlaneProvider', url: `file://${release.componentsPath}` });
  return { ...release, version: v };
}

/**
 * `clusterctl init --infrastructure kubevirt --control-plane kamaji`: both kvcloud providers (their latest versions
 * in the repository) with the Cluster API core and the kubeadm bootstrap provider the workers join with.
 */
export function clusterctlInitWithKubevirtAndKamaji(repo: ClusterctlRepository, kubeconfig: string): Promise<InitResult> {
  return clusterctlInit(repo, kubeconfig, { infrastructure: 'kubevirt', controlPlane: ['kamaji'], timeoutSeconds: 300 });
}

/**
 * Whether a cluster template needs the kamaji control plane provider: it has a KamajiControlPlane, or its
 * Cluster's ClusterClass (clusterclass-<name>.yaml beside it, which clusterctl adds) has a KamajiControlPlaneTemplate.
 */
export async function usesKamajiControlPlane(template: string): Promise<boolean> {
  const kinds = async (file: string) => parseAllDocuments(await readFile(file, 'utf8')).map((d) => d.toJS() as { kind?: string; spec?: { topology?: { classRef?: { name?: string } } } } | null);
  const docs = await kinds(template);
  if (docs.some((d) => d?.kind === 'KamajiControlPlane')) return true;
  const className = docs.find((d) => d?.kind === 'Cluster')?.spec?.topology?.classRef?.name;
  if (!className) return false;
  return (await kinds(join(dirname(template), `clusterclass-${className}.yaml`))).some((d) => d?.kind === 'KamajiControlPlaneTemplate');
}
