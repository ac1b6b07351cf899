// Driving a tenant cluster generated from the provider's templates the way a user does (kubectl against the
// management cluster) and observing what the provider made of it: Machines and their Nodes, the VMs with their
// labels, userdata and providerIDs, and, after deletion, that nothing of the cluster is left.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Machine } from '../../../lib/apis/cluster-api.js';
import { MACHINE_CONTROL_PLANE_LABEL, MACHINE_DEPLOYMENT_NAME_LABEL } from '../../../lib/apis/cluster-api.js';
import type { VirtualMachine } from '../../../lib/apis/kubevirt.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { runDir } from '../../../localcloud/run-dir.js';
import { waitFor } from '../../../localcloud/wait.js';

export const CLUSTER_NAME_LABEL = 'cluster.x-k8s.io/cluster-name';
const ROLE_LABEL = 'cluster.x-k8s.io/role';

/** Where a tenant cluster's objects live: its namespace in the management cluster, its VMs' in the infra cluster. */
export interface WorkloadPlace {
  /** Management cluster kubeconfig (Cluster API objects). */
  kubeconfig: string;
  namespace: string;
  clusterName: string;
  /** The infra cluster (the management cluster unless external) and the namespace of its VMs. */
  infra: { kubeconfig: string; namespace: string };
}

export async function getJSON<T>(kubeconfig: string, args: string[]): Promise<T> {
  return JSON.parse(await kubectl(kubeconfig, ['get', ...args, '-o', 'json'])) as T;
}

export async function applyManifests(kubeconfig: string, manifests: string): Promise<void> {
  await kubectl(kubeconfig, ['apply', '-f', '-'], manifests);
}

export async function scaleMachineDeployment(kubeconfig: string, namespace: string, name: string, replicas: number): Promise<void> {
  await kubectl(kubeconfig, ['scale', 'machinedeployments.cluster.x-k8s.io', '-n', namespace, name, `--replicas=${replicas}`]);
}

function summarize(machines: Machine[]): string {
  return machines.map((m) => `${m.metadata.name ?? ''}:${m.status?.phase ?? '-'}:${m.status?.nodeRef?.name ?? 'no-node'}${m.metadata.deletionTimestamp ? ':deleting' : ''}`).join(', ') || 'none';
}

/**
 * Waits until exactly `replicas` Machines of the MachineDeployment exist, all Running with a nodeRef and a
 * providerID (scale-downs: the surplus Machines are gone, not merely deleting).
 */
