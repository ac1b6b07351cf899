// The real CAPK (kubernetes-sigs/cluster-api-provider-kubevirt) in the local clusterctl repository, as its users
// install it: its release components are what its `create-infrastructure-components` target builds (a kustomize
// build of config/default: CRDs, RBAC, the webhook with its cert-manager Certificate), here with the kustomize built
// into the pinned kubectl, from a source tree given by path ($CAPK_SRC). Its manager image runs the binary given by
// path ($CAPK_BIN, localcloud/cluster/images.ts). Neither is part of this repository: CAPK is not on the Go module
// proxy, so whoever runs the peer suites builds it from its public repository and names both.
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, readFileSync } from 'node:fs';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { binaryPath, executable } from '../binaries.js';
import { addProvider, type ClusterctlRepository } from './repository.js';

const run = promisify(execFile);

export const CAPK_BIN_ENV = 'CAPK_BIN';
export const CAPK_SOURCE_ENV = 'CAPK_SRC';
/** The image CAPK's manager Deployment runs here: the repository its Makefile pushes to, at its default tag. */
export const CAPK_IMAGE = 'quay.io/capk/capk-manager-amd64:dev';
export const CAPK_NAMESPACE = 'capk-system';
export const CAPK_MANAGER_DEPLOYMENT = 'capk-controller-manager';

export interface CapkRelease {
  /** The version it is registered under in the repository: CAPK's newest release series, patch 99, `-peer`. */
  version: string;
  componentsPath: string;
  /** CAPK's own cluster templates (templates/cluster-template*.yaml of the source). */
  templatesDir: string;
}

interface Metadata {
  releaseSeries?: { major: number; minor: number; contract: string }[];
}

interface Container {
  name: string;
  image?: string;
  args?: string[];
}

/** The source tree and binary the environment names; fails with what is missing, so a run never silently skips CAPK. */
export function capkInputs(): { source: string; binary: string } {
  const source = process.env[CAPK_SOURCE_ENV] ?? '';
  const binary = process.env[CAPK_BIN_ENV] ?? '';
  const problems: string[] = [];
  if (!existsSync(join(source, 'config', 'default', 'kustomization.yaml'))) problems.push(`$${CAPK_SOURCE_ENV} must name CAPK's source tree (config/default/kustomization.yaml), got "${source}"`);
  if (!executable(binary)) problems.push(`$${CAPK_BIN_ENV} must name CAPK's manager binary built from that tree, got "${binary}"`);
  if (problems.length > 0) throw new Error(`${problems.join('; ')} (bench/peers/README.md says how to build them)`);
  return { source, binary };
}

/** The manager Deployment's "manager" container of a components object, if it is that Deployment. */
function managerContainer(o: { kind?: string; metadata?: { name?: string }; spec?: { template?: { spec?: { containers?: Container[] } } } }): Container | undefined {
  if (o.kind !== 'Deployment' || o.metadata?.name !== CAPK_MANAGER_DEPLOYMENT) return undefined;
  return o.spec?.template?.spec?.containers?.find((c) => c.name === 'manager');
}

/**
 * Builds CAPK's components from `source`, with its manager image set to CAPK_IMAGE (what CAPK's release does with
 * `kustomize edit set image`) and `extraArgs` appended to the manager's, writes them with CAPK's metadata.yaml into
 * the repository and registers them as the InfrastructureProvider "kubevirt".
 */
export async function addCapkInfrastructure(repo: ClusterctlRepository, source: string, extraArgs: string[] = []): Promise<CapkRelease> {
  const kubectl = await binaryPath('kubectl');
  const { stdout } = await run(kubectl, ['kustomize', join(source, 'config', 'default')], { maxBuffer: 64 * 1024 * 1024 });
  let managers = 0;
  const objects = parseAllDocuments(stdout).map((doc) => {
    const o = doc.toJS() as Parameters<typeof managerContainer>[0];
    const manager = managerContainer(o);
    if (manager) {
      managers++;
      manager.image = CAPK_IMAGE;
      manager.args = [...(manager.args ?? []), ...extraArgs];
    }
    return o;
  });
  if (managers !== 1) throw new Error(`kubectl kustomize ${source}/config/default: expected one ${CAPK_MANAGER_DEPLOYMENT} Deployment with a "manager" container, found ${String(managers)}`);

  const metadataPath = join(source, 'metadata.yaml');
  const series = (parse(readFileSync(metadataPath, 'utf8')) as Metadata).releaseSeries ?? [];
  const newest = series.reduce<{ major: number; minor: number } | undefined>((a, s) => (!a || s.major > a.major || (s.major === a.major && s.minor > a.minor) ? s : a), undefined);
  if (!newest) throw new Error(`${metadataPath} has no releaseSeries`);
  // A build of a branch is newer than any release of its series and is not one of them.
  const version = `v${String(newest.major)}.${String(newest.minor)}.99-peer`;
  const dir = join(repo.dir, 'repository', 'infrastructure-kubevirt', version);
  await mkdir(dir, { recursive: true });
  const componentsPath = join(dir, 'infrastructure-components.yaml');
  await writeFile(componentsPath, objects.map((o) => stringify(o, { lineWidth: 0 })).join('---\n'));
  await copyFile(metadataPath, join(dir, 'metadata.yaml'));
  await addProvider(repo, { name: 'kubevirt', type: 'InfrastructureProvider', url: `file://${componentsPath}` });
  return { version, componentsPath, templatesDir: join(source, 'templates') };
}
