// KubevirtMachine reconciler: one Cluster API Machine as one KubeVirt VirtualMachine. It waits for the cluster
// infrastructure and the bootstrap data, writes the userdata Secret, creates the VM (named after the machine, so
// a retry never makes two), reports readiness, addresses and the providerID, confirms the guest bootstrapped,
// moves the VM off draining infra nodes, and on delete removes the VM, waits for it, then its userdata Secret.
import { isAlreadyExists } from '../../../lib/kube/api-error.js';
import type { Client } from '../../../lib/kube/client.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { DATA_VOLUME_TYPE, type DataVolume } from '../../../lib/apis/cdi.js';
import { isControlPlaneMachine, type Cluster, type Machine } from '../../../lib/apis/cluster-api.js';
import { NODE_TYPE, SECRET_TYPE, type Node, type Secret } from '../../../lib/apis/core.js';
import {
  VIRTUAL_MACHINE_INSTANCE_TYPE,
  VIRTUAL_MACHINE_TYPE,
  type VirtualMachine,
  type VirtualMachineInstance,
} from '../../../lib/apis/kubevirt.js';
import { getCondition, isTrue, markFalse, markTrue, setCondition, setReadySummary } from '../../../lib/controller/conditions.js';
import { mirrorV1Beta1Conditions } from '../../../lib/controller/conditions-v1beta1.js';
import { addFinalizer, removeFinalizer } from '../../../lib/controller/finalizers.js';
import { clusterOfMachine, ownerMachine } from '../../../lib/controller/cluster-owners.js';
import { reconcilePaused } from '../../../lib/controller/paused.js';
import { done, requeueAfter, type ReconcileContext, type Reconciler, type Result } from '../../../lib/controller/reconciler.js';
import type { RemoteCluster } from '../../../lib/controller/remote-cluster.js';
import {
  KUBEVIRT_MACHINE_NAME_LABEL,
  KUBEVIRT_MACHINE_NAMESPACE_LABEL,
  KubevirtClusterGVK,
  MACHINE_FINALIZER,
  MANAGED_BY_ANNOTATION,
  PROVIDER_ID_PREFIX,
  type KubevirtCluster,
  type KubevirtMachine,
} from '../api/index.js';
import { cloudInitRequest } from '../vm/cloud-init.js';
import { buildVirtualMachine, providerIDFor } from '../vm/virtualmachine.js';
import { renderUserdata, userdataSecretName } from '../vm/userdata.js';
import type { ClusterConnections, InfraTarget } from './cluster-connections.js';
import { BOOTSTRAP_EXEC_SUCCEEDED, MACHINE_READY_SUMMARY, Reasons, TERMINAL_FAILURE_REASON, VM_LIVE_MIGRATABLE, VM_PROVISIONED } from './conditions.js';
import { evacuate, finishEvacuation, needsEvacuation, type EvacuationDeps } from './evacuation.js';
import { checkSentinelOverSSH } from './ssh-sentinel.js';
import { readSSHKeys, sshKeysSecretName, type SSHKeys } from './ssh-keys.js';
import { findTenantNode, isNodeReady, setProviderID } from './tenant-node.js';
import { deleteUserdataSecrets, desiredUserdataSecret, ensureUserdataSecret } from './userdata-secret.js';
import { isVMIReady, liveMigratable, machineAddresses, notReadyReason, terminalState } from './vm-status.js';

/** Polling for what no watch tells us: the tenant kubeconfig appearing, an SSH sentinel file. */
const EXTERNAL_POLL_MS = 10_000;

export interface KubevirtMachineDeps {
  client: Client;
  connections: ClusterConnections;
  /** Adds a KubevirtMachine key to this controller's queue (remote events). */
  enqueue: (key: string) => void;
  now?: () => Date;
  sshCheck?: typeof checkSentinelOverSSH;
}

/** The KubevirtMachine a VM or VMI belongs to, from the back-reference labels the builder sets. */
export function machineKeyOf(obj: KubeObject): readonly string[] {
  const name = obj.metadata.labels?.[KUBEVIRT_MACHINE_NAME_LABEL];
  const namespace = obj.metadata.labels?.[KUBEVIRT_MACHINE_NAMESPACE_LABEL];
  return name && namespace ? [`${namespace}/${name}`] : [];
}

interface Scope {
  km: KubevirtMachine;
  machine: Machine;
  cluster: Cluster;
  ctx: ReconcileContext;
}

