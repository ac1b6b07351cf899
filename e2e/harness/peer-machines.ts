// A management cluster for the same Machines through either infrastructure provider that answers to the name
// "kubevirt": the real CAPK (its binary and source tree given by path, localcloud/clusterctl/capk-release.ts) or
// kvcloud's, each installed by `clusterctl init` from its own release next to Cluster API core and kubeadm, with the
// KubeVirt simulator running the VMs. Both serve kubevirt{clusters,machines}.infrastructure.cluster.x-k8s.io, so one
// management cluster holds one of them; the user manifests are CAPK's own quick-start template, generated once.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../../localcloud/cluster/cluster.js';
import { addCapkInfrastructure, capkInputs, CAPK_NAMESPACE } from '../../localcloud/clusterctl/capk-release.js';
import { clusterctlInit } from '../../localcloud/clusterctl/init.js';
import {
  addKvcloudInfrastructure,
  generateCluster,
  installKubevirtCRDs,
  KUBEVIRT_PROVIDER_NAMESPACE,
  QUICK_START_VARIABLES,
} from '../../localcloud/clusterctl/kvcloud-infrastructure.js';
import { createClusterctlRepository, type ClusterctlRepository } from '../../localcloud/clusterctl/repository.js';
import { upstreamVersion } from '../../localcloud/versions.js';
import { startKubevirtSimulator, type KubevirtSimulator } from '../../simulators/kubevirt/index.js';
import { getJSON } from './clusterctl/kvcloud-workload.js';

export type InfrastructurePeer = 'capk' | 'kvcloud';
export const INFRASTRUCTURE_PEERS: readonly InfrastructurePeer[] = ['capk', 'kvcloud'];

export interface MachinesCloud {
  readonly peer: InfrastructurePeer;
  readonly cluster: Cluster;
  readonly kubeconfig: string;
  readonly repo: ClusterctlRepository;
  /** The provider version clusterctl installed. */
  readonly version: string;
  /** Where the provider's manager runs. */
  readonly providerNamespace: string;
  stop(): Promise<void>;
}

export interface MachinesCloudOptions {
  /**
   * Serve CAPK's metrics over plain HTTP on :8080, where kvcloud's release serves them, so a benchmark can scrape its
   * request counts. By default CAPK serves them on :8443 over HTTPS behind TokenReview and SubjectAccessReview (its
   * --metrics-bind-addr is read before the flags are parsed, so it never takes effect).
   */
  capkMetricsOnPodNetwork?: boolean;
}

/** Starts the management cluster with `peer` as its infrastructure provider; fails at once without CAPK's inputs. */
export async function startMachinesCloud(peer: InfrastructurePeer, opts: MachinesCloudOptions = {}): Promise<MachinesCloud> {
  const { source } = capkInputs();
  const cluster = await startCluster({
    nodes: [
      { name: 'kvcloud-node-1', zone: 'zone-a', region: 'kvcloud-local' },
      { name: 'kvcloud-node-2', zone: 'zone-b', region: 'kvcloud-local' },
    ],
  });
  let repo: ClusterctlRepository | undefined;
  let simulator: KubevirtSimulator | undefined;
  const stop = async () => {
    await simulator?.stop();
    await cluster.stop();
    await repo?.remove();
  };
  try {
    const kubeconfig = cluster.plane.kubeconfigPath;
    repo = await createClusterctlRepository();
    const version =
      peer === 'capk'
        ? (await addCapkInfrastructure(repo, source, opts.capkMetricsOnPodNetwork ? ['--diagnostics-address=:8080', '--insecure-diagnostics'] : [])).version
        : (await addKvcloudInfrastructure(repo)).version;
    // KubeVirt is installed before its Cluster API provider, as on a real management cluster.
    await installKubevirtCRDs(kubeconfig);
    await clusterctlInit(repo, kubeconfig, { infrastructure: `kubevirt:${version}`, timeoutSeconds: 300 });
    simulator = await startKubevirtSimulator({ kubeconfig });
    return { peer, cluster, kubeconfig, repo, version, providerNamespace: peer === 'capk' ? CAPK_NAMESPACE : KUBEVIRT_PROVIDER_NAMESPACE, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** CAPK's quick-start (templates/cluster-template.yaml of its source) as `clusterctl generate cluster` renders it. */
export async function capkQuickStart(cloud: MachinesCloud, clusterName: string, namespace: string, workers: number): Promise<string> {
  return generateCluster(cloud.repo, {
    source: { from: join(capkInputs().source, 'templates', 'cluster-template.yaml') },
    kubeconfig: cloud.kubeconfig,
    clusterName,
    namespace,
    kubernetesVersion: upstreamVersion('KUBERNETES_VERSION'),
    workerMachineCount: workers,
    variables: QUICK_START_VARIABLES,
  });
}

export interface ManagerPod {
  name: string;
  ip: string;
  /** The pid of the manager container's process on this machine. */
  pid: number;
}

interface PodView {
  metadata: { name: string };
  status?: { podIP?: string; phase?: string };
}

/**
 * The provider's running manager pod, and its process: the one whose argv `isManager` recognises and whose HOSTNAME is
 * the pod's name (as the pod runner sets it), so managers of other clusters on this machine do not count.
 */
export async function managerPod(cloud: MachinesCloud, isManager: (argv: string[]) => boolean): Promise<ManagerPod> {
  const pods = await getJSON<{ items: PodView[] }>(cloud.kubeconfig, ['pods', '-n', cloud.providerNamespace, '-l', 'control-plane=controller-manager']);
  const running = pods.items.filter((p) => p.status?.phase === 'Running' && p.status.podIP);
  const pod = running[0];
  if (running.length !== 1 || !pod?.status?.podIP) throw new Error(`expected one Running manager pod in ${cloud.providerNamespace}, found ${String(running.length)}`);
  const pids = podProcesses(pod.metadata.name).filter((p) => isManager(p.argv));
  if (pids.length !== 1) throw new Error(`expected one ${cloud.peer} manager process in pod ${pod.metadata.name}, found ${String(pids.length)}`);
  return { name: pod.metadata.name, ip: pod.status.podIP, pid: pids[0]?.pid ?? 0 };
}

/** Processes of this machine whose environment names `pod` as their HOSTNAME, with their argv. */
function podProcesses(pod: string): { pid: number; argv: string[] }[] {
  const found: { pid: number; argv: string[] }[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`HOSTNAME=${pod}`)) continue;
      found.push({ pid: Number(entry), argv: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0') });
    } catch {
      continue; // gone since the listing
    }
  }
  return found;
}
