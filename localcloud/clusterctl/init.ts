// `clusterctl init` of the Cluster API core and kubeadm bootstrap providers, a control plane provider (kubeadm's
// unless another is asked for, e.g. kvcloud's `kamaji`) and an infrastructure provider when asked, from a local
// repository, with the ClusterTopology and MachinePool features on, waiting for the providers' Deployments to
// become Available.
import type { ClusterctlRepository } from './repository.js';

export interface InitResult {
  /** clusterctl's output, stdout then stderr. */
  readonly output: string;
  readonly seconds: number;
}

export interface InitOptions {
  /** An infrastructure provider of the repository, e.g. `kubevirt`; clusterctl takes its latest version. */
  infrastructure?: string;
  /**
   * The control plane providers of the repository, e.g. `['kamaji']` (latest version); default: the kubeadm
   * control plane of the repository's Cluster API version.
   */
  controlPlane?: string[];
  timeoutSeconds?: number;
}

export async function clusterctlInit(repo: ClusterctlRepository, kubeconfig: string, opts: InitOptions = {}): Promise<InitResult> {
  const timeoutSeconds = opts.timeoutSeconds ?? 240;
  const controlPlane = opts.controlPlane ?? [`kubeadm:${repo.clusterAPIVersion}`];
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
      controlPlane.join(','),
      ...(opts.infrastructure ? ['--infrastructure', opts.infrastructure] : []),
      '--wait-providers',
      '--wait-provider-timeout',
      String(timeoutSeconds),
    ],
    { env: { CLUSTER_TOPOLOGY: 'true', EXP_MACHINE_POOL: 'true' }, timeoutMs: (timeoutSeconds + 120) * 1000 },
  );
  return { output: `${stdout}${stderr}`, seconds: (Date.now() - started) / 1000 };
}
