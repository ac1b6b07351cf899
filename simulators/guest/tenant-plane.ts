// A tenant control plane for suites that need one before the control plane provider exists: the harness's real
// kube-apiserver + kube-controller-manager (bootstrap-token auth, bootstrapsigner, CSR approving and signing),
// the kubeadm bootstrap objects made by the real kubeadm binary (`init phase bootstrap-token` and
// `upload-config`), and the Cluster API Secrets a management cluster expects: <cluster>-kubeconfig and <cluster>-ca.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { Client } from '../../lib/kube/client.js';
import { RestMapper } from '../../lib/kube/rest-mapper.js';
import { RestTransport } from '../../lib/kube/rest-transport.js';
import { binaryPath } from '../../localcloud/binaries.js';
import { nodePodRoutesRBAC } from '../../providers/controlplane/tenant/bootstrap.js';
import { startPlane, type Plane } from '../../localcloud/plane.js';
import { NODE_IP } from '../../localcloud/cluster/topology.js';
import { upstreamVersion } from '../../localcloud/versions.js';
import { KUBEADM_CLUSTER_ADMINS } from './control-plane.js';
import { caPublicKeyHash } from './discovery.js';

const run = promisify(execFile);

export interface TenantPlaneOptions {
  clusterName: string;
  /**
   * Where the tenant apiserver listens. Default the cluster network's node address, which guests in pod network
   * namespaces reach and kubeadm accepts (it refuses loopback advertise addresses); so the run must be inside
   * the cluster network namespace (cluster/netns.ts), as every e2e suite is.
   */
  bindAddress?: string;
  /** Writes <cluster>-kubeconfig and <cluster>-ca into this management namespace. */
  management?: { kubeConfig: KubeConfig; namespace: string };
  /**
   * Nodes that run pods: kube-scheduler, and kube-controller-manager allocating each Node a podCIDR (a /24) from
   * this pod range, with the Service range next to it; topology.ts has the tenants' defaults.
   */
  workloads?: { podCIDR: string; serviceCIDR: string };
}

export interface TenantPlane {
  readonly clusterName: string;
  readonly plane: Plane;
  /** https URL of the tenant apiserver, as cluster-info and <cluster>-kubeconfig name it. */
  readonly server: string;
  /** host:port of the server, JoinConfiguration's apiServerEndpoint. */
  readonly endpoint: string;
  readonly caPem: string;
  /** kubeadm's CA pin for discovery.bootstrapToken.caCertHashes. */
  readonly caCertHash: string;
  /** The bootstrap token kubeadm created (groups system:bootstrappers:kubeadm:default-node-token, 24h). */
  readonly token: string;
  /** An admin client of the tenant. */
  readonly client: Client;
  /** The admin kubeconfig, as written into <cluster>-kubeconfig. */
  readonly adminKubeconfig: string;
  /** Creates another bootstrap token the way `kubeadm token create` does. */
  createToken(): Promise<string>;
  stop(): Promise<void>;
}

export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';
export const CLUSTER_SECRET_TYPE = 'cluster.x-k8s.io/secret';

const tokenChars = 'abcdefghijklmnopqrstuvwxyz0123456789';
function randomTokenPart(n: number): string {
  return [...randomBytes(n)].map((b) => tokenChars[b % tokenChars.length]).join('');
}
export const randomBootstrapToken = (): string => `${randomTokenPart(6)}.${randomTokenPart(16)}`;

export async function startTenantPlane(opts: TenantPlaneOptions): Promise<TenantPlane> {
  const bindAddress = opts.bindAddress ?? NODE_IP;
  const workloads = opts.workloads;
  const plane = await startPlane({
    bindAddress,
    advertiseAddress: bindAddress,
    // The apiserver reaches kubelets at their InternalIP, as kvcloud's tenant control planes do (a Hostname
    // address, the default's first choice, resolves nowhere here).
    ...(workloads ? { scheduler: true, serviceCIDR: workloads.serviceCIDR, apiServerArgs: ['--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname'] } : {}),
    controllerManagerArgs: [
      '--kube-api-qps=200',
      '--kube-api-burst=400',
      ...(workloads ? ['--allocate-node-cidrs=true', `--cluster-cidr=${workloads.podCIDR}`, `--service-cluster-ip-range=${workloads.serviceCIDR}`] : []),
    ],
  });
  try {
    return await prepareTenant(plane, opts);
  } catch (err) {
    await plane.stop();
    throw err;
  }
}

