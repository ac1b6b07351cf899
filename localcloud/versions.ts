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
  | 'GATEWAY_API_VERSION'
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

let cached: Map<string, string> | undefined;

export function upstreamVersion(key: VersionKey): string {
  cached ??= parseVersionsEnv(readFileSync(`${toolsDir}versions.env`, 'utf8'));
  const v = cached.get(key);
  if (v === undefined) throw new Error(`versions.env has no ${key}`);
  return v;
}
