// A management cluster for the autoscaler provider's unit tests: an in-memory apiserver with Cluster API's kinds,
// KubevirtMachines, KubevirtMachineTemplates and Events, read through a running informer cache as the server reads
// it in production.
import { Registry } from 'prom-client';
import { MACHINE_DEPLOYMENT_NAME_LABEL, MACHINE_DEPLOYMENT_TYPE, MACHINE_TYPE, type Condition, type Machine, type MachineDeployment } from '../../lib/apis/cluster-api.js';
import { INFRASTRUCTURE_GROUP, KUBEVIRT_MACHINE_TYPE, type KubevirtMachineContract } from '../../lib/apis/kubevirt-infrastructure.js';
import { EventRecorder } from '../../lib/controller/event-recorder.js';
import { InformerCache } from '../../lib/controller/informer-cache.js';
import { Client } from '../../lib/kube/client.js';
import { RestMapper } from '../../lib/kube/rest-mapper.js';
import { createLogger } from '../../lib/observability/logger.js';
import { FakeApiServer } from '../../lib/testing/fake-apiserver.js';
import { CLUSTER_NAME_LABEL, KUBEVIRT_MACHINE_TEMPLATE_TYPE, NODE_GROUP_MAX_SIZE_ANNOTATION, NODE_GROUP_MIN_SIZE_ANNOTATION } from './api/annotations.js';
import { CloudProvider, MACHINE_PROVIDER_ID_INDEX, machineProviderIDs, type Scope } from './cloud-provider.js';
import { AutoscalerMetrics } from './metrics.js';
import type { MachineTemplate } from './template-node.js';

export const NS = 'tenants';

export function machineDeployment(name: string, opts: { replicas: number; min?: string; max?: string; cluster?: string; namespace?: string; annotations?: Record<string, string> }): MachineDeployment {
  const annotations: Record<string, string> = { ...opts.annotations };
  if (opts.min !== undefined) annotations[NODE_GROUP_MIN_SIZE_ANNOTATION] = opts.min;
  if (opts.max !== undefined) annotations[NODE_GROUP_MAX_SIZE_ANNOTATION] = opts.max;
  const cluster = opts.cluster ?? 'acme';
  return {
    ...MACHINE_DEPLOYMENT_TYPE,
    metadata: { namespace: opts.namespace ?? NS, name, annotations, labels: { [CLUSTER_NAME_LABEL]: cluster } },
    spec: {
      clusterName: cluster,
      replicas: opts.replicas,
      selector: { matchLabels: { [MACHINE_DEPLOYMENT_NAME_LABEL]: name } },
      template: {
        metadata: { labels: { 'node-role.kubernetes.io/worker': '', 'app.example.com/ignored': 'x' } },
        spec: { clusterName: cluster, infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'KubevirtMachineTemplate', name: `${name}-template` } },
      },
    },
  };
}

export function machine(name: string, md: string, opts: { providerID?: string; node?: string; created?: string; namespace?: string; annotations?: Record<string, string>; conditions?: NonNullable<Machine['status']>['conditions'] } = {}): Machine {
  const infrastructureRef = { apiGroup: INFRASTRUCTURE_GROUP, kind: KUBEVIRT_MACHINE_TYPE.kind, name };
  return {
    ...MACHINE_TYPE,
    metadata: {
      namespace: opts.namespace ?? NS,
      name,
      labels: { [MACHINE_DEPLOYMENT_NAME_LABEL]: md, [CLUSTER_NAME_LABEL]: 'acme' },
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      ...(opts.created ? { creationTimestamp: opts.created } : {}),
    },
    spec: { clusterName: 'acme', infrastructureRef, ...(opts.providerID ? { providerID: opts.providerID } : {}) },
    status: { ...(opts.node ? { nodeRef: { name: opts.node } } : {}), ...(opts.conditions ? { conditions: opts.conditions } : {}) },
  };
}

/** The KubevirtMachine of machine(name, ...), as the infrastructure provider reports it. */
export function kubevirtMachine(name: string, conditions: Condition[]): KubevirtMachineContract {
  return { ...KUBEVIRT_MACHINE_TYPE, metadata: { namespace: NS, name }, status: { conditions } };
}

