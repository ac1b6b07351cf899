// Wires the three infrastructure controllers into a manager: what each reconciles, the kinds whose changes
// reach it and how they map to keys, and the connections to infra and tenant clusters they share.
import type { Manager } from '../../../lib/controller/manager.js';
import type { Informer } from '../../../lib/controller/informer.js';
import { NAMESPACE_INDEX } from '../../../lib/controller/indexers.js';
import { ownerOfType } from '../../../lib/controller/owner-references.js';
import { generationChanged, type Predicate } from '../../../lib/controller/predicates.js';
import { connectRemoteCluster, type RemoteCluster } from '../../../lib/controller/remote-cluster.js';
import { ClusterAccessCache } from '../../../lib/kube/cluster-access-cache.js';
import { groupOf, type KubeObject } from '../../../lib/kube/object.js';
import { CLUSTER_TYPE, MACHINE_TYPE, type Cluster, type Machine } from '../../../lib/apis/cluster-api.js';
import { NODE_TYPE, SERVICE_TYPE, TOPOLOGY_ZONE_LABEL } from '../../../lib/apis/core.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, VIRTUAL_MACHINE_TYPE } from '../../../lib/apis/kubevirt.js';
import {
  CLUSTER_NAME_LABEL,
  CONTROL_PLANE_SERVICE_SUFFIX,
  KubevirtClusterGVK,
  KubevirtMachineGVK,
  KubevirtMachineTemplateGVK,
  PAUSED_ANNOTATION,
  type KubevirtCluster,
  type KubevirtMachine,
  type KubevirtMachineTemplate,
} from '../api/index.js';
import { ClusterConnections } from './cluster-connections.js';
import { KubevirtClusterReconciler } from './kubevirtcluster.js';
import { KubevirtMachineReconciler, machineKeyOf } from './kubevirtmachine.js';
import { KubevirtMachineTemplateReconciler } from './kubevirtmachinetemplate.js';

export const FIELD_MANAGER = 'kvcloud-infrastructure';

export interface InfrastructureControllers {
  /** Closes the infra and tenant cluster connections; the manager stops the controllers. */
  close(): Promise<void>;
}

// Cluster updates that matter to us; its status churns with every Machine otherwise.
const clusterChanged: Predicate<Cluster> = {
  update: (old, obj) =>
    old.spec?.paused !== obj.spec?.paused ||
    old.metadata.annotations?.[PAUSED_ANNOTATION] !== obj.metadata.annotations?.[PAUSED_ANNOTATION] ||
    old.status?.initialization?.infrastructureProvisioned !== obj.status?.initialization?.infrastructureProvisioned ||
    old.status?.initialization?.controlPlaneInitialized !== obj.status?.initialization?.controlPlaneInitialized ||
    old.spec?.infrastructureRef?.name !== obj.spec?.infrastructureRef?.name,
};