export class KubevirtMachineReconciler implements Reconciler<KubevirtMachine> {
  constructor(private readonly deps: KubevirtMachineDeps) {}

  async reconcile(km: KubevirtMachine, ctx: ReconcileContext): Promise<Result> {
    const machine = await ownerMachine(this.deps.client, km);
    const cluster = machine ? await clusterOfMachine(this.deps.client, machine) : undefined;
    if (cluster && reconcilePaused(cluster, km)) return done();
    if (km.metadata.deletionTimestamp) return this.summarized(km, () => this.reconcileDelete(km, cluster, ctx));
    if (!machine || !cluster) return done(); // Cluster API has not claimed it yet; the Machine's update brings us back
    addFinalizer(km, MACHINE_FINALIZER);
    return this.summarized(km, () => this.reconcileNormal({ km, machine, cluster, ctx }));
  }

  /** Ready and its v1beta1 mirror follow the conditions however `step` ends, a thrown error included. */
  private async summarized(km: KubevirtMachine, step: () => Promise<Result>): Promise<Result> {
    try {
      return await step();
    } finally {
      setReadySummary(km, MACHINE_READY_SUMMARY);
      mirrorV1Beta1Conditions(km, { readySummaryOf: MACHINE_READY_SUMMARY.conditions });
    }
  }

  private async reconcileNormal(s: Scope): Promise<Result> {
    const { km, machine, cluster, ctx } = s;
    const status = (km.status ??= {});
    if (machine.spec?.failureDomain) status.failureDomain = machine.spec.failureDomain;
    const notReady = (reason: string, message = ''): Result => {
      markFalse(km, VM_PROVISIONED, reason, message);
      status.ready = false;
      return done();
    };

    const kc = await this.kubevirtCluster(cluster);
    if (!cluster.status?.initialization?.infrastructureProvisioned || !kc) {
      return notReady(Reasons.waitingForClusterInfrastructure, 'waiting for the cluster infrastructure to be provisioned');
    }
    const dataSecretName = machine.spec?.bootstrap?.dataSecretName;
    if (!dataSecretName) {
      if (!isControlPlaneMachine(machine) && !cluster.status.initialization.controlPlaneInitialized) {
        return notReady(Reasons.waitingForControlPlaneAvailable, 'workers wait for the control plane to be initialized');
      }
      return notReady(Reasons.waitingForBootstrapData, 'waiting for the bootstrap provider to write the bootstrap data');
    }
    const bootstrap = await this.deps.client.get<Secret>(SECRET_TYPE, { namespace: km.metadata.namespace, name: dataSecretName });
    if (!bootstrap) return notReady(Reasons.waitingForBootstrapData, `bootstrap data Secret ${dataSecretName} not found yet`);

    // An externally managed KubevirtCluster has no key pair of ours; CAPK then adds no bootstrap user either.
    let keys: SSHKeys | undefined;
    if (kc.metadata.annotations?.[MANAGED_BY_ANNOTATION] === undefined) {
      const secret = await this.deps.client.get<Secret>(SECRET_TYPE, { namespace: kc.metadata.namespace, name: sshKeysSecretName(kc, cluster.metadata.name ?? '') });
      keys = readSSHKeys(secret);
      if (!keys) return notReady(Reasons.waitingForSSHKeys, 'waiting for the KubevirtCluster to create the SSH key pair');
    }

    // Kept in spec as CAPK does, so deletion still finds the infra cluster after the KubevirtCluster is gone.
    if (!km.spec.infraClusterSecretRef && kc.spec?.infraClusterSecretRef) km.spec.infraClusterSecretRef = { ...kc.spec.infraClusterSecretRef };
    let infra: InfraTarget;
    try {
      infra = await this.deps.connections.infra(km.spec.infraClusterSecretRef, km.metadata.namespace ?? '');
    } catch (err) {
      notReady(Reasons.infraClusterUnavailable, (err as Error).message);
      throw err;
    }
    if (infra.remote) await this.watchRemoteVMs(infra.remote);
    const template = km.spec.virtualMachineTemplate;
    const namespace = template.metadata?.namespace ?? infra.namespace;
    const vmName = km.metadata.name ?? '';
    const ref = { namespace, name: vmName };

    const request = cloudInitRequest(template.spec.template.spec);
    const { userdata } = renderUserdata(bootstrap, keys?.publicKey);
    const secretName = userdataSecretName(dataSecretName);
    const written = await ensureUserdataSecret(
      infra.client,
      desiredUserdataSecret({
        name: secretName,
        namespace,
        clusterName: cluster.metadata.name ?? '',
        machine: { name: vmName, namespace: km.metadata.namespace ?? '' },
        labels: bootstrap.metadata.labels, userdata, networkData: request.networkData }),
    );
    if (written !== 'unchanged') ctx.log.info({ secret: `${namespace}/${secretName}` }, `${written} userdata Secret`);

    const vm = await infra.client.get<VirtualMachine>(VIRTUAL_MACHINE_TYPE, ref);
    const vmi = await infra.client.get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, ref);
    const terminal = terminalState(vm, vmi);
    if (terminal) {
      if (status.failureMessage !== terminal) ctx.events.warning(Reasons.vmTerminal, 'ObserveVirtualMachine', terminal);
      status.failureReason = TERMINAL_FAILURE_REASON;
      status.failureMessage = terminal;
      return notReady(Reasons.vmTerminal, terminal);
    }
    if (!vm) {
      await this.createVM(s, infra.client, namespace, {
        source: request.source,
        secretName,
        networkDataSecretName: request.networkData !== undefined ? secretName : request.networkDataSecretName,
      });
      return notReady(Reasons.vmNotReady, 'VM created; waiting for it to start');
    }

