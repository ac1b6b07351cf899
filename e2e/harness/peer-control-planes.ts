// A management cluster for the same TenantControlPlanes through either operator that serves kamaji.clastix.io: the
// real Kamaji (its binary and source tree given by path, $KAMAJI_BIN and $KAMAJI_SRC), installed as its getting-started
// guide installs it (cert-manager, then `helm install` of its chart), or kvcloud's control plane provider
// (config/controlplane). Both own the same CRDs, so one management cluster holds one of them. Either way the
// DataStore "default" (the name Kamaji's chart makes its operator's default) is the shared etcd of the local cloud,
// and the management cluster has a cluster DNS, as a real one does: Kamaji reaches each tenant's apiserver by its
// Service's name (<tcp>.<namespace>.svc).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from '../../lib/kube/client.js';
import { RestMapper } from '../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../lib/kube/rest-transport.js';
import { cacheDir, executable, toolArtifact } from '../../localcloud/binaries.js';
import { startCluster, type Cluster } from '../../localcloud/cluster/cluster.js';
import { SERVICE_CIDR } from '../../localcloud/cluster/topology.js';
import { coreDNSObjects } from '../../providers/controlplane/tenant/coredns.js';
import { KAMAJI_BIN_ENV } from '../../localcloud/cluster/images.js';
import { createReadyDataStore, startSharedEtcd, type SharedEtcd } from '../../localcloud/etcd-datastore.js';
import { installControlPlaneProvider } from '../../localcloud/install-controlplane.js';
import { kubectl } from '../../localcloud/kubectl.js';
import { runDir } from '../../localcloud/run-dir.js';
import { waitFor } from '../../localcloud/wait.js';

const run = promisify(execFile);

export type ControlPlanePeer = 'kamaji' | 'kvcloud';
export const CONTROL_PLANE_PEERS: readonly ControlPlanePeer[] = ['kamaji', 'kvcloud'];

export const KAMAJI_SOURCE_ENV = 'KAMAJI_SRC';
/** Where both operators run: Kamaji's guide installs it there, and config/controlplane uses the same namespace. */
export const OPERATOR_NAMESPACE = 'kamaji-system';
export const DATASTORE = 'default';
const CLUSTER_DOMAIN = 'cluster.local';

export interface ControlPlaneCloud {
  readonly peer: ControlPlanePeer;
  readonly cluster: Cluster;
  readonly kubeconfig: string;
  readonly client: Client;
  readonly etcd: SharedEtcd;
  /** Labels of the operator's pod. */
  readonly operatorSelector: string;
  stop(): Promise<void>;
}

/** The source tree and binary the environment names; fails with what is missing, so a run never silently skips Kamaji. */
export function kamajiInputs(): { source: string; binary: string } {
  const source = process.env[KAMAJI_SOURCE_ENV] ?? '';
  const binary = process.env[KAMAJI_BIN_ENV] ?? '';
  const problems: string[] = [];
  if (!existsSync(join(source, 'charts', 'kamaji', 'Chart.yaml'))) problems.push(`$${KAMAJI_SOURCE_ENV} must name Kamaji's source tree (charts/kamaji/Chart.yaml), got "${source}"`);
  if (!executable(binary)) problems.push(`$${KAMAJI_BIN_ENV} must name Kamaji's binary built from that tree, got "${binary}"`);
  if (problems.length > 0) throw new Error(`${problems.join('; ')} (bench/peers/README.md says how to build them)`);
  return { source, binary };
}

/** The helm `make tools` builds with cert-manager (whose manifests are rendered from its chart), or $HELM. */
function helmBinary(): string {
  const fromEnv = process.env.HELM ?? '';
  if (fromEnv !== '') return fromEnv;
  const dirs = existsSync(join(cacheDir(), 'bin')) ? readdirSync(join(cacheDir(), 'bin')).filter((d) => d.startsWith('helm-')) : [];
  const found = dirs.sort().map((d) => join(cacheDir(), 'bin', d, 'helm')).filter(executable).pop();
  if (!found) throw new Error(`no helm in ${join(cacheDir(), 'bin')}/helm-*: \`make tools\` builds it with cert-manager (or set $HELM)`);
  return found;
}