function byClusterName<T extends KubeObject>(informer: Informer<T>, namespace: string | undefined, clusterName: string): string[] {
  return informer.store
    .byIndex(NAMESPACE_INDEX, namespace ?? '')
    .filter((o) => o.metadata.labels?.[CLUSTER_NAME_LABEL] === clusterName || ownerOfType(o, CLUSTER_TYPE)?.name === clusterName)
    .map((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`);
}

export async function setupControllers(manager: Manager): Promise<InfrastructureControllers> {
  const access = new ClusterAccessCache<RemoteCluster>({
    client: manager.client,
    connect: (kubeConfig, info) =>
      connectRemoteCluster(kubeConfig, { fieldManager: FIELD_MANAGER, namespace: info.namespace, log: manager.log.child({ cluster: info.key }), metrics: manager.metrics }),
    log: manager.log,
  });
  const connections = new ClusterConnections(manager.client, access, manager.log);
  const machines = await manager.cache.informerFor<KubevirtMachine>(KubevirtMachineGVK);
  const clusters = await manager.cache.informerFor<KubevirtCluster>(KubevirtClusterGVK);

  // --- KubevirtCluster
  const clusterReconciler = new KubevirtClusterReconciler({ client: manager.client, connections, enqueue: (key) => { clusterController.queue.add(key); } });
  const clusterController = manager
    .controller<KubevirtCluster>('kubevirtcluster')
    // Externally managed ones too: their deletion removes the template's extras (the reconciler leaves the rest).
    .for(KubevirtClusterGVK)
    .watches<Cluster>(
      CLUSTER_TYPE,
      (c) => (c.spec?.infrastructureRef?.kind === KubevirtClusterGVK.kind ? [`${c.metadata.namespace ?? ''}/${c.spec.infrastructureRef.name}`] : []),
      { predicates: [clusterChanged] },
    )
    // The <cluster>-lb Service of a KubevirtCluster in the management cluster: its address is our endpoint.
    .watches(
      SERVICE_TYPE,
      (svc) => {
        const clusterName = svc.metadata.labels?.[CLUSTER_NAME_LABEL];
        if (!clusterName || svc.metadata.name !== `${clusterName}${CONTROL_PLANE_SERVICE_SUFFIX}`) return [];
        return clusters.store.list().filter((kc) => ownerOfType(kc, CLUSTER_TYPE)?.name === clusterName).map((kc) => `${kc.metadata.namespace ?? ''}/${kc.metadata.name ?? ''}`);
      },
    )
    // Infra zones (failure domains) follow the Nodes' zone labels; heartbeats are filtered out.
    .watches(
      NODE_TYPE,
      () => clusters.store.list().filter((kc) => !kc.spec?.infraClusterSecretRef?.name).map((kc) => `${kc.metadata.namespace ?? ''}/${kc.metadata.name ?? ''}`),
      { predicates: [{ update: (old, obj) => old.metadata.labels?.[TOPOLOGY_ZONE_LABEL] !== obj.metadata.labels?.[TOPOLOGY_ZONE_LABEL] }] },
    )
    .complete(clusterReconciler);

  // --- KubevirtMachine
  const machineReconciler = new KubevirtMachineReconciler({ client: manager.client, connections, enqueue: (key) => { machineController.queue.add(key); } });
  const machineController = manager
    .controller<KubevirtMachine>('kubevirtmachine')
    .for(KubevirtMachineGVK)
    .watches<Machine>(MACHINE_TYPE, (m) => {
      const ref = m.spec?.infrastructureRef;
      return ref?.kind === KubevirtMachineGVK.kind && ref.apiGroup === groupOf(KubevirtMachineGVK.apiVersion) ? [`${m.metadata.namespace ?? ''}/${ref.name}`] : [];
    })
    .watches<Cluster>(CLUSTER_TYPE, (c) => byClusterName(machines, c.metadata.namespace, c.metadata.name ?? ''), { predicates: [clusterChanged] })
    .watches<KubevirtCluster>(KubevirtClusterGVK, (kc) => {
      const clusterName = ownerOfType(kc, CLUSTER_TYPE)?.name ?? kc.metadata.labels?.[CLUSTER_NAME_LABEL];
      return clusterName ? byClusterName(machines, kc.metadata.namespace, clusterName) : [];
    })
    // VMs in the management cluster; an external infra cluster's are watched through its connection. Without
    // KubeVirt here (external infra only) a watch that could never sync would hold the controller back, so these
    // connect once kubevirt.io/v1 is served, if ever.
    .watches(VIRTUAL_MACHINE_TYPE, machineKeyOf, { whenServed: true })
    .watches(VIRTUAL_MACHINE_INSTANCE_TYPE, machineKeyOf, { whenServed: true })
    .complete(machineReconciler);

  // --- KubevirtMachineTemplate
  manager
    .controller<KubevirtMachineTemplate>('kubevirtmachinetemplate')
    .for(KubevirtMachineTemplateGVK, { predicates: [generationChanged()] })
    .complete(new KubevirtMachineTemplateReconciler());

  return { close: () => access.close() };
}
