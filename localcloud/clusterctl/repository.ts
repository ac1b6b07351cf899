// A clusterctl local filesystem repository and configuration, so `clusterctl init` installs the Cluster API core,
// kubeadm bootstrap and kubeadm control-plane providers from the release manifests the cluster-api tools module
// builds, and the cert-manager release our cert-manager build runs, with no network. clusterctl insists on a
// control-plane provider on a cluster's first init (without one it looks kubeadm's up on GitHub), so the
// kubeadm control plane's manifest is in the repository too. clusterctl reads a file:// provider URL as
// <root>/<provider-label>/<version>/<components file>, with metadata.yaml next to it. Its config and state live
// in a private HOME, so nothing of the developer's ~/.cluster-api or ~/.config is read or written. kvcloud's own
// providers join it through addProvider (kvcloud-infrastructure.ts, kvcloud-control-plane.ts).
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse, stringify } from 'yaml';
import { binaryPath, toolArtifact } from '../binaries.js';
import { runDir } from '../run-dir.js';
import { upstreamVersion } from '../versions.js';

const run = promisify(execFile);

export interface ClusterctlRepository {
  /** The private HOME; clusterctl.yaml is at $XDG_CONFIG_HOME/cluster-api/clusterctl.yaml below it. */
  readonly dir: string;
  readonly configPath: string;
  readonly clusterAPIVersion: string;
  readonly certManagerVersion: string;
  /** The environment clusterctl runs with: private HOME and XDG_CONFIG_HOME, no version check. */
  readonly env: NodeJS.ProcessEnv;
  /** Runs clusterctl with this repository; rejects with its output when it fails. */
  clusterctl(args: string[], opts?: { env?: NodeJS.ProcessEnv; timeoutMs?: number }): Promise<{ stdout: string; stderr: string }>;
  remove(): Promise<void>;
}

export async function createClusterctlRepository(): Promise<ClusterctlRepository> {
  const capiVersion = upstreamVersion('CLUSTER_API_VERSION');
  const cmVersion = upstreamVersion('CERT_MANAGER_VERSION');
  const clusterctlBin = await binaryPath('clusterctl');
  const dir = await mkdtemp(join(runDir(), 'clusterctl-'));
  try {
    const repo = join(dir, 'repository');
    const place = async (label: string, version: string, files: Record<string, string>): Promise<string> => {
      const at = join(repo, label, version);
      await mkdir(at, { recursive: true });
      for (const [name, from] of Object.entries(files)) await copyFile(from, join(at, name));
      return at;
    };
    const manifest = (file: string) => toolArtifact('cluster-api', 'CLUSTER_API_VERSION', 'manifests', file);
    const metadata = manifest('metadata.yaml');
    const core = await place('cluster-api', capiVersion, { 'core-components.yaml': manifest('core-components.yaml'), 'metadata.yaml': metadata });
    const bootstrap = await place('bootstrap-kubeadm', capiVersion, {
      'bootstrap-components.yaml': manifest('bootstrap-components.yaml'),
      'metadata.yaml': metadata,
    });
    const controlPlane = await place('control-plane-kubeadm', capiVersion, {
      'control-plane-components.yaml': manifest('control-plane-components.yaml'),
      'metadata.yaml': metadata,
    });
    const certManager = await place('cert-manager', cmVersion, {
      'cert-manager.yaml': toolArtifact('cert-manager', 'CERT_MANAGER_VERSION', 'cert-manager.yaml'),
    });

    const configDir = join(dir, '.config', 'cluster-api');
    await mkdir(configDir, { recursive: true });
    const configPath = join(configDir, 'clusterctl.yaml');
    await writeFile(
      configPath,
      [
        'providers:',
        '  - name: cluster-api',
        '    type: CoreProvider',
        `    url: file://${join(core, 'core-components.yaml')}`,
        '  - name: kubeadm',
        '    type: BootstrapProvider',
        `    url: file://${join(bootstrap, 'bootstrap-components.yaml')}`,
        '  - name: kubeadm',
        '    type: ControlPlaneProvider',
        `    url: file://${join(controlPlane, 'control-plane-components.yaml')}`,
        'cert-manager:',
        `  url: file://${join(certManager, 'cert-manager.yaml')}`,
        `  version: ${cmVersion}`,
        '',
      ].join('\n'),
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: dir,
      XDG_CONFIG_HOME: join(dir, '.config'),
      CLUSTERCTL_DISABLE_VERSIONCHECK: 'true',
    };
    return {
      dir,
      configPath,
      clusterAPIVersion: capiVersion,
      certManagerVersion: cmVersion,
      env,
      clusterctl: async (args, opts = {}) => {
        try {
          return await run(clusterctlBin, [...args, '--config', configPath], {
            env: { ...env, ...opts.env },
            timeout: opts.timeoutMs ?? 5 * 60_000,
            maxBuffer: 64 * 1024 * 1024,
          });
        } catch (err) {
          const e = err as { stdout?: string; stderr?: string; message?: string };
          throw new Error(`clusterctl ${args.join(' ')} failed: ${e.message ?? String(err)}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: err });
        }
      },
      remove: () => rm(dir, { recursive: true, force: true }),
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

export type ProviderType = 'CoreProvider' | 'BootstrapProvider' | 'ControlPlaneProvider' | 'InfrastructureProvider';

interface ClusterctlConfig {
  providers?: { name: string; type: ProviderType; url: string }[];
  [key: string]: unknown;
}

/**
 * Registers a provider in the repository's clusterctl.yaml (replacing one of the same name and type), so
 * `clusterctl init --<type> <name>` installs it from `url` (file://<root>/<label>/<version>/<components file>).
 */
export async function addProvider(repo: ClusterctlRepository, provider: { name: string; type: ProviderType; url: string }): Promise<void> {
  const config = parse(await readFile(repo.configPath, 'utf8')) as ClusterctlConfig;
  const providers = (config.providers ?? []).filter((p) => !(p.name === provider.name && p.type === provider.type));
  providers.push(provider);
  await writeFile(repo.configPath, stringify({ ...config, providers }));
}