/** cert-manager's release manifests, applied as its static install, and waited on until its webhook admits an Issuer. */
async function installCertManager(kubeconfig: string): Promise<void> {
  await kubectl(kubeconfig, ['apply', '--server-side', '-f', toolArtifact('cert-manager', 'CERT_MANAGER_VERSION', 'cert-manager.yaml')]);
  const probe = ['apiVersion: cert-manager.io/v1', 'kind: Issuer', 'metadata: {name: probe, namespace: cert-manager}', 'spec: {selfSigned: {}}'].join('\n');
  await waitFor(() => kubectl(kubeconfig, ['create', '--dry-run=server', '-f', '-'], probe), { timeoutMs: 180_000, intervalMs: 1000, what: "cert-manager's webhook to admit an Issuer" });
}

/**
 * Kamaji's chart from the source tree, installed as its guide says (`helm install kamaji charts/kamaji -n kamaji-system
 * --create-namespace --set image.tag=latest`), with the two values this machine needs: its kamaji-etcd dependency off
 * (the DataStore is the local cloud's etcd; the chart repository that serves kamaji-etcd is not reachable here, so an
 * empty chart of that name satisfies helm's dependency check and is never rendered) and telemetry off (no network).
 */
async function helmInstallKamaji(kubeconfig: string, source: string, extraArgs: readonly string[]): Promise<void> {
  const dir = mkdtempSync(join(runDir(), 'kamaji-chart-'));
  try {
    const chart = join(dir, 'kamaji');
    cpSync(join(source, 'charts', 'kamaji'), chart, { recursive: true });
    mkdirSync(join(chart, 'charts', 'kamaji-etcd'), { recursive: true });
    writeFileSync(join(chart, 'charts', 'kamaji-etcd', 'Chart.yaml'), 'apiVersion: v2\nname: kamaji-etcd\nversion: 0.15.0\n');
    const args = ['install', 'kamaji', chart, '--kubeconfig', kubeconfig, '--namespace', OPERATOR_NAMESPACE, '--create-namespace', '--set', 'image.tag=latest'];
    args.push('--set', 'kamaji-etcd.deploy=false', '--set', 'telemetry.disabled=true');
    extraArgs.forEach((a, i) => args.push('--set', `extraArgs[${String(i)}]=${a}`));
    const env = { ...process.env, HELM_CACHE_HOME: join(dir, 'cache'), HELM_CONFIG_HOME: join(dir, 'config'), HELM_DATA_HOME: join(dir, 'data') };
    try {
      await run(helmBinary(), args, { env, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      const e = err as Error & { stderr?: string };
      throw new Error(`helm ${args.join(' ')}: ${e.stderr?.trim() ?? e.message}`, { cause: err });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** kubeadm's CoreDNS (one replica) as the management cluster's kube-dns, at the Service IP its pods are told of. */
async function startClusterDNS(cluster: Cluster, serviceIP: string): Promise<void> {
  const objects = coreDNSObjects({ dnsDomain: CLUSTER_DOMAIN, dnsServiceIPs: [serviceIP] }).map((o) =>
    o.kind === 'Deployment' ? { ...o, spec: { ...(o.spec as object), replicas: 1 } } : o,
  );
  await cluster.plane.applyManifests(objects);
  await waitFor(() => kubectl(cluster.plane.kubeconfigPath, ['wait', '--for=condition=Available', '--timeout=10s', '-n', 'kube-system', 'deployment/coredns']), {
    timeoutMs: 120_000,
    intervalMs: 1000,
    what: "the management cluster's CoreDNS to be Available",
  });
}

async function waitForOperator(kubeconfig: string, selector: string): Promise<void> {
  await waitFor(
    async () => {
      const pods = JSON.parse(await kubectl(kubeconfig, ['get', 'pods', '-n', OPERATOR_NAMESPACE, '-l', selector, '-o', 'json'])) as {
        items: { status?: { conditions?: { type: string; status: string }[]; containerStatuses?: unknown[] } }[];
      };
      if (pods.items.some((p) => p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) return true;
      throw new Error(`operator pods: ${JSON.stringify(pods.items.map((p) => p.status?.containerStatuses ?? p.status))}`);
    },
    { timeoutMs: 180_000, intervalMs: 1000, what: `the operator pod (${selector}) to be Ready` },
  );
}

export interface ControlPlaneCloudOptions {
  /** Extra args for Kamaji's manager (its chart's extraArgs). */
  kamajiArgs?: readonly string[];
}

/** Starts the management cluster with `peer` as its TenantControlPlane operator and the DataStore "default" ready. */
export async function startControlPlaneCloud(peer: ControlPlanePeer, opts: ControlPlaneCloudOptions = {}): Promise<ControlPlaneCloud> {
  const { source } = kamajiInputs();
  const dnsIP = SERVICE_CIDR.replace(/0\/16$/, '10');
  const cluster = await startCluster({ serviceCIDR: SERVICE_CIDR, dns: { nameservers: [dnsIP], domain: CLUSTER_DOMAIN } });
  const transport = await RestTransport.fromKubeConfig(cluster.plane.kubeConfig);
  const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-e2e' });
  let etcd: SharedEtcd | undefined;
  const stop = async () => {
    transport.close();
    await cluster.stop();
    await etcd?.stop().catch(() => undefined); // its namespace went with the cluster; this removes its files
  };
  try {
    const kubeconfig = cluster.plane.kubeconfigPath;
    await startClusterDNS(cluster, dnsIP);
    etcd = await startSharedEtcd(client, 'tenant-etcd');
    let operatorSelector: string;
    if (peer === 'kamaji') {
      await installCertManager(kubeconfig);
      await helmInstallKamaji(kubeconfig, source, opts.kamajiArgs ?? []);
      operatorSelector = 'app.kubernetes.io/name=kamaji';
      await waitForOperator(kubeconfig, operatorSelector);
    } else {
      await installControlPlaneProvider(cluster, client);
      operatorSelector = 'app.kubernetes.io/name=kvcloud-controlplane';
    }
    await createReadyDataStore(client, DATASTORE, etcd);
    return { peer, cluster, kubeconfig, client, etcd, operatorSelector, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export interface OperatorProcess {
  pod: string;
  ip: string;
  /** The pid of the operator's process on this machine. */
  pid: number;
}

/**
 * The operator's Ready pod and its process: the one whose argv `isOperator` recognises and whose HOSTNAME is the pod's
 * name (as the pod runner sets it), so operators of other clusters on this machine do not count.
 */
export async function operatorProcess(cloud: ControlPlaneCloud, isOperator: (argv: string[]) => boolean): Promise<OperatorProcess> {
  const pods = JSON.parse(await kubectl(cloud.kubeconfig, ['get', 'pods', '-n', OPERATOR_NAMESPACE, '-l', cloud.operatorSelector, '-o', 'json'])) as {
    items: { metadata: { name: string }; status?: { podIP?: string; phase?: string } }[];
  };
  const running = pods.items.filter((p) => p.status?.phase === 'Running' && p.status.podIP);
  const pod = running[0];
  if (running.length !== 1 || !pod?.status?.podIP) throw new Error(`expected one Running operator pod in ${OPERATOR_NAMESPACE}, found ${String(running.length)}`);
  const found: number[] = [];
  for (const entry of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (!readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`HOSTNAME=${pod.metadata.name}`)) continue;
      if (isOperator(readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0'))) found.push(Number(entry));
    } catch {
      continue; // gone since the listing
    }
  }
  if (found.length !== 1) throw new Error(`expected one ${cloud.peer} operator process in pod ${pod.metadata.name}, found ${String(found.length)}`);
  return { pod: pod.metadata.name, ip: pod.status.podIP, pid: found[0] ?? 0 };
}
