// The two clusters the CCM's reconcilers act on, as in-memory apiservers: the tenant (Services, EndpointSlices,
// Nodes) and the infra cluster (the same, plus VMs and VMIs). A pass runs one reconcile as the toolkit's controller
// does and returns what the tenant apiserver holds afterwards, the Events it recorded and the writes each side got.
import { NODE_TYPE, SERVICE_TYPE } from '../lib/apis/core.js';
import { ENDPOINT_SLICE_TYPE } from '../lib/apis/discovery.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, VIRTUAL_MACHINE_TYPE } from '../lib/apis/kubevirt.js';
import { InformerCache } from '../lib/controller/informer-cache.js';
import { PatchHelper } from '../lib/controller/patch-helper.js';
import type { Reconciler, Result } from '../lib/controller/reconciler.js';
import { Client } from '../lib/kube/client.js';
import type { KubeObject, TypeMeta } from '../lib/kube/object.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import { createLogger } from '../lib/observability/logger.js';
import { FakeApiServer, type FakeResource, type RecordedRequest } from '../lib/testing/fake-apiserver.js';
import { defaultCloudConfig, type CloudConfig } from './config/cloud-config.js';

export const INFRA_NS = 'tenant-acme';
export const CLUSTER = 'acme';

const CORE: FakeResource[] = [
  { ...SERVICE_TYPE, resource: 'services', namespaced: true, statusSubresource: true },
  { ...NODE_TYPE, resource: 'nodes', namespaced: false, statusSubresource: true },
  { apiVersion: 'events.k8s.io/v1', kind: 'Event', resource: 'events', namespaced: true },
  { ...ENDPOINT_SLICE_TYPE, resource: 'endpointslices', namespaced: true },
];
const KUBEVIRT: FakeResource[] = [
  { ...VIRTUAL_MACHINE_TYPE, resource: 'virtualmachines', namespaced: true, statusSubresource: true },
  { ...VIRTUAL_MACHINE_INSTANCE_TYPE, resource: 'virtualmachineinstances', namespaced: true, statusSubresource: true },
];

export interface RecordedEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  note: string;
}

export interface Pass<T> {
  result: Result | undefined;
  error: Error | undefined;
  /** Undefined when the object is gone. */
  stored: T | undefined;
  events: RecordedEvent[];
  tenantWrites: RecordedRequest[];
  infraWrites: RecordedRequest[];
}

function serve(resources: FakeResource[]): FakeApiServer {
  const api = new FakeApiServer();
  for (const r of resources) api.serve(r);
  return api;
}

export class CcmEnv {
  readonly tenantApi = serve(CORE);
  readonly tenant = new Client({ transport: this.tenantApi, mapper: new RestMapper(this.tenantApi), fieldManager: 'kvcloud-ccm' });
  readonly infraApi: FakeApiServer;
  readonly infra: Client;
  readonly config: CloudConfig = defaultCloudConfig();
  private readonly cache = new InformerCache({ transport: this.tenantApi, mapper: new RestMapper(this.tenantApi) });

  /** `infraApi`: another env's, for a second tenant sharing the first one's infra cluster. */
  constructor(infraApi?: FakeApiServer) {
    this.infraApi = infraApi ?? serve([...CORE, ...KUBEVIRT]);
    this.infra = new Client({ transport: this.infraApi, mapper: new RestMapper(this.infraApi), fieldManager: 'kvcloud-ccm' });
  }

  /** One reconcile of the tenant object; `autoPatch` false for reconcilers that write their object themselves. */
  async pass<T extends KubeObject>(reconciler: Reconciler<T>, type: TypeMeta, ref: { namespace?: string; name: string }, autoPatch = true): Promise<Pass<T>> {
    const obj = await this.tenant.get<T>(type, ref);
    if (!obj) throw new Error(`${type.kind} ${ref.namespace ?? ''}/${ref.name} not found`);
    const events: RecordedEvent[] = [];
    const tenantBefore = this.tenantApi.writes().length;
    const infraBefore = this.infraApi.writes().length;
    const helper = PatchHelper.snapshot(this.tenant, obj);
    let result: Result | undefined;
    let error: Error | undefined;
    try {
      result = await reconciler.reconcile(obj, {
        controller: 'test',
        reconcileID: 'test',
        key: ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name,
        log: createLogger({ level: 'silent' }),
        events: {
          normal: (reason, _action, note) => events.push({ type: 'Normal', reason, note }),
          warning: (reason, _action, note) => events.push({ type: 'Warning', reason, note }),
          record: (input) => events.push({ type: input.type, reason: input.reason, note: input.note }),
        },
        client: this.tenant,
        cache: this.cache,
      });
    } catch (err) {
      error = err as Error;
    }
    if (autoPatch) await helper.patch(obj);
    const key = ref.namespace ? `${ref.namespace}/${ref.name}` : ref.name;
    return {
      result,
      error,
      stored: this.tenantApi.peek(type.apiVersion, type.kind, key) as T | undefined,
      events,
      tenantWrites: this.tenantApi.writes().slice(tenantBefore),
      infraWrites: this.infraApi.writes().slice(infraBefore),
    };
  }
}
