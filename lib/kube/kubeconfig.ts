// Where a process finds its management-cluster credentials: --kubeconfig, then $KUBECONFIG, then the in-cluster
// ServiceAccount, then ~/.kube/config (client-node's default order after the flag).
import { KubeConfig } from '@kubernetes/client-node';

export function loadKubeConfig(path?: string): KubeConfig {
  const kc = new KubeConfig();
  if (path) kc.loadFromFile(path);
  else kc.loadFromDefault();
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${path ?? '(default)'}: no current cluster`);
  return kc;
}

/** A kubeconfig held in a Secret (tenant or infra cluster). */
export function kubeConfigFromString(yaml: string, source: string): KubeConfig {
  const kc = new KubeConfig();
  try {
    kc.loadFromString(yaml);
  } catch (err) {
    throw new Error(`kubeconfig from ${source}: ${(err as Error).message}`, { cause: err });
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig from ${source}: no current cluster`);
  return kc;
}
