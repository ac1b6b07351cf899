// Keeps the data plane equal to one Service and its EndpointSlices: where it listens (frontends) and where each
// port forwards (endpoints). It writes nothing to the apiserver.
import type { KubeObject } from '../../../lib/kube/object.js';
import { objectKey, type ObjectRef } from '../../../lib/kube/object.js';
import { done, type ReconcileContext, type Reconciler, type Result } from '../../../lib/controller/reconciler.js';
import type { Dataplane } from './dataplane.js';
import { selectEndpoints } from './endpoint-selection.js';
import { serviceFrontends } from './frontends.js';
import { ENDPOINT_SLICE, SERVICE_NAME_LABEL, type EndpointSlice, type Service } from './service-api.js';

/** EndpointSlice events reconcile the Service the slice belongs to. */
export function sliceOwner(slice: KubeObject): string[] {
  const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  return service && slice.metadata.namespace ? [`${slice.metadata.namespace}/${service}`] : [];
}

export class ServiceProxyReconciler implements Reconciler<Service> {
  constructor(
    private readonly dataplane: Dataplane,
    private readonly nodeAddresses: readonly string[],
    /** The one Node this proxy serves, where traffic policies Local narrow; undefined on the management cluster. */
    private readonly nodeName?: string,
  ) {}

  async reconcile(service: Service, ctx: ReconcileContext): Promise<Result> {
    const ports = serviceFrontends(service, this.nodeAddresses);
    const slices =
      ports.length === 0
        ? []
        : await ctx.cache.list<EndpointSlice>(ENDPOINT_SLICE, {
            namespace: service.metadata.namespace,
            labelSelector: `${SERVICE_NAME_LABEL}=${service.metadata.name ?? ''}`,
          });
    await this.dataplane.apply(
      objectKey(service),
      ports.map((port) => ({
        ...port,
        endpoints: selectEndpoints(slices, port),
        localEndpoints: this.nodeName === undefined ? undefined : selectEndpoints(slices, port, this.nodeName),
      })),
    );
    return done();
  }

  async reconcileMissing(ref: ObjectRef): Promise<Result> {
    await this.dataplane.apply(objectKey(ref), []);
    return done();
  }
}
