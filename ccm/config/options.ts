// The CCM's command line: upstream cloud-controller-manager's flags that kubevirt/cloud-provider-kubevirt's
// manifests pass (--cloud-provider, --cloud-config, --kubeconfig for the tenant, --cluster-name), on top of the
// toolkit's common manager flags. The Lease lives in the tenant, where upstream's cloud-controller-manager keeps it.
import { readFileSync } from 'node:fs';
import type { ManagerFlags } from '../../lib/controller/manager-flags.js';
import { parseManagerFlags } from '../../lib/controller/manager-flags.js';
import { PROVIDER_NAME } from '../api/labels.js';
import { parseCloudConfig, type CloudConfig } from './cloud-config.js';

export interface CcmOptions {
  /** Common flags; kubeconfig is the tenant's. */
  flags: ManagerFlags;
  clusterName: string;
  cloudConfigPath: string;
  cloudConfig: CloudConfig;
}

const CCM_FLAGS = {
  'cloud-provider': { type: 'string' },
  'cloud-config': { type: 'string' },
  'cluster-name': { type: 'string' },
  // Upstream's manifests pass --authentication-skip-lookup=true for its secure serving port; we serve no
  // authenticated endpoint, so the value changes nothing, but the manifests must still start us.
  'authentication-skip-lookup': { type: 'string' },
} as const;

const CLUSTER_NAME = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Parses argv; `readFile` is injectable for tests. Throws with a message naming the flag or config key. */
export function parseCcmOptions(argv: string[], readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): CcmOptions {
  const parsed = parseManagerFlags(argv, CCM_FLAGS);
  const value = (name: keyof typeof CCM_FLAGS): string | undefined => parsed.values[name] as string | undefined;
  const provider = value('cloud-provider');
  if (provider !== PROVIDER_NAME) throw new Error(`--cloud-provider: must be "${PROVIDER_NAME}", got ${provider === undefined ? 'nothing' : `"${provider}"`}`);
  const clusterName = value('cluster-name');
  if (!clusterName) throw new Error('--cluster-name: required; the infra Services and the VM selector carry it');
  if (clusterName.length > 63 || !CLUSTER_NAME.test(clusterName)) throw new Error(`--cluster-name: "${clusterName}" is not usable as a label value`);
  const cloudConfigPath = value('cloud-config');
  if (!cloudConfigPath) throw new Error('--cloud-config: required (the kubevirt cloud-config file)');
  let text: string;
  try {
    text = readFile(cloudConfigPath);
  } catch (err) {
    throw new Error(`--cloud-config: cannot read ${cloudConfigPath}: ${(err as Error).message}`, { cause: err });
  }
  let cloudConfig: CloudConfig;
  try {
    cloudConfig = parseCloudConfig(text);
  } catch (err) {
    throw new Error(`--cloud-config ${cloudConfigPath}: ${(err as Error).message}`, { cause: err });
  }
  const flags: ManagerFlags = {
    ...parsed.flags,
    leaderElectionNamespace: parsed.flags.leaderElectionNamespace ?? 'kube-system',
    leaderElectionId: parsed.flags.leaderElectionId ?? 'cloud-controller-manager',
  };
  return { flags, clusterName, cloudConfigPath, cloudConfig };
}
