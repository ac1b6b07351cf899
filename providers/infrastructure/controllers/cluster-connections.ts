// The clusters a KubevirtCluster/KubevirtMachine acts on besides the management cluster: the infra cluster its
// VMs run in (the management cluster itself, or an external one named by infraClusterSecretRef) and the tenant
// cluster (through <cluster>-kubeconfig). Remote reads are cached like local ones; remote changes are fed back
// into our work queues through informer handlers, so remote clusters need no polling either.
import type { Logger } from 'pino';
import type { Client } from '../../../lib/kube/client.js';
import type { ClusterAccessCache } from '../../../lib/kube/cluster-access-cache.js';
import { describeType, type KubeObject, type ObjectRef, type TypeMeta } from '../../../lib/kube/object.js';
import type { RemoteCluster } from '../../../lib/controller/remote-cluster.js';

export interface InfraClusterSecretRef {
  name?: string | undefined;
  namespace?: string | undefined;
}

/** Where one object's VMs (and Services) live. */
export interface InfraTarget {
  client: Client;
  /** Namespace for the VMs / Services unless a template names one. */
  namespace: string;
  /** Set for an external infra cluster. */
  remote: RemoteCluster | undefined;
}

export type RemoteEventMapper = (obj: KubeObject) => readonly string[];

export class ClusterConnections {
  private readonly hooked = new WeakMap<RemoteCluster, Set<string>>();

  constructor(
    private readonly management: Client,
    private readonly access: ClusterAccessCache<RemoteCluster>,
    private readonly log: Logger,
  ) {}

  /**
   * The infra cluster for an object in `ownerNamespace`: the management cluster without a secret reference, else
   * the referenced kubeconfig's cluster, whose namespace defaults to the Secret's `namespace` key, then ours.
   */
  async infra(ref: InfraClusterSecretRef | undefined, ownerNamespace: string): Promise<InfraTarget> {
    if (!ref?.name) return { client: this.management, namespace: ownerNamespace, remote: undefined };
    const remote = await this.access.infra({ namespace: ref.namespace ?? ownerNamespace, name: ref.name });
    return { client: remote.client, namespace: remote.namespace ?? ownerNamespace, remote };
  }

  tenant(cluster: ObjectRef): Promise<RemoteCluster> {
    return this.access.tenant(cluster);
  }

  forgetTenant(cluster: ObjectRef): Promise<void> {
    return this.access.forgetTenant(cluster);
  }

  /**
   * Feeds a remote kind's events into `enqueue`, once per connection and purpose (a rebuilt connection gets
   * its own handlers; the old ones go away with its informers).
   */
  async watch(
    remote: RemoteCluster,
    purpose: string,
    type: TypeMeta,
    map: RemoteEventMapper,
    enqueue: (key: string) => void,
    changed: (old: KubeObject, obj: KubeObject) => boolean = () => true,
  ): Promise<void> {
    let done = this.hooked.get(remote);
    if (!done) this.hooked.set(remote, (done = new Set()));
    const id = `${purpose}|${describeType(type)}`;
    if (done.has(id)) return;
    done.add(id);
    const informer = await remote.cache.informerFor(type);
    const push = (obj: KubeObject): void => {
      for (const key of map(obj)) enqueue(key);
    };
    informer.addEventHandler({
      onAdd: push,
      onUpdate: (old, obj) => {
        if (old === obj || changed(old, obj)) push(obj);
      },
      onDelete: push,
    });
    this.log.debug({ purpose, kind: describeType(type) }, 'watching remote kind');
  }
}