export async function waitForRunningMachines(place: WorkloadPlace, machineDeployment: string, replicas: number, timeoutMs: number): Promise<Machine[]> {
  let last: Machine[] = [];
  try {
    return await waitFor(
      async () => {
        last = (await getJSON<{ items: Machine[] }>(place.kubeconfig, ['machines.v1beta2.cluster.x-k8s.io', '-n', place.namespace, '-l', `${MACHINE_DEPLOYMENT_NAME_LABEL}=${machineDeployment}`])).items;
        const ready = last.filter((m) => !m.metadata.deletionTimestamp && m.status?.phase === 'Running' && m.status.nodeRef?.name && m.spec?.providerID);
        return last.length === replicas && ready.length === replicas ? ready : undefined;
      },
      { timeoutMs, intervalMs: 1000, what: `${replicas} Running Machines with nodes in MachineDeployment ${place.namespace}/${machineDeployment}` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n  machines: ${summarize(last)}`, { cause: err });
  }
}

/** The control-plane Machines of the cluster, once `count` of them are Running with nodes. */
export async function waitForRunningControlPlane(place: WorkloadPlace, count: number, timeoutMs: number): Promise<Machine[]> {
  let last: Machine[] = [];
  try {
    return await waitFor(
      async () => {
        last = (await getJSON<{ items: Machine[] }>(place.kubeconfig, ['machines.v1beta2.cluster.x-k8s.io', '-n', place.namespace, '-l', `${CLUSTER_NAME_LABEL}=${place.clusterName},${MACHINE_CONTROL_PLANE_LABEL}`])).items;
        const ready = last.filter((m) => m.status?.phase === 'Running' && m.status.nodeRef?.name);
        return ready.length === count ? ready : undefined;
      },
      { timeoutMs, intervalMs: 1000, what: `${count} Running control-plane Machines of ${place.clusterName}` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n  machines: ${summarize(last)}`, { cause: err });
  }
}

export async function clusterVMs(place: WorkloadPlace): Promise<VirtualMachine[]> {
  return (await getJSON<{ items: VirtualMachine[] }>(place.infra.kubeconfig, ['virtualmachines.kubevirt.io', '-n', place.infra.namespace, '-l', `${CLUSTER_NAME_LABEL}=${place.clusterName}`])).items;
}

interface Secret extends KubeObject {
  data?: Record<string, string>;
}

/** The tenant cluster's admin kubeconfig, from <cluster>-kubeconfig, in a file kubectl can use; remove() when done. */
export async function tenantKubeconfig(place: WorkloadPlace): Promise<{ path: string; remove: () => Promise<void> }> {
  const secret = await getJSON<Secret>(place.kubeconfig, ['secret', '-n', place.namespace, `${place.clusterName}-kubeconfig`]);
  const value = secret.data?.value;
  if (!value) throw new Error(`${place.namespace}/${place.clusterName}-kubeconfig has no key "value"`);
  const dir = await mkdtemp(join(runDir(), 'tenant-kubeconfig-'));
  const path = join(dir, 'kubeconfig');
  await writeFile(path, Buffer.from(value, 'base64'));
  return { path, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface MachineVM {
  machine: Machine;
  vm: VirtualMachine;
  /** The cloud-init userdata the VM boots with, from the Secret its cloud-init volume names. */
  userdata: string;
}

/**
 * For each Machine: its VM in the infra cluster (named after the KubevirtMachine), carrying the role and
 * cluster labels, booting with the Machine's bootstrap data, its providerID the Machine's.
 */
export async function machineVMs(place: WorkloadPlace, machines: Machine[]): Promise<MachineVM[]> {
  const vms = await clusterVMs(place);
  const out: MachineVM[] = [];
  for (const machine of machines) {
    const name = machine.spec?.infrastructureRef?.name ?? '';
    const vm = vms.find((v) => v.metadata.name === name);
    if (!vm) throw new Error(`Machine ${machine.metadata.name ?? ''}: no VirtualMachine ${place.infra.namespace}/${name} (VMs: ${vms.map((v) => v.metadata.name ?? '').join(', ')})`);
    const volumes = vm.spec?.template.spec?.volumes ?? [];
    const cloudInit = volumes.find((v) => v.cloudInitConfigDrive ?? v.cloudInitNoCloud);
    const secretName = (cloudInit?.cloudInitConfigDrive ?? cloudInit?.cloudInitNoCloud)?.secretRef?.name;
    if (!secretName) throw new Error(`VM ${name} has no cloud-init volume with a userdata Secret`);
    const secret = await getJSON<Secret>(place.infra.kubeconfig, ['secret', '-n', place.infra.namespace, secretName]);
    const encoded = secret.data?.userdata ?? secret.data?.userData;
    if (!encoded) throw new Error(`userdata Secret ${secretName} has no key "userdata"`);
    out.push({ machine, vm, userdata: Buffer.from(encoded, 'base64').toString('utf8') });
  }
  return out;
}

export const vmRole = (vm: VirtualMachine): string | undefined => vm.metadata.labels?.[ROLE_LABEL];

/** Tenant Nodes by name with their providerIDs. */
export async function tenantNodes(place: WorkloadPlace): Promise<Map<string, string | undefined>> {
  const kc = await tenantKubeconfig(place);
  try {
    const nodes = await getJSON<{ items: { metadata: { name: string }; spec?: { providerID?: string } }[] }>(kc.path, ['nodes']);
    return new Map(nodes.items.map((n) => [n.metadata.name, n.spec?.providerID]));
  } finally {
    await kc.remove();
  }
}

export interface TenantNode {
  name: string;
  providerID?: string;
  ready: boolean;
  labels: Record<string, string>;
}

/** The tenant's Nodes as its own apiserver reports them: providerID, Ready condition and labels. */
export async function tenantNodeStates(place: WorkloadPlace): Promise<TenantNode[]> {
  const kc = await tenantKubeconfig(place);
  try {
    interface Node {
      metadata: { name: string; labels?: Record<string, string> };
      spec?: { providerID?: string };
      status?: { conditions?: { type: string; status: string }[] };
    }
    const nodes = await getJSON<{ items: Node[] }>(kc.path, ['nodes']);
    return nodes.items.map((n) => ({
      name: n.metadata.name,
      providerID: n.spec?.providerID,
      ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
      labels: n.metadata.labels ?? {},
    }));
  } finally {
    await kc.remove();
  }
}

export async function deleteCluster(place: WorkloadPlace, timeoutMs: number): Promise<void> {
  await kubectl(place.kubeconfig, ['delete', 'clusters.cluster.x-k8s.io', '-n', place.namespace, place.clusterName, '--wait=false']);
  await waitFor(
    async () => {
      const out = await kubectl(place.kubeconfig, ['get', 'clusters.cluster.x-k8s.io', '-n', place.namespace, place.clusterName, '--ignore-not-found', '-o', 'name']);
      return out.trim() === '' ? true : undefined;
    },
    { timeoutMs, intervalMs: 1000, what: `Cluster ${place.namespace}/${place.clusterName} to be deleted` },
  );
}

// Everything a tenant cluster may leave in the management namespace (Cluster API's, the bootstrap provider's and
// ours) and in the infra namespace (VMs and what hangs off them).
export const MANAGEMENT_KINDS = [
  'clusters.cluster.x-k8s.io',
  'machinedeployments.cluster.x-k8s.io',
  'machinesets.cluster.x-k8s.io',
  'machines.cluster.x-k8s.io',
  'kubeadmconfigs.bootstrap.cluster.x-k8s.io',
  'kubeadmconfigtemplates.bootstrap.cluster.x-k8s.io',
  'kubevirtclusters.infrastructure.cluster.x-k8s.io',
  'kubevirtmachines.infrastructure.cluster.x-k8s.io',
  'kubevirtmachinetemplates.infrastructure.cluster.x-k8s.io',
];
const INFRA_KINDS = [
  'virtualmachines.kubevirt.io',
  'virtualmachineinstances.kubevirt.io',
  'datavolumes.cdi.kubevirt.io',
  'persistentvolumeclaims',
  'pods',
  'services',
  'secrets',
];

/** The names of objects of the cluster still present (by name prefix or cluster-name label), empty when clean. */
export async function leftovers(place: WorkloadPlace, extraManagementKinds: string[] = []): Promise<string[]> {
  const found: string[] = [];
  const scan = async (kubeconfig: string, namespace: string, kinds: string[]) => {
    const list = await getJSON<{ items: KubeObject[] }>(kubeconfig, [kinds.join(','), '-n', namespace]);
    for (const o of list.items) {
      const name = o.metadata.name ?? '';
      const mine = name.startsWith(place.clusterName) || o.metadata.labels?.[CLUSTER_NAME_LABEL] === place.clusterName || name.startsWith(`virt-launcher-${place.clusterName}`);
      if (mine) found.push(`${o.kind ?? ''} ${namespace}/${name}`);
    }
  };
  await scan(place.kubeconfig, place.namespace, [...MANAGEMENT_KINDS, ...extraManagementKinds, 'secrets']);
  await scan(place.infra.kubeconfig, place.infra.namespace, INFRA_KINDS);
  return [...new Set(found)].sort();
}

/**
 * Waits until nothing of the deleted cluster is left: dependents the garbage collector removes after their owner
 * (the bootstrap data Secrets, the launcher pods) go shortly after the Cluster itself.
 */
export async function waitForNoLeftovers(place: WorkloadPlace, extraManagementKinds: string[], timeoutMs: number): Promise<void> {
  let last: string[] = [];
  try {
    await waitFor(
      async () => {
        last = await leftovers(place, extraManagementKinds);
        return last.length === 0 ? true : undefined;
      },
      { timeoutMs, intervalMs: 1000, what: `nothing of cluster ${place.clusterName} to be left` },
    );
  } catch (err) {
    throw new Error(`${(err as Error).message}\n  left: ${last.join(', ')}`, { cause: err });
  }
}