export function machineTemplate(name: string, capacity: Record<string, string> | undefined, gpus: string[] = []): MachineTemplate {
  return {
    ...KUBEVIRT_MACHINE_TEMPLATE_TYPE,
    metadata: { namespace: NS, name },
    spec: { template: { spec: { virtualMachineTemplate: { spec: { template: { spec: { domain: { devices: { gpus: gpus.map((deviceName) => ({ deviceName })) } } } } } } } } },
    ...(capacity ? { status: { capacity, nodeInfo: { architecture: 'arm64', operatingSystem: 'linux' } } } : {}),
  };
}

export class Env {
  readonly api = new FakeApiServer()
    .serve({ ...MACHINE_DEPLOYMENT_TYPE, resource: 'machinedeployments', namespaced: true, statusSubresource: true })
    .serve({ ...MACHINE_TYPE, resource: 'machines', namespaced: true, statusSubresource: true })
    .serve({ ...KUBEVIRT_MACHINE_TEMPLATE_TYPE, resource: 'kubevirtmachinetemplates', namespaced: true, statusSubresource: true })
    .serve({ ...KUBEVIRT_MACHINE_TYPE, resource: 'kubevirtmachines', namespaced: true, statusSubresource: true })
    .serve({ apiVersion: 'events.k8s.io/v1', kind: 'Event', resource: 'events', namespaced: true });
  readonly registry = new Registry();
  readonly metrics = new AutoscalerMetrics(this.registry);
  readonly log = createLogger({ level: 'silent' });
  readonly cache: InformerCache;
  readonly client: Client;
  readonly recorder: EventRecorder;
  readonly provider: CloudProvider;

  constructor(scope?: Scope) {
    const mapper = new RestMapper(this.api);
    this.cache = new InformerCache({ transport: this.api, mapper });
    const direct = new Client({ transport: this.api, mapper, fieldManager: 'kvcloud-autoscaler' });
    this.client = direct.withCache(this.cache);
    this.recorder = new EventRecorder({ client: direct, reportingController: 'kvcloud.io/autoscaler', reportingInstance: 'test' });
    // Registered before the Machine informer exists, so it is built with the index.
    void this.cache.addIndex(MACHINE_TYPE, MACHINE_PROVIDER_ID_INDEX, machineProviderIDs);
    this.provider = new CloudProvider({ client: this.client, index: this.cache, recorder: this.recorder, metrics: this.metrics, log: this.log, ...(scope ? { scope } : {}) });
    this.cache.start();
  }

  /** Writes objects and waits until the cache has them, as a later watch event would deliver them. */
  async seed(...objs: (MachineDeployment | Machine | MachineTemplate | KubevirtMachineContract)[]): Promise<void> {
    for (const o of objs) this.api.seed(o);
    await this.synced();
  }

  /** Waits until every object the apiserver holds is in the cache at the same resourceVersion. */
  async synced(): Promise<void> {
    for (const type of [MACHINE_DEPLOYMENT_TYPE, MACHINE_TYPE, KUBEVIRT_MACHINE_TEMPLATE_TYPE, KUBEVIRT_MACHINE_TYPE]) {
      const deadline = Date.now() + 2000;
      for (;;) {
        const want = (await this.client.list(type, { direct: true })).map((o) => `${o.metadata.name ?? ''}@${o.metadata.resourceVersion ?? ''}`).sort();
        const have = (await this.client.list(type)).map((o) => `${o.metadata.name ?? ''}@${o.metadata.resourceVersion ?? ''}`).sort();
        if (want.join() === have.join()) break;
        if (Date.now() > deadline) throw new Error(`cache of ${type.kind} not synced: want ${want.join()}, have ${have.join()}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
  }

  md(name: string): MachineDeployment | undefined {
    return this.api.peek(MACHINE_DEPLOYMENT_TYPE.apiVersion, MACHINE_DEPLOYMENT_TYPE.kind, `${NS}/${name}`) as MachineDeployment | undefined;
  }

  machine(name: string): Machine | undefined {
    return this.api.peek(MACHINE_TYPE.apiVersion, MACHINE_TYPE.kind, `${NS}/${name}`) as Machine | undefined;
  }

  /** The reasons of the Events recorded so far, after flushing the recorder. */
  async eventReasons(): Promise<string[]> {
    await this.recorder.flush();
    await new Promise((r) => setImmediate(r));
    const events = await this.client.list<{ metadata: { name?: string }; reason?: string; note?: string } & MachineDeployment>({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { direct: true });
    return events.map((e) => `${e.reason ?? ''}: ${e.note ?? ''}`);
  }

  async close(): Promise<void> {
    await this.recorder.close();
    await this.cache.stop();
  }
}
