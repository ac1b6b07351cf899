// A tenant cluster whose nodes run pods, for suites that need one without the providers: the local management
// cluster, a real tenant control plane (kube-apiserver, kube-controller-manager allocating podCIDRs, scheduler),
// and VMs that boot the guest with CABPK-shaped worker userdata, join, and run the tenant's pods. By default the VMs
// are virt-launcher pods rendered by the KubeVirt simulator's own builder (no VirtualMachine objects); with
// `virtualMachines` they are real VirtualMachines that the KubeVirt simulator turns into VMIs and launcher pods,
// labelled as Cluster API worker machines of the cluster. The fixture plays Cluster API: it lifts the
// uninitialized taint once the Nodes are Ready. `installAddons` applies the control plane provider's kube-proxy
// and CoreDNS objects.
import { stringify } from 'yaml';
import { join } from 'node:path';
import { pino } from 'pino';
import { VIRTUAL_MACHINE_TYPE, type VirtualMachine, type VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import type { KubeObject } from '../../lib/kube/object.js';
import { createLogger } from '../../lib/observability/logger.js';
import { formatIP, nthAddress, parseCIDR } from '../../lib/net/ip.js';
import { startCluster, type Cluster, type ClusterOptions } from '../../localcloud/cluster/cluster.js';
import { NODE_IP, TENANT_POD_CIDR, TENANT_SERVICE_CIDR } from '../../localcloud/cluster/topology.js';
import { kubectl } from '../../localcloud/kubectl.js';
import type { Node } from '../../localcloud/node-object.js';
import { upstreamVersion } from '../../localcloud/versions.js';
import { waitFor } from '../../localcloud/wait.js';
import { coreDNSObjects } from '../../providers/controlplane/tenant/coredns.js';
import { kubeProxyObjects } from '../../providers/controlplane/tenant/kube-proxy.js';
import { withBootstrapUser } from '../../providers/infrastructure/vm/userdata.js';
import { startTenantPlane, type TenantPlane } from '../../simulators/guest/tenant-plane.js';
import { cabpkWorkerCloudConfig } from '../../simulators/guest/testdata/cabpk-userdata.js';
import { startKubevirtSimulator, type KubevirtSimulator } from '../../simulators/kubevirt/index.js';
import { buildLauncherPod, DEFAULT_LAUNCHER_IMAGE } from '../../simulators/kubevirt/launcher-pod.js';

const CAPI_UNINITIALIZED = 'node.cluster.x-k8s.io/uninitialized';

export interface TenantNodesOptions {
  clusterName?: string;
  /** VM names, which become the Node names. */
  vms: string[];
  /** Management namespace of the launcher pods and the userdata Secret. */
  namespace?: string;
  /** Extra kubelet flags in the worker userdata (for example cloud-provider=external). */
  kubeletExtraArgs?: { name: string; value: string }[];
  /** Lift the uninitialized taints as Cluster API would (default true); a CCM suite leaves its own taint alone. */
  liftCapiTaint?: boolean;
  /**
   * Real VirtualMachines through the KubeVirt simulator instead of bare launcher pods, their VMI template labelled
   * as Cluster API labels worker machines (cluster.x-k8s.io/role=worker, cluster.x-k8s.io/cluster-name).
   */
  virtualMachines?: boolean;
  /** The management cluster's nodes and options (zones for zone-aware tests); default one node in zone-a. */
  cluster?: ClusterOptions;
  /** An authorized_keys line the VMs boot with for CAPK's bootstrap user, as the infrastructure provider adds it. */
  sshPublicKey?: string;
}

export interface TenantNodes {
  readonly cluster: Cluster;
  readonly tenant: TenantPlane;
  /** Kubeconfig path of the management cluster's admin. */
  readonly mgmt: string;
  /** Kubeconfig path of the tenant's admin. */
  readonly admin: string;
  readonly namespace: string;
  readonly vms: readonly string[];
  nodes(): Promise<Node[]>;
  /** Applies the tenant's kube-proxy DaemonSet and CoreDNS and waits until both run on every VM. */
  installAddons(): Promise<void>;
  /** Powers the VMs off (their launcher pods go), then stops the tenant plane and the cluster. */
  stop(): Promise<void>;
}

/**
 * The launcher pod the KubeVirt simulator makes for a VMI with this cloud-init Secret (no owner: no VMI exists);
 * the bench adds VMs to a running fixture with it.
 */
export function launcherPod(vm: string, namespace: string, userdataSecret: string): KubeObject {
  const vmi: VirtualMachineInstance = {
    apiVersion: 'kubevirt.io/v1',
    kind: 'VirtualMachineInstance',
    metadata: { name: vm, namespace, uid: `uid-${vm}` },
    spec: {
      domain: { devices: {} },
      terminationGracePeriodSeconds: 20,
      volumes: [{ name: 'cloudinitdisk', cloudInitNoCloud: { secretRef: { name: userdataSecret } } }],
    },
  };
  const pod = buildLauncherPod(vmi, { image: DEFAULT_LAUNCHER_IMAGE });
  pod.spec.containers[0]?.env?.push({ name: 'GUEST_LEASE_RENEW_MS', value: '2000' });
  return { ...pod, metadata: { ...pod.metadata, ownerReferences: [] } };
}

/** A worker VM as a Cluster API MachineDeployment's KubevirtMachine would make it, booting the shared userdata. */
function workerVirtualMachine(vm: string, namespace: string, clusterName: string, userdataSecret: string): VirtualMachine {
  return {
    ...VIRTUAL_MACHINE_TYPE,
    metadata: { name: vm, namespace, labels: { 'cluster.x-k8s.io/cluster-name': clusterName } },
    spec: {
      runStrategy: 'Always',
      template: {
        metadata: { labels: { 'cluster.x-k8s.io/role': 'worker', 'cluster.x-k8s.io/cluster-name': clusterName, 'kubevirt.io/vm': vm } },
        spec: {
          domain: { cpu: { cores: 1 }, memory: { guest: '128Mi' }, devices: { interfaces: [{ name: 'default', masquerade: {} }] } },
          networks: [{ name: 'default', pod: {} }],
          terminationGracePeriodSeconds: 20,
          volumes: [{ name: 'cloudinitdisk', cloudInitNoCloud: { secretRef: { name: userdataSecret } } }],
        },
      },
    },
  };
}

const isReadyNode = (n: Node) => n.status?.conditions.find((c) => c.type === 'Ready')?.status === 'True';

export async function startTenantNodes(opts: TenantNodesOptions): Promise<TenantNodes> {
  const clusterName = opts.clusterName ?? 'acme';
  const namespace = opts.namespace ?? 'default';
  const userdataSecret = `${clusterName}-md-0-userdata`;
  const cluster = await startCluster(opts.cluster);
  let tenant: TenantPlane | undefined;
  let kubevirt: KubevirtSimulator | undefined;
  const mgmt = cluster.plane.kubeconfigPath;
  const stop = async () => {
    // Powering off: VirtualMachines first (the simulator ends their VMIs and pods), then any launcher pod left.
    if (kubevirt) await kubectl(mgmt, ['delete', 'virtualmachines.kubevirt.io', '-n', namespace, '--all', '--wait=true', '--timeout=90s']).catch(() => undefined);
    await kubectl(mgmt, ['delete', 'pod', '-n', namespace, '-l', 'kubevirt.io=virt-launcher', '--wait=true', '--timeout=90s']).catch(() => undefined);
    await kubevirt?.stop();
    await tenant?.stop();
    await cluster.stop();
  };
  try {
    if (opts.virtualMachines) {
      const destination = pino.destination({ dest: join(cluster.dir, 'kubevirt-simulator.log'), sync: true });
      kubevirt = await startKubevirtSimulator({
        kubeconfig: cluster.plane.kubeConfig,
        log: createLogger({ level: 'info', component: 'kubevirt-simulator', destination }),
        runtime: cluster.runner,
      });
    }
    tenant = await startTenantPlane({ clusterName, bindAddress: NODE_IP, workloads: { podCIDR: TENANT_POD_CIDR, serviceCIDR: TENANT_SERVICE_CIDR } });
    const admin = tenant.plane.kubeconfigPath;
    const nodes = async () => (JSON.parse(await kubectl(admin, ['get', 'nodes', '-o', 'json'])) as { items: Node[] }).items;
    const cloudConfig = cabpkWorkerCloudConfig({
      endpoint: tenant.endpoint,
      token: tenant.token,
      caCertHash: tenant.caCertHash,
      nodeName: '{{ ds.meta_data.local_hostname }}',
      kubeletExtraArgs: opts.kubeletExtraArgs ?? [{ name: 'provider-id', value: 'kubevirt://{{ ds.meta_data.local_hostname }}' }],
    });
    const userdata = opts.sshPublicKey ? withBootstrapUser(cloudConfig, opts.sshPublicKey) : cloudConfig;
    const secret = { apiVersion: 'v1', kind: 'Secret', metadata: { name: userdataSecret, namespace }, stringData: { userdata } };
    const machines = opts.vms.map((vm) => (opts.virtualMachines ? workerVirtualMachine(vm, namespace, clusterName, userdataSecret) : launcherPod(vm, namespace, userdataSecret)));
    const objects = [secret, ...machines];
    await kubectl(mgmt, ['apply', '-f', '-'], objects.map((o) => stringify(o)).join('---\n'));
    await waitFor(
      async () => ((await nodes()).filter((n) => isReadyNode(n) && n.spec?.podCIDR).length === opts.vms.length ? true : undefined),
      { timeoutMs: 180_000, what: `${String(opts.vms.length)} tenant Nodes Ready with a podCIDR` },
    );
    // Cluster API's Machine controller lifts this taint once it has matched the Node.
    if (opts.liftCapiTaint ?? true) for (const vm of opts.vms) await kubectl(admin, ['taint', 'node', vm, `${CAPI_UNINITIALIZED}:NoSchedule-`]);
    const plane = tenant;
    return {
      cluster,
      tenant: plane,
      mgmt,
      admin,
      namespace,
      vms: opts.vms,
      nodes,
      installAddons: () => installAddons(plane, admin, opts.vms.length),
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface PodView {
  metadata: { name: string };
  spec: { nodeName?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[]; containerStatuses?: unknown[] };
}

async function installAddons(tenant: TenantPlane, admin: string, nodeCount: number): Promise<void> {
  const serviceBlock = parseCIDR(TENANT_SERVICE_CIDR);
  if (!serviceBlock) throw new Error(`bad TENANT_SERVICE_CIDR ${TENANT_SERVICE_CIDR}`);
  const addons = [
    ...kubeProxyObjects({ server: tenant.server, clusterCIDR: TENANT_POD_CIDR, kubernetesVersion: upstreamVersion('KUBERNETES_VERSION') }),
    // kubeadm's DNS address: the Service range's tenth, which the kubelet-config ConfigMap gives the kubelets.
    ...coreDNSObjects({ dnsDomain: 'cluster.local', dnsServiceIPs: [formatIP(nthAddress(serviceBlock, 10))] }),
  ];
  await kubectl(admin, ['apply', '-f', '-'], addons.map((o) => stringify(o)).join('---\n'));
  const readyPods = async (app: string, want: number) => {
    const items = (JSON.parse(await kubectl(admin, ['get', 'pods', '-n', 'kube-system', '-l', `k8s-app=${app}`, '-o', 'json'])) as { items: PodView[] }).items;
    const ready = items.filter((p) => p.status?.phase === 'Running' && p.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True');
    if (ready.length === want) return true;
    throw new Error(JSON.stringify(items.map((p) => ({ name: p.metadata.name, node: p.spec.nodeName, phase: p.status?.phase, containers: p.status?.containerStatuses }))));
  };
  await waitFor(() => readyPods('kube-proxy', nodeCount), { timeoutMs: 90_000, what: 'a kube-proxy pod Running on each VM' });
  await waitFor(() => readyPods('kube-dns', 2), { timeoutMs: 90_000, what: 'two CoreDNS pods Ready' });
}
