// The pinned upstream versions, read from e2e/tools/versions.env so the shell builds and the TypeScript harness
// can never disagree.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const toolsDir = fileURLToPath(new URL('../e2e/tools/', import.meta.url));

export type VersionKey =
  | 'KUBERNETES_VERSION'
  | 'ETCD_VERSION'
  | 'CLUSTER_API_VERSION'
  | 'CERT_MANAGER_VERSION'
  | 'KUBEVIRT_VERSION'
  | 'CDI_VERSION'
  | 'KONNECTIVITY_VERSION'
  | 'COREDNS_VERSION'
  | 'GATEWAY_API_VERSION'
  | 'EXTERNAL_SNAPSHOTTER_VERSION'
  | 'ENVTEST_VERSION';

export function parseVersionsEnv(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`versions.env: not KEY=VALUE: ${line}`);
    out.set(line.slice(0, eq), line.slice(eq + 1));
  }
  return out;
}

/**
 * The Kubernetes minors versions.env builds control planes for: KUBERNETES_VERSION the newest, the oldest of
 * KUBERNETES_OLDER_VERSIONS the oldest. The control plane provider refuses versions outside its own copy of this
 * range (providers/controlplane/api/kubernetes-versions.ts), which versions.test.ts holds equal to this one.
 */
export function kubernetesMinors(env: Map<string, string>): { oldest: number; newest: number } {
  const minor = (key: string, v: string): number => {
    const m = /^v1\.(\d+)\.\d+/.exec(v);
    if (!m) throw new Error(`versions.env ${key}: "${v}" is no Kubernetes 1.x release`);
    return Number(m[1]);
  };
  const newest = minor('KUBERNETES_VERSION', env.get('KUBERNETES_VERSION') ?? '');
  const older = (env.get('KUBERNETES_OLDER_VERSIONS') ?? '').split(',').filter((v) => v !== '').map((v) => minor('KUBERNETES_OLDER_VERSIONS', v));
  const above = older.filter((m) => m >= newest);
  if (above.length > 0) throw new Error(`versions.env KUBERNETES_OLDER_VERSIONS: minor ${String(above[0])} is not older than KUBERNETES_VERSION's ${String(newest)}`);
  return { oldest: Math.min(newest, ...older), newest };
}

let cached: Map<string, string> | undefined;

export function upstreamVersion(key: VersionKey): string {
  cached ??= parseVersionsEnv(readFileSync(`${toolsDir}versions.env`, 'utf8'));
  const v = cached.get(key);
  if (v === undefined) throw new Error(`versions.env has no ${key}`);
  return v;
}
