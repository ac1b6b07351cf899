// Wires the CCM's controllers into a manager on the tenant cluster: what each reconciles, and how changes on the
// infra side (infra Services, VMs, VMIs) map back to tenant keys, since the manager's own watches see only the tenant.
import { NODE_TYPE, SERVICE_TYPE, type Node, type Service } from '../lib/apis/core.js';
import { ENDPOINT_SLICE_TYPE, SERVICE_NAME_LABEL, type EndpointSlice } from '../lib/apis/discovery.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, VIRTUAL_MACHINE_TYPE } from '../lib/apis/kubevirt.js';
import type { Manager } from '../lib/controller/manager.js';
import type { Predicate } from '../lib/controller/predicates.js';
import type { KubeObject, TypeMeta } from '../lib/kube/object.js';
import { isDeepStrictEqual } from 'node:util';
import type { CcmOptions } from './config/options.js';
import { belongsToCluster } from './instances/cluster-scope.js';
import { EndpointSliceReconciler } from './loadbalancer/endpointslice-controller.js';
import { hasNoSelector } from './loadbalancer/infra-endpointslices.js';
import { connectInfraCluster, type InfraCluster } from './infra-cluster.js';
import { instanceIdOf } from './instances/instance-metadata.js';
import { tenantKeyOf } from './loadbalancer/infra-service.js';
import { ServiceReconciler } from './loadbalancer/service-controller.js';
import { NodeReconciler } from './node/node-controller.js';

export const FIELD_MANAGER = 'kvcloud-ccm';

/** Feeds an infra kind's events to a tenant controller's queue through `map`. */
async function forwardInfraEvents(infra: InfraCluster, type: TypeMeta, controller: { queue: { add(key: string): void } }, map: (obj: KubeObject) => readonly string[]): Promise<void> {
  const informer = await infra.cache.informerFor(type);
  const enqueue = (obj: KubeObject): void => {
    for (const key of map(obj)) controller.queue.add(key);
  };
  informer.addEventHandler({ onAdd: enqueue, onUpdate: (old, obj) => { enqueue(old); enqueue(obj); }, onDelete: enqueue });
}

// Kubelet heartbeats rewrite Node status every few seconds; only what the node controller reads matters.
const nodeChanged: Predicate<Node> = {
  update: (old, obj) =>
    !isDeepStrictEqual(old.spec, obj.spec) ||
    !isDeepStrictEqual(old.metadata.labels, obj.metadata.labels) ||
    !isDeepStrictEqual(old.status?.addresses, obj.status?.addresses),
};

export async function setupControllers(manager: Manager, options: CcmOptions): Promise<void> {
  const { cloudConfig, clusterName } = options;
  const infra = await connectInfraCluster(cloudConfig, { fieldManager: FIELD_MANAGER, log: manager.log, metrics: manager.metrics });
  manager.log.info({ infraNamespace: infra.namespace, clusterName }, 'connected to the infra cluster');
  // Registered before anything else is added, so it stops last: the controllers drain before the infra cache goes.
  manager.add({ name: 'infra-cluster', needLeaderElection: false, start: () => undefined, stop: () => infra.close() });
  manager.addReadyCheck({
    name: 'infra-informers-synced',
    check: () => {
      const { synced, waitingFor } = infra.cache.syncedNow();
      return synced ? undefined : `waiting for infra ${waitingFor.join(', ') || 'caches'}`;
    },
  });

  if (cloudConfig.loadBalancer.enabled) {
    const services = manager
      .controller<Service>('service-lb-controller')
      .for(SERVICE_TYPE)
      .complete(new ServiceReconciler({ infra: infra.client, namespace: infra.namespace, clusterName, config: cloudConfig }));
    await forwardInfraEvents(infra, SERVICE_TYPE, services, (svc) => {
      const key = tenantKeyOf(svc, clusterName);
      return key ? [key] : [];
    });
  }

  if (cloudConfig.loadBalancer.enabled && cloudConfig.loadBalancer.enableEPSController) {
    // A tenant EndpointSlice names its Service in a label; the infra side maps back through the tenant labels.
    const slices = manager
      .controller<Service>('kubevirt-eps-controller')
      .for(SERVICE_TYPE)
      .watches<EndpointSlice>(ENDPOINT_SLICE_TYPE, (slice) => {
        const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
        return service && slice.metadata.namespace ? [`${slice.metadata.namespace}/${service}`] : [];
      })
      .withoutAutomaticPatch()
      .complete(new EndpointSliceReconciler({ infra: infra.client, namespace: infra.namespace, clusterName, config: cloudConfig }));
    const tenantKey = (obj: KubeObject): string[] => {
      const key = tenantKeyOf(obj, clusterName);
      return key ? [key] : [];
    };
    await forwardInfraEvents(infra, SERVICE_TYPE, slices, tenantKey);
    await forwardInfraEvents(infra, ENDPOINT_SLICE_TYPE, slices, tenantKey);
    // A VMI starting, stopping or changing address touches every selectorless infra Service of this cluster.
    const servicesInfraSlicesFill = await infra.cache.informerFor<Service>(SERVICE_TYPE);
    await forwardInfraEvents(infra, VIRTUAL_MACHINE_INSTANCE_TYPE, slices, (vmi) =>
      belongsToCluster(vmi, clusterName) ? servicesInfraSlicesFill.store.list().filter(hasNoSelector).flatMap(tenantKey) : [],
    );
  }

  if (cloudConfig.instancesV2.enabled) {
    const nodes = manager
      .controller<Node>('cloud-node-controller')
      .for(NODE_TYPE, { predicates: [nodeChanged] })
      .withoutAutomaticPatch()
      .complete(new NodeReconciler({ infra: infra.client, namespace: infra.namespace, clusterName, config: cloudConfig.instancesV2 }));
    // A VM or VMI maps to the Nodes that name it, or carry its name before they have a providerID.
    const nodesOf = (obj: KubeObject): string[] =>
      (manager.cache.createdInformer<Node>(NODE_TYPE)?.store.list() ?? [])
        .filter((n) => instanceIdOf(n) === obj.metadata.name || n.metadata.name === obj.metadata.name)
        .map((n) => n.metadata.name ?? '');
    for (const type of [VIRTUAL_MACHINE_INSTANCE_TYPE, VIRTUAL_MACHINE_TYPE]) {
      await forwardInfraEvents(infra, type, nodes, nodesOf);
    }
  }
}
