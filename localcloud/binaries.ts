// Where the upstream binaries come from. In order: the envtest conventions users already have
// (TEST_ASSET_<NAME>, KUBEBUILDER_ASSETS), the versioned cache `make tools` fills from Go modules (built on
// demand when Go is here), and, without Go, the official envtest release tarball.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, constants, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { toolsDir, upstreamVersion, type VersionKey } from './versions.js';

export type BinaryName =
  | 'kube-apiserver'
  | 'kube-controller-manager'
  | 'kube-scheduler'
  | 'kubeadm'
  | 'etcd'
  | 'etcdctl'
  | 'kubectl'
  | 'clusterctl';

interface Source {
  tool?: string;
  versionKey?: VersionKey;
  /** Shipped in the envtest tarball, so reachable without Go. */
  envtest: boolean;
}

const sources: Record<BinaryName, Source> = {
  'kube-apiserver': { tool: 'kubernetes', versionKey: 'KUBERNETES_VERSION', envtest: true },
  'kube-controller-manager': { tool: 'kubernetes', versionKey: 'KUBERNETES_VERSION', envtest: false },
  'kube-scheduler': { tool: 'kubernetes', versionKey: 'KUBERNETES_VERSION', envtest: false },
  kubeadm: { tool: 'kubernetes', versionKey: 'KUBERNETES_VERSION', envtest: false },
  etcd: { tool: 'etcd', versionKey: 'ETCD_VERSION', envtest: true },
  etcdctl: { tool: 'etcd', versionKey: 'ETCD_VERSION', envtest: false },
  // Of the cluster's own version: the machine's kubectl may be outside the skew the apiserver supports.
  kubectl: { tool: 'kubernetes', versionKey: 'KUBERNETES_VERSION', envtest: true },
  clusterctl: { tool: 'cluster-api', versionKey: 'CLUSTER_API_VERSION', envtest: false },
};

export function cacheDir(): string {
  return process.env.KVCLOUD_CACHE ?? join(homedir(), '.cache', 'kvcloud');
}

/** The envtest convention: kube-apiserver -> TEST_ASSET_KUBE_APISERVER. */
export function assetEnvVar(name: BinaryName): string {
  return `TEST_ASSET_${name.toUpperCase().replace(/-/g, '_')}`;
}

export function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir !== '' && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function toolOutput(tool: string, versionKey: VersionKey): string {
  return join(cacheDir(), 'bin', `${tool}-${upstreamVersion(versionKey)}`);
}

/** Builds one tools module into the cache (a no-op when it is complete). */
export function buildTool(tool: string): void {
  execFileSync('bash', [join(toolsDir, 'build.sh'), tool], { stdio: ['ignore', 'inherit', 'inherit'] });
}

export function envtestURL(version: string, base = process.env.KVCLOUD_ENVTEST_BASE_URL): string {
  const arch = process.arch === 'arm64' ? 'arm64' : 'amd64';
  const root = base ?? `https://github.com/kubernetes-sigs/controller-tools/releases/download/envtest-${version}`;
  return `${root}/envtest-${version}-${process.platform}-${arch}.tar.gz`;
}

/** Downloads and unpacks the envtest tarball once, checking its published SHA-512. Returns its directory. */
export async function fetchEnvtest(version = upstreamVersion('ENVTEST_VERSION')): Promise<string> {
  const dir = join(cacheDir(), 'bin', `envtest-${version}`);
  if (existsSync(join(dir, '.complete'))) return dir;
  const url = envtestURL(version);
  const [archive, checksum] = await Promise.all([fetch(url), fetch(`${url}.sha512`)]);
  if (!archive.ok) throw new Error(`download ${url}: HTTP ${archive.status}`);
  if (!checksum.ok) throw new Error(`download ${url}.sha512: HTTP ${checksum.status}`);
  const bytes = Buffer.from(await archive.arrayBuffer());
  const want = (await checksum.text()).trim().split(/\s+/)[0]?.toLowerCase();
  const got = createHash('sha512').update(bytes).digest('hex');
  if (got !== want) throw new Error(`download ${url}: sha512 ${got} does not match the published ${want ?? '(empty)'}`);
  const staging = `${dir}.partial`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  const tarball = join(staging, 'envtest.tar.gz');
  writeFileSync(tarball, bytes);
  // The archive holds controller-tools/envtest/{etcd,kube-apiserver,kubectl}.
  execFileSync('tar', ['-xzf', tarball, '-C', staging, '--strip-components=2']);
  rmSync(tarball);
  writeFileSync(join(staging, '.complete'), new Date().toISOString());
  rmSync(dir, { recursive: true, force: true });
  renameSync(staging, dir);
  return dir;
}

/**
 * A file a tools module produces besides binaries (release manifests, generated CRDs), building the module on
 * first use.
 */
export function toolArtifact(tool: 'cluster-api' | 'cert-manager' | 'kubevirt-crds' | 'cdi-crds' | 'gateway-api-crds' | 'csi-snapshotter', versionKey: VersionKey, ...path: string[]): string {
  const dir = toolOutput(tool, versionKey);
  if (!existsSync(join(dir, '.complete'))) {
    if (!onPath('go')) throw new Error(`${tool} is not built and Go is not available: run \`make tools\` where Go is installed`);
    buildTool(tool);
  }
  return join(dir, ...path);
}

/** The path of an upstream binary, building or downloading it on first use. */
export async function binaryPath(name: BinaryName): Promise<string> {
  const fromEnv = process.env[assetEnvVar(name)];
  if (fromEnv) {
    if (!executable(fromEnv)) throw new Error(`${assetEnvVar(name)}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  const assets = process.env.KUBEBUILDER_ASSETS;
  if (assets && executable(join(assets, name))) return join(assets, name);

  const src = sources[name];
  if (src.tool && src.versionKey) {
    const dir = toolOutput(src.tool, src.versionKey);
    // A cache filled before the tools module built this program is completed by the same build.
    const built = () => existsSync(join(dir, '.complete')) && executable(join(dir, name));
    if (!built() && onPath('go')) buildTool(src.tool);
    if (built()) return join(dir, name);
  }
  if (src.envtest) return join(await fetchEnvtest(), name);
  throw new Error(
    `${name} is not available: set ${assetEnvVar(name)} or KUBEBUILDER_ASSETS, or install Go so \`make tools\` can build it`,
  );
}
