// `clusterctl init` of the Cluster API core, kubeadm bootstrap and kubeadm control-plane providers from a local repository, with the
// ClusterTopology and MachinePool features on, waiting for the providers' Deployments to become Available.
import type { ClusterctlRepository } from './repository.js';

export interface InitResult {
  /** clusterctl's output, stdout then stderr. */
  readonly output: string;
  readonly seconds: number;
}

export async function clusterctlInit(repo: ClusterctlRepository, kubeconfig: string, timeoutSeconds = 240): Promise<InitResult> {
  const started = Date.now();
  const { stdout, stderr } = await repo.clusterctl(
    [
      'init',
      '--kubeconfig',
      kubeconfig,
      '--core',
      `cluster-api:${repo.clusterAPIVersion}`,
      '--bootstrap',
      `kubeadm:${repo.clusterAPIVersion}`,
      '--control-plane',
      `kubeadm:${repo.clusterAPIVersion}`,
      '--wait-providers',
      '--wait-provider-timeout',
      String(timeoutSeconds),
    ],
    { env: { CLUSTER_TOPOLOGY: 'true', EXP_MACHINE_POOL: 'true' }, timeoutMs: (timeoutSeconds + 120) * 1000 },
  );
  return { output: `${stdout}${stderr}`, seconds: (Date.now() - started) / 1000 };
}