    const providerID = providerIDFor(vmName);
    const evacuation: EvacuationDeps = {
      infra: infra.client,
      tenant: () => this.tenantClient(cluster).catch(() => undefined),
      events: ctx.events,
      now: this.deps.now ?? (() => new Date()),
    };
    if (needsEvacuation(vmi)) return evacuate(km, vmi, providerID, evacuation);
    await finishEvacuation(km, vmi, providerID, evacuation);

    if (!isVMIReady(vmi)) {
      const dvs = await this.dataVolumes(infra.client, namespace, vm);
      const why = notReadyReason(vm, vmi, dvs);
      return notReady(why.reason, why.message);
    }
    const addresses = machineAddresses(vmName, vmi);
    status.addresses = addresses;
    if (!addresses.some((a) => a.type === 'InternalIP')) return notReady(Reasons.vmNotReady, 'the VMI reports no IP address yet');
    markTrue(km, VM_PROVISIONED, Reasons.vmProvisioned);
    km.spec.providerID ??= providerID;
    const migratable = liveMigratable(vmi);
    if (migratable) setCondition(km, { type: VM_LIVE_MIGRATABLE, ...migratable });

    const bootstrapped = await this.checkBootstrap(s, keys, providerID, addresses.find((a) => a.type === 'InternalIP')?.address ?? '');
    if (bootstrapped) return bootstrapped;
    const nodeResult = await this.updateTenantNode(s, providerID);
    status.ready = true;
    status.initialization = { ...status.initialization, provisioned: true };
    return nodeResult;
  }

  private async kubevirtCluster(cluster: Cluster): Promise<KubevirtCluster | undefined> {
    const ref = cluster.spec?.infrastructureRef;
    if (ref?.kind !== KubevirtClusterGVK.kind) return undefined;
    return this.deps.client.get<KubevirtCluster>(KubevirtClusterGVK, { namespace: cluster.metadata.namespace, name: ref.name });
  }

  private async createVM(s: Scope, infra: Client, namespace: string, cloudInit: Parameters<typeof buildVirtualMachine>[0]['cloudInit']): Promise<void> {
    const { km, machine, cluster, ctx } = s;
    const vm = buildVirtualMachine({
      machine: { name: km.metadata.name ?? '', namespace: km.metadata.namespace ?? '' },
      namespace,
      clusterName: cluster.metadata.name ?? '',
      controlPlane: isControlPlaneMachine(machine),
      template: km.spec.virtualMachineTemplate,
      failureDomain: machine.spec?.failureDomain,
      cloudInit,
    });
    try {
      await infra.create(vm);
      ctx.events.normal('CreatedVirtualMachine', 'CreateVirtualMachine', `created VirtualMachine ${namespace}/${vm.metadata.name ?? ''}`);
      ctx.log.info({ vm: `${namespace}/${vm.metadata.name ?? ''}` }, 'created VirtualMachine');
    } catch (err) {
      // A run before a restart created it and our cache has not seen it yet: the name is the machine's, so this is
      // that same VM, never a second one.
      if (isAlreadyExists(err)) return;
      const wrapped = new Error(`create VM ${namespace}/${vm.metadata.name ?? ''}: ${(err as Error).message}`, { cause: err });
      markFalse(km, VM_PROVISIONED, Reasons.vmCreateFailed, wrapped.message);
      km.status = { ...km.status, ready: false };
      throw wrapped;
    }
  }

  private async dataVolumes(infra: Client, namespace: string, vm: VirtualMachine): Promise<DataVolume[]> {
    const out: DataVolume[] = [];
    for (const t of vm.spec?.dataVolumeTemplates ?? []) {
      const dv = await infra.get<DataVolume>(DATA_VOLUME_TYPE, { namespace, name: t.metadata.name ?? '' }, { direct: true });
      if (dv) out.push(dv);
    }
    return out;
  }

  /** Returns a Result while the guest has not bootstrapped, undefined once it has. */
  private async checkBootstrap(s: Scope, keys: SSHKeys | undefined, providerID: string, address: string): Promise<Result | undefined> {
    const { km } = s;
    if (isTrue(km, BOOTSTRAP_EXEC_SUCCEEDED)) return undefined;
    // CAPK reports every not-yet state of the check as BootstrapFailed (retried); the message says what it waits for.
    const waiting = (message: string, result: Result): Result => {
      markFalse(km, BOOTSTRAP_EXEC_SUCCEEDED, Reasons.bootstrapFailed, message);
      km.status = { ...km.status, ready: false };
      return result;
    };
    switch (km.spec.virtualMachineBootstrapCheck?.checkStrategy) {
      case 'none':
        markTrue(km, BOOTSTRAP_EXEC_SUCCEEDED, Reasons.bootstrapExecSucceeded, 'bootstrap check disabled (checkStrategy none)');
        return undefined;
      case 'ssh': {
        // An externally managed KubevirtCluster has no key pair, so nothing can log in. CAPK then reports the check
        // True with BootstrapCheckingNotSupported at once; waiting for the tenant Node instead keeps CAPK's outcome
        // and reason without calling a guest bootstrapped that never registered.
        if (!keys) return this.tenantNodeCheck(s, providerID, waiting, Reasons.bootstrapCheckingNotSupported, 'no SSH key pair to check with (externally managed KubevirtCluster); ');
        const check = await (this.deps.sshCheck ?? checkSentinelOverSSH)(address, keys.privateKey);
        if (!check.ok) return waiting(check.detail, requeueAfter(EXTERNAL_POLL_MS));
        markTrue(km, BOOTSTRAP_EXEC_SUCCEEDED, Reasons.bootstrapExecSucceeded, check.detail);
        return undefined;
      }
      default:
        return this.tenantNodeCheck(s, providerID, waiting, Reasons.bootstrapExecSucceeded, '');
    }
  }

  /** The guest counts as bootstrapped once it registered its tenant Node. */
  private async tenantNodeCheck(s: Scope, providerID: string, waiting: (message: string, result: Result) => Result, reason: string, why: string): Promise<Result | undefined> {
    const { km, cluster } = s;
    let tenant: Client;
    try {
      tenant = await this.tenantClient(cluster);
    } catch (err) {
      return waiting(`${why}tenant cluster not reachable yet: ${(err as Error).message}`, requeueAfter(EXTERNAL_POLL_MS));
    }
    const node = await findTenantNode(tenant, km.metadata.name ?? '', providerID);
    if (!node) return waiting(`${why}waiting for the guest to register tenant Node ${km.metadata.name ?? ''}`, done());
    markTrue(km, BOOTSTRAP_EXEC_SUCCEEDED, reason, `${why}tenant Node ${node.metadata.name ?? ''} registered`);
    return undefined;
  }

  /** Gives the tenant Node our providerID if the guest registered without one; Cluster API matches on it. */
  private async updateTenantNode(s: Scope, providerID: string): Promise<Result> {
    const { km, cluster, ctx } = s;
    const status = (km.status ??= {});
    if (status.nodeupdated === true) return done();
    let tenant: Client;
    try {
      tenant = await this.tenantClient(cluster);
    } catch (err) {
      ctx.log.debug({ err: (err as Error).message }, 'tenant cluster not reachable yet');
      return requeueAfter(EXTERNAL_POLL_MS);
    }
    const node = await findTenantNode(tenant, km.metadata.name ?? '', providerID);
    if (!node) return done(); // the Node watch brings us back
    const current = node.spec?.providerID;
    if (!current) {
      await setProviderID(tenant, node, providerID);
      ctx.events.normal('SetNodeProviderID', 'PatchNode', `set providerID ${providerID} on tenant Node ${node.metadata.name ?? ''}`);
    } else if (current !== providerID) {
      ctx.events.warning('ProviderIDMismatch', 'PatchNode', `tenant Node ${node.metadata.name ?? ''} has providerID ${current}, expected ${providerID}`);
      return done();
    }
    status.nodeupdated = true;
    return done();
  }

  private async tenantClient(cluster: Cluster): Promise<Client> {
    const remote = await this.deps.connections.tenant({ namespace: cluster.metadata.namespace, name: cluster.metadata.name ?? '' });
    const clusterNamespace = cluster.metadata.namespace ?? '';
    // A Node named after the VM (or carrying its providerID) belongs to the KubevirtMachine of that name.
    const toMachine = (obj: KubeObject): readonly string[] => {
      const pid = (obj as Node).spec?.providerID;
      const name = pid?.startsWith(PROVIDER_ID_PREFIX) ? pid.slice(PROVIDER_ID_PREFIX.length) : obj.metadata.name;
      return name ? [`${clusterNamespace}/${name}`] : [];
    };
    const relevant = (old: KubeObject, obj: KubeObject): boolean => {
      const a = old as Node;
      const b = obj as Node;
      return a.spec?.providerID !== b.spec?.providerID || a.spec?.unschedulable !== b.spec?.unschedulable || isNodeReady(a) !== isNodeReady(b);
    };
    await this.deps.connections.watch(remote, `tenant-nodes:${clusterNamespace}`, NODE_TYPE, toMachine, this.deps.enqueue, relevant);
    return remote.client;
  }

  private async watchRemoteVMs(remote: RemoteCluster): Promise<void> {
    await this.deps.connections.watch(remote, 'kubevirtmachine', VIRTUAL_MACHINE_TYPE, machineKeyOf, this.deps.enqueue);
    await this.deps.connections.watch(remote, 'kubevirtmachine', VIRTUAL_MACHINE_INSTANCE_TYPE, machineKeyOf, this.deps.enqueue);
  }

  private async reconcileDelete(km: KubevirtMachine, cluster: Cluster | undefined, ctx: ReconcileContext): Promise<Result> {
    if (getCondition(km, VM_PROVISIONED)?.reason !== Reasons.deleting) markFalse(km, VM_PROVISIONED, Reasons.deleting, 'deleting the VM');
    let ref = km.spec.infraClusterSecretRef;
    if (!ref && cluster) ref = (await this.kubevirtCluster(cluster))?.spec?.infraClusterSecretRef;
    let infra: InfraTarget;
    try {
      infra = await this.deps.connections.infra(ref, km.metadata.namespace ?? '');
    } catch (err) {
      ctx.events.warning(Reasons.infraClusterUnavailable, 'DeleteVirtualMachine', `cannot reach the infra cluster: ${(err as Error).message}`);
      throw err;
    }
    if (infra.remote) await this.watchRemoteVMs(infra.remote);
    const namespace = km.spec.virtualMachineTemplate.metadata?.namespace ?? infra.namespace;
    const vmRef = { namespace, name: km.metadata.name ?? '' };
    const vm = await infra.client.get<VirtualMachine>(VIRTUAL_MACHINE_TYPE, vmRef, { direct: true });
    if (vm) {
      if (!vm.metadata.deletionTimestamp) {
        await infra.client.delete(VIRTUAL_MACHINE_TYPE, vmRef);
        ctx.events.normal('DeletedVirtualMachine', 'DeleteVirtualMachine', `deleting VirtualMachine ${namespace}/${vmRef.name}`);
      }
      return done(); // the VM's deletion event brings us back
    }
    const deleted = await deleteUserdataSecrets(infra.client, namespace, { name: vmRef.name, namespace: km.metadata.namespace ?? '' });
    if (deleted > 0) ctx.log.info({ namespace, deleted }, 'deleted userdata Secret');
    removeFinalizer(km, MACHINE_FINALIZER);
    return done();
  }
}