async function prepareTenant(plane: Plane, opts: TenantPlaneOptions): Promise<TenantPlane> {
  const workloads = opts.workloads;
  const kubeadm = await binaryPath('kubeadm');
  const caPem = await readFile(plane.caCertPath, 'utf8');
  const caKeyPem = await readFile(join(plane.dir, 'pki', 'ca.key'), 'utf8');
  const endpoint = new URL(plane.server).host;
  const adminKubeconfig = await readFile(plane.kubeconfigPath, 'utf8');
  const token = randomBootstrapToken();
  const configPath = join(plane.dir, 'kubeadm.yaml');
  await writeFile(configPath, kubeadmConfig(opts.clusterName, endpoint, token, join(plane.dir, 'pki'), workloads));
  const kubeadmPhase = async (...phase: string[]) => {
    try {
      await run(kubeadm, ['init', 'phase', ...phase, `--config=${configPath}`, `--kubeconfig=${plane.kubeconfigPath}`], { timeout: 60_000 });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`kubeadm init phase ${phase.join(' ')}: ${e.stderr ?? e.message}`, { cause: err });
    }
  };
  // RBAC for joining nodes (kubelet-bootstrap, node-autoapprove-bootstrap, certificate rotation, get-nodes),
  // cluster-info in kube-public with its anonymous read access, and the token itself.
  await kubeadmPhase('bootstrap-token', '--skip-token-print');
  // kubeadm-config and kubelet-config ConfigMaps with the roles that let joining nodes read them.
  await kubeadmPhase('upload-config', 'kubeadm');
  await kubeadmPhase('upload-config', 'kubelet');

  const transport = await RestTransport.fromKubeConfig(plane.kubeConfig);
  const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-tenant-plane' });
  // The apiserver calls kubelets as kubeadm:cluster-admins (its kubelet client certificate's group), which
  // `kubeadm init` binds to cluster-admin; the phases run here do not, so the binding is made as kubeadm makes it.
  await client.apply(KUBEADM_CLUSTER_ADMINS);
  // What kvcloud's control plane provider grants its tenants' nodes, so the VMs can route their pods.
  if (workloads) for (const obj of nodePodRoutesRBAC()) await client.apply(obj);
  if (opts.management) await writeClusterSecrets(opts.management, opts.clusterName, adminKubeconfig, caPem, caKeyPem);

  return {
    clusterName: opts.clusterName,
    plane,
    server: plane.server,
    endpoint,
    caPem,
    caCertHash: caPublicKeyHash(caPem),
    token,
    client,
    adminKubeconfig,
    async createToken() {
      const { stdout } = await run(kubeadm, ['token', 'create', `--kubeconfig=${plane.kubeconfigPath}`], { timeout: 60_000 });
      return stdout.trim();
    },
    async stop() {
      transport.close();
      await plane.stop();
    },
  };
}

function kubeadmConfig(clusterName: string, endpoint: string, token: string, certificatesDir: string, workloads: TenantPlaneOptions['workloads']): string {
  const init = {
    apiVersion: 'kubeadm.k8s.io/v1beta4',
    kind: 'InitConfiguration',
    bootstrapTokens: [{ token, ttl: '24h0m0s', usages: ['signing', 'authentication'], groups: ['system:bootstrappers:kubeadm:default-node-token'] }],
    // Given, so kubeadm does not look for a default route (the run's network namespace has none).
    localAPIEndpoint: { advertiseAddress: endpoint.slice(0, endpoint.lastIndexOf(':')), bindPort: Number(endpoint.slice(endpoint.lastIndexOf(':') + 1)) },
    nodeRegistration: { name: `${clusterName}-control-plane`, taints: [] },
  };
  const cluster = {
    apiVersion: 'kubeadm.k8s.io/v1beta4',
    kind: 'ClusterConfiguration',
    clusterName,
    kubernetesVersion: upstreamVersion('KUBERNETES_VERSION'),
    controlPlaneEndpoint: endpoint,
    certificatesDir,
    // The Service range gives the kubelet-config ConfigMap its clusterDNS (the range's tenth address), as kubeadm
    // derives it, so the guests' ClusterFirst pods resolve through the tenant's kube-dns Service.
    ...(workloads ? { networking: { podSubnet: workloads.podCIDR, serviceSubnet: workloads.serviceCIDR } } : {}),
  };
  return `${stringify(init)}---\n${stringify(cluster)}`;
}

/** The Secrets Cluster API reads for a cluster whose control plane someone else provides. */
async function writeClusterSecrets(
  management: { kubeConfig: KubeConfig; namespace: string },
  clusterName: string,
  kubeconfig: string,
  caPem: string,
  caKeyPem: string,
): Promise<void> {
  const transport = await RestTransport.fromKubeConfig(management.kubeConfig);
  try {
    const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-tenant-plane' });
    const secret = (name: string, data: Record<string, string>, type: string) => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name, namespace: management.namespace, labels: { [CLUSTER_NAME_LABEL]: clusterName } },
      type,
      data: Object.fromEntries(Object.entries(data).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
    });
    await client.apply(secret(`${clusterName}-kubeconfig`, { value: kubeconfig }, CLUSTER_SECRET_TYPE));
    // Cluster API's own CA Secrets carry type cluster.x-k8s.io/secret too; CABPK hashes tls.crt for caCertHashes.
    await client.apply(secret(`${clusterName}-ca`, { 'tls.crt': caPem, 'tls.key': caKeyPem }, CLUSTER_SECRET_TYPE));
  } finally {
    transport.close();
  }
}
