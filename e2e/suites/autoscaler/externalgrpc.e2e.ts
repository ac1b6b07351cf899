// cluster-autoscaler's externalgrpc protocol against a real tenant cluster (the shared fixture: clusterctl, a Cluster
// of the default flavor with one worker whose MachineDeployment is a node group, and a second MachineDeployment at
// zero). kvcloud's externalgrpc server runs as its main.ts wires it, and a client built from the same pinned proto,
// over mutual TLS as cluster-autoscaler dials, drives every RPC: IncreaseSize (two at once) makes VMs that join and
// take a pending pod, DeleteNodes removes exactly the named nodes' Machines (the same node asked for twice lowers the
// replicas once), limits, unknown groups and malformed requests get their codes, and the group at zero describes its
// nodes from the template's capacity. The same manager's per-Cluster controller gives the annotated Cluster its
// cluster-autoscaler Deployment and RBAC, and takes them away with the annotation.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import { expect } from 'chai';
import type { Cluster, Machine, MachineDeployment } from '../../../lib/apis/cluster-api.js';
import { CLUSTER_TYPE, MACHINE_DEPLOYMENT_TYPE } from '../../../lib/apis/cluster-api.js';
import type { KubeObject } from '../../../lib/kube/object.js';
import { TEST_ECHO_IMAGE } from '../../../localcloud/cluster/images.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { waitFor } from '../../../localcloud/wait.js';
import { CLUSTER_AUTOSCALER_ANNOTATION } from '../../../providers/autoscaler/api/annotations.js';
import { decodeNode } from '../../../providers/autoscaler/externalgrpc/protos.js';
import {
  CLUSTER_AUTOSCALER_SELECTOR,
  clusterAutoscalerAccess,
  clusterAutoscalerObjects,
  dialExternalGrpc,
  startAutoscalerTenant,
  type AutoscalerTenant,
  type ExternalGrpcCall,
  type ExternalGrpcServer,
} from '../../harness/autoscaler-tenant.js';
import { getJSON, waitForRunningMachines, type WorkloadPlace } from '../../harness/clusterctl/kvcloud-workload.js';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const NAMESPACE = 'autoscaled';
const CLUSTER = 'scaly';
const WORKERS = `${CLUSTER}-md-0`;
const AT_ZERO = `${CLUSTER}-md-zero`;
const GROUP = `MachineDeployment/${NAMESPACE}/${WORKERS}`;
const ZERO_GROUP = `MachineDeployment/${NAMESPACE}/${AT_ZERO}`;

interface Instance {
  id: string;
  status: { instanceState: string; errorInfo?: { errorCode: string } | null };
}

/** The gRPC status name a call ends with: "OK" or the error's. */
async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
    return 'OK';
  } catch (err) {
    return grpc.status[(err as grpc.ServiceError).code];
  }
}

const seconds = (since: number): string => `${((Date.now() - since) / 1000).toFixed(1)} s`;

describe('externalgrpc: cluster-autoscaler\'s protocol over the MachineDeployments of a real tenant cluster', () => {
  let fixture: AutoscalerTenant | undefined;
  let server: ExternalGrpcServer | undefined;
  let grpcClient: { close(): void } | undefined;
  let call: ExternalGrpcCall = () => Promise.reject(new Error('the externalgrpc client is not there (see the before hook)'));
  let place: WorkloadPlace;
  const suiteBegun = Date.now();

  const mgmt = () => {
    if (!fixture) throw new Error('no management client (see the before hook)');
    return fixture.mgmt;
  };
  const tenantPath = (): string => {
    if (!fixture) throw new Error('no tenant kubeconfig (see the before hook)');
    return fixture.tenantKubeconfig;
  };
  const replicas = async (name: string): Promise<number | undefined> =>
    (await mgmt().get<MachineDeployment>(MACHINE_DEPLOYMENT_TYPE, { namespace: NAMESPACE, name }, { direct: true }))?.spec?.replicas;
  const machines = async (md: string): Promise<Machine[]> =>
    (await getJSON<{ items: Machine[] }>(place.kubeconfig, ['machines.v1beta2.cluster.x-k8s.io', '-n', NAMESPACE, '-l', `cluster.x-k8s.io/deployment-name=${md}`])).items;
  const tenantNodes = async (): Promise<{ name: string; providerID?: string; ready: boolean }[]> => {
    const nodes = await getJSON<{ items: { metadata: { name: string }; spec?: { providerID?: string }; status?: { conditions?: { type: string; status: string }[] } }[] }>(tenantPath(), ['nodes']);
    return nodes.items.map((n) => ({ name: n.metadata.name, providerID: n.spec?.providerID, ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true }));
  };

  before(async function () {
    this.timeout(20 * 60_000);
    fixture = await startAutoscalerTenant({ namespace: NAMESPACE, clusterName: CLUSTER, workers: { min: 0, max: 3 }, atZero: { max: 2 } });
    place = fixture.place;
    server = await fixture.startExternalGrpcServer();
    const client = dialExternalGrpc(server.port, server.pem);
    grpcClient = client;
    call = client.call;
  });

  after(async function () {
    this.timeout(3 * 60_000);
    grpcClient?.close();
    await server?.stop();
    await fixture?.stop();
    console.log(`      suite total: ${seconds(suiteBegun)}`);
  });

  it('describes the node groups: both MachineDeployments with their bounds, the group of a real node, its instances, options, GPU label', async function () {
    this.timeout(2 * 60_000);
    const begun = Date.now();
    await call('Refresh', {});
    const groups = (await call('NodeGroups', {})).nodeGroups as { id: string; minSize: number; maxSize: number }[];
    expect(groups.map((g) => [g.id, g.minSize, g.maxSize])).to.deep.equal([
      [GROUP, 0, 3],
      [ZERO_GROUP, 0, 2],
    ]);
    const [node] = await tenantNodes();
    if (!node?.providerID) throw new Error(`the tenant has no node with a providerID: ${JSON.stringify(await tenantNodes())}`);
    expect(node.providerID).to.match(/^kubevirt:\/\//);
    expect(((await call('NodeGroupForNode', { node: { providerID: node.providerID, name: node.name } })).nodeGroup as { id: string }).id).to.equal(GROUP);
    expect(((await call('NodeGroupForNode', { node: { providerID: 'kubevirt://not-a-vm', name: 'stranger' } })).nodeGroup as { id: string }).id, 'a node that is not ours').to.equal('');
    expect((await call('NodeGroupTargetSize', { id: GROUP })).targetSize).to.equal(1);
    const instances = (await call('NodeGroupNodes', { id: GROUP })).instances as Instance[];
    expect(instances.map((i) => [i.id, i.status.instanceState])).to.deep.equal([[node.providerID, 'instanceRunning']]);
    const options = (await call('NodeGroupGetOptions', { id: GROUP, defaults: { scaleDownUtilizationThreshold: 0.5, scaleDownUnneededDuration: { seconds: 600, nanos: 0 } } })).nodeGroupAutoscalingOptions as Record<string, unknown>;
    expect(options).to.deep.include({ scaleDownUtilizationThreshold: 0.5, scaleDownUnneededDuration: { seconds: 600, nanos: 0 } });
    expect((await call('GPULabel', {})).label).to.equal('cluster-api/accelerator');
    expect((await call('GetAvailableGPUTypes', {})).gpuTypes).to.deep.equal({});
    expect(await codeOf(call('PricingNodePrice', { node: { providerID: node.providerID } })), 'pricing is optional').to.equal('UNIMPLEMENTED');
    expect(await call('Cleanup', {})).to.deep.equal({});
    console.log(`      read RPCs: ${seconds(begun)}`);
  });

  it('an annotated Cluster gets a cluster-autoscaler Deployment on its kubeconfig with least-privilege RBAC, all owned by the Cluster, gone with the annotation', async function () {
    this.timeout(2 * 60_000);
    const begun = Date.now();
    const f = fixture;
    if (!f) throw new Error('no tenant (see the before hook)');
    const name = `${CLUSTER}-cluster-autoscaler`;
    const cluster = await mgmt().get<Cluster>(CLUSTER_TYPE, { namespace: NAMESPACE, name: CLUSTER }, { direct: true });
    if (!cluster) throw new Error(`no Cluster ${NAMESPACE}/${CLUSTER}`);
    await mgmt().mergePatch(CLUSTER_TYPE, { namespace: NAMESPACE, name: CLUSTER }, { metadata: { annotations: { [CLUSTER_AUTOSCALER_ANNOTATION]: 'true' } } });
    const objects = await waitFor(async () => {
      const list = await clusterAutoscalerObjects(f);
      if (list.length !== 4) throw new Error(`seen: ${list.map((o) => `${o.kind}/${o.metadata.name}`).join(', ') || 'none'}`);
      return list;
    }, { timeoutMs: 30_000, intervalMs: 500, what: `${name}: ServiceAccount, Role, RoleBinding and Deployment` });
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`).sort()).to.deep.equal([`Deployment/${name}`, `Role/${name}`, `RoleBinding/${name}`, `ServiceAccount/${name}`]);
    // Controlled by the Cluster, so the garbage collector deletes them with it however the Cluster goes.
    for (const o of objects) {
      expect(o.metadata.ownerReferences, `${o.kind} ${o.metadata.name}`).to.deep.equal([{ apiVersion: cluster.apiVersion, kind: 'Cluster', name: CLUSTER, uid: cluster.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    }

    // cluster-autoscaler's clusterapi provider on the tenant's kubeconfig (a Secret volume, no Secret access).
    interface PodSpecView {
      serviceAccountName?: string;
      containers: { image: string; args?: string[]; volumeMounts?: { name: string; mountPath: string }[] }[];
      volumes?: { name: string; secret?: { secretName: string } }[];
    }
    const pod = (objects.find((o) => o.kind === 'Deployment')?.spec as { template: { spec: PodSpecView } }).template.spec;
    expect(pod.serviceAccountName).to.equal(name);
    const [container] = pod.containers;
    const args = container?.args ?? [];
    expect(args).to.include.members(['--cloud-provider=clusterapi', '--clusterapi-cloud-config-authoritative', `--node-group-auto-discovery=clusterapi:namespace=${NAMESPACE},clusterName=${CLUSTER}`]);
    const kubeconfigFile = args.find((a) => a.startsWith('--kubeconfig='))?.slice('--kubeconfig='.length) ?? '';
    const mount = container?.volumeMounts?.find((m) => kubeconfigFile.startsWith(`${m.mountPath}/`));
    const secretName = pod.volumes?.find((v) => v.name === mount?.name)?.secret?.secretName;
    expect(secretName, `the volume --kubeconfig=${kubeconfigFile} reads`).to.equal(`${CLUSTER}-kubeconfig`);
    const secret = await getJSON<{ data?: Record<string, string> }>(place.kubeconfig, ['secrets', '-n', NAMESPACE, secretName ?? '']);
    expect(Object.keys(secret.data ?? {}), `the Secret has the key ${kubeconfigFile} names`).to.include(kubeconfigFile.slice(kubeconfigFile.lastIndexOf('/') + 1));
    const { answered, wanted } = await clusterAutoscalerAccess(f);
    expect(answered).to.deep.equal(wanted);

    // Without a cluster-autoscaler binary for its image, the local cloud's kubelet says so in the pod's status.
    interface PodView { metadata: { name: string }; status?: { phase?: string; containerStatuses?: { state?: { waiting?: { reason?: string; message?: string }; running?: object } }[] } }
    const podOf = async (): Promise<PodView[]> => (await getJSON<{ items: PodView[] }>(place.kubeconfig, ['pods', '-n', NAMESPACE, '-l', CLUSTER_AUTOSCALER_SELECTOR])).items;
    const binary = process.env.CLUSTER_AUTOSCALER ?? '';
    const state = await waitFor(async () => {
      const pods = await podOf();
      const s = pods[0]?.status?.containerStatuses?.[0]?.state;
      if ((s?.waiting?.reason && s.waiting.reason !== 'ContainerCreating') || s?.running) return s;
      throw new Error(`pods: ${JSON.stringify(pods.map((p) => ({ name: p.metadata.name, status: p.status })))}`);
    }, { timeoutMs: 30_000, intervalMs: 500, what: `the ${name} pod's container to start, or to wait for another reason than ContainerCreating` });
    if (binary === '') {
      expect(state.waiting, 'no binary: the image cannot be pulled, and the message says why').to.deep.equal({
        reason: 'ErrImagePull',
        message: `${container?.image ?? ''} runs the binary named by $CLUSTER_AUTOSCALER, which this run does not set`,
      });
    } else {
      expect(state, `$CLUSTER_AUTOSCALER=${binary} runs`).to.have.property('running');
    }

    // Without the annotation all of it goes at once, the pod too (nothing is left running).
    await mgmt().mergePatch(CLUSTER_TYPE, { namespace: NAMESPACE, name: CLUSTER }, { metadata: { annotations: { [CLUSTER_AUTOSCALER_ANNOTATION]: null } } });
    await waitFor(async () => {
      const left = [...(await clusterAutoscalerObjects(f)).map((o) => `${o.kind}/${o.metadata.name}`), ...(await podOf()).map((p) => `Pod/${p.metadata.name}`)];
      if (left.length > 0) throw new Error(`left: ${left.join(', ')}`);
      return true;
    }, {
      timeoutMs: 60_000,
      intervalMs: 500,
      what: `${name}, its RBAC and its pod removed`,
    });
    // Both steps are Events on the Cluster (the recorder writes them in the background).
    await waitFor(async () => {
      const events = (await mgmt().list<KubeObject & { reason?: string; regarding?: { kind?: string; name?: string } }>({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace: NAMESPACE, direct: true }))
        .filter((e) => e.regarding?.kind === 'Cluster' && e.regarding.name === CLUSTER)
        .map((e) => e.reason ?? '');
      if (!['ClusterAutoscalerCreated', 'ClusterAutoscalerRemoved'].every((r) => events.includes(r))) throw new Error(`Events on the Cluster: ${events.join(', ')}`);
      return true;
    }, { timeoutMs: 10_000, intervalMs: 500, what: 'Events ClusterAutoscalerCreated and ClusterAutoscalerRemoved on the Cluster' });
    console.log(`      per-Cluster cluster-autoscaler created, checked and removed: ${seconds(begun)}`);
  });

  it('the per-Cluster cluster-autoscaler objects go with their Cluster when it is deleted', async function () {
    this.timeout(2 * 60_000);
    const begun = Date.now();
    const f = fixture;
    if (!f) throw new Error('no tenant (see the before hook)');
    // A Cluster of its own whose infrastructure never comes (Cluster API requires some reference), so deleting it
    // costs the shared tenant nothing.
    const ref = { namespace: NAMESPACE, name: 'short-lived' };
    const name = `${ref.name}-cluster-autoscaler`;
    const owned = async () => (await clusterAutoscalerObjects(f)).filter((o) => o.metadata.name === name).map((o) => `${o.kind}/${o.metadata.name}`);
    await mgmt().create({ ...CLUSTER_TYPE, metadata: { ...ref, annotations: { [CLUSTER_AUTOSCALER_ANNOTATION]: 'true' } }, spec: { infrastructureRef: { apiGroup: 'infrastructure.cluster.x-k8s.io', kind: 'KubevirtCluster', name: ref.name } } });
    await waitFor(async () => {
      const seen = await owned();
      if (seen.length !== 4) throw new Error(`seen: ${seen.join(', ') || 'none'}`);
      return true;
    }, { timeoutMs: 30_000, intervalMs: 500, what: `${name}: ServiceAccount, Role, RoleBinding and Deployment` });
    await mgmt().delete(CLUSTER_TYPE, ref);
    await waitFor(async () => {
      const left = [...(await owned()), ...((await mgmt().get(CLUSTER_TYPE, ref, { direct: true })) ? [`Cluster/${ref.name}`] : [])];
      if (left.length > 0) throw new Error(`left: ${left.join(', ')}`);
      return true;
    }, { timeoutMs: 60_000, intervalMs: 500, what: `the Cluster ${ref.name} and its cluster-autoscaler objects deleted` });
    console.log(`      cluster-autoscaler objects deleted with their Cluster: ${seconds(begun)}`);
  });

  it('a group at zero describes its nodes from the template capacity; limits, unknown groups and malformed requests get their codes', async function () {
    this.timeout(2 * 60_000);
    const capacity = await waitFor(
      async () => {
        const template = await getJSON<KubeObject & { status?: { capacity?: Record<string, string> } }>(place.kubeconfig, ['kubevirtmachinetemplates.infrastructure.cluster.x-k8s.io', '-n', NAMESPACE, WORKERS]);
        return template.status?.capacity?.cpu ? template.status.capacity : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500, what: `status.capacity of KubevirtMachineTemplate ${WORKERS}` },
    );
    expect((await call('NodeGroupTargetSize', { id: ZERO_GROUP })).targetSize).to.equal(0);
    expect((await call('NodeGroupNodes', { id: ZERO_GROUP })).instances).to.deep.equal([]);
    const node = decodeNode((await call('NodeGroupTemplateNodeInfo', { id: ZERO_GROUP })).nodeBytes as Buffer) as {
      metadata: { name: string; labels: Record<string, string> };
      status: { capacity: Record<string, { string: string }>; allocatable: Record<string, { string: string }> };
    };
    for (const [resource, quantity] of Object.entries(capacity)) expect(node.status.capacity[resource]?.string, resource).to.equal(quantity);
    expect(node.status.capacity.pods?.string).to.equal('110');
    expect(node.status.allocatable).to.deep.equal(node.status.capacity);
    expect(node.metadata.labels).to.include({ 'kubernetes.io/os': 'linux', 'kubernetes.io/arch': 'amd64' });

    const codes = {
      'IncreaseSize over max': await codeOf(call('NodeGroupIncreaseSize', { id: ZERO_GROUP, delta: 3 })),
      'DecreaseTargetSize below min': await codeOf(call('NodeGroupDecreaseTargetSize', { id: ZERO_GROUP, delta: -1 })),
      'unknown group': await codeOf(call('NodeGroupTargetSize', { id: `MachineDeployment/${NAMESPACE}/nope` })),
      'unknown group (IncreaseSize)': await codeOf(call('NodeGroupIncreaseSize', { id: `MachineDeployment/${NAMESPACE}/nope`, delta: 1 })),
      'id of another shape': await codeOf(call('NodeGroupNodes', { id: 'asg-1' })),
      'no id': await codeOf(call('NodeGroupTargetSize', {})),
      'zero delta': await codeOf(call('NodeGroupIncreaseSize', { id: GROUP, delta: 0 })),
      'positive decrease': await codeOf(call('NodeGroupDecreaseTargetSize', { id: GROUP, delta: 1 })),
      'no nodes to delete': await codeOf(call('NodeGroupDeleteNodes', { id: GROUP, nodes: [] })),
      'a node without providerID or name': await codeOf(call('NodeGroupDeleteNodes', { id: GROUP, nodes: [{ labels: { a: 'b' } }] })),
      'an unknown node': await codeOf(call('NodeGroupDeleteNodes', { id: GROUP, nodes: [{ providerID: 'kubevirt://not-a-vm', name: 'stranger' }] })),
      'no node for NodeGroupForNode': await codeOf(call('NodeGroupForNode', {})),
    };
    expect(codes).to.deep.equal({
      'IncreaseSize over max': 'OUT_OF_RANGE',
      'DecreaseTargetSize below min': 'OUT_OF_RANGE',
      'unknown group': 'NOT_FOUND',
      'unknown group (IncreaseSize)': 'NOT_FOUND',
      'id of another shape': 'INVALID_ARGUMENT',
      'no id': 'INVALID_ARGUMENT',
      'zero delta': 'INVALID_ARGUMENT',
      'positive decrease': 'INVALID_ARGUMENT',
      'no nodes to delete': 'INVALID_ARGUMENT',
      'a node without providerID or name': 'INVALID_ARGUMENT',
      'an unknown node': 'NOT_FOUND',
      'no node for NodeGroupForNode': 'INVALID_ARGUMENT',
    });
    expect(await replicas(AT_ZERO), 'refused calls change nothing').to.equal(0);
    expect(await replicas(WORKERS)).to.equal(1);
  });

  it('IncreaseSize twice at once adds both VMs, which join and take the pending pod; beyond max it is refused', async function () {
    this.timeout(10 * 60_000);
    // Two replicas that may not share a node: the second waits for a new one.
    const labels = { app: 'spread' };
    await kubectl(tenantPath(), ['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'spread', namespace: 'default' },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: labels } }] } },
            containers: [{ name: 'echo', image: TEST_ECHO_IMAGE, args: ['--port=8080'] }],
          },
        },
      },
    }));
    interface PodView { metadata: { name: string }; spec: { nodeName?: string }; status?: { phase?: string } }
    const spreadPods = async () => (await getJSON<{ items: PodView[] }>(tenantPath(), ['pods', '-n', 'default', '-l', 'app=spread'])).items;
    await waitFor(async () => {
      const pods = await spreadPods();
      return pods.filter((p) => p.status?.phase === 'Running').length === 1 && pods.filter((p) => !p.spec.nodeName).length === 1 ? true : undefined;
    }, { timeoutMs: 2 * 60_000, intervalMs: 1000, what: 'one spread pod Running and one Pending' });

    const begun = Date.now();
    const results = await Promise.all([codeOf(call('NodeGroupIncreaseSize', { id: GROUP, delta: 1 })), codeOf(call('NodeGroupIncreaseSize', { id: GROUP, delta: 1 }))]);
    expect(results, 'two concurrent IncreaseSize of 1').to.deep.equal(['OK', 'OK']);
    expect(await replicas(WORKERS)).to.equal(3);
    expect(await codeOf(call('NodeGroupIncreaseSize', { id: GROUP, delta: 1 })), 'a fourth node').to.equal('OUT_OF_RANGE');
    expect((await call('NodeGroupTargetSize', { id: GROUP })).targetSize).to.equal(3);

    // While the VMs come up the group reports them as creating, under placeholder ids until they have providerIDs.
    const creating = (await waitFor(async () => {
      const list = (await call('NodeGroupNodes', { id: GROUP })).instances as Instance[];
      return list.length === 3 ? list : undefined;
    }, { timeoutMs: 60_000, intervalMs: 500, what: '3 instances' })).filter((i) => i.status.instanceState === 'instanceCreating');
    expect(creating.length, 'new instances reported as creating').to.be.greaterThan(0);
    for (const i of creating) {
      const group = (await call('NodeGroupForNode', { node: { providerID: i.id, name: i.id } })).nodeGroup as { id: string };
      expect(group.id, `the placeholder node ${i.id}`).to.equal(GROUP);
    }

    await waitForRunningMachines(place, WORKERS, 3, 8 * 60_000);
    const ready = await waitFor(async () => {
      const nodes = await tenantNodes();
      return nodes.filter((n) => n.ready).length === 3 ? nodes : undefined;
    }, { timeoutMs: 3 * 60_000, intervalMs: 1000, what: '3 Ready tenant nodes' });
    const pods = await waitFor(async () => {
      const list = await spreadPods();
      return list.length === 2 && list.every((p) => p.status?.phase === 'Running') ? list : undefined;
    }, { timeoutMs: 3 * 60_000, intervalMs: 1000, what: 'both spread pods Running' });
    expect(new Set(pods.map((p) => p.spec.nodeName)).size, 'the pods run on two nodes').to.equal(2);
    console.log(`      IncreaseSize to 3 VMs joined and the pending pod ran: ${seconds(begun)}`);
    const instances = (await call('NodeGroupNodes', { id: GROUP })).instances as Instance[];
    expect(instances.map((i) => i.status.instanceState)).to.deep.equal(['instanceRunning', 'instanceRunning', 'instanceRunning']);
    expect(instances.map((i) => i.id).sort()).to.deep.equal(ready.map((n) => n.providerID).sort());
  });

  it('DeleteNodes removes exactly the named nodes\' Machines, the same node asked for twice only once, and says so on the MachineDeployment', async function () {
    this.timeout(10 * 60_000);
    const begun = Date.now();
    const before = (await machines(WORKERS)).filter((m) => !m.metadata.deletionTimestamp);
    expect(before).to.have.length(3);
    const [first, second, third] = before;
    if (!first?.spec?.providerID || !second?.spec?.providerID || !third?.spec?.providerID) throw new Error('Machines without providerIDs');
    const node = (m: Machine) => ({ providerID: m.spec?.providerID, name: m.status?.nodeRef?.name });

    // The same node from two callers at once: one scale-down.
    expect(await Promise.all([codeOf(call('NodeGroupDeleteNodes', { id: GROUP, nodes: [node(first)] })), codeOf(call('NodeGroupDeleteNodes', { id: GROUP, nodes: [node(first)] }))])).to.deep.equal(['OK', 'OK']);
    expect(await replicas(WORKERS), 'one node asked for twice').to.equal(2);
    const gone = async (m: Machine) => !(await machines(WORKERS)).some((x) => x.metadata.uid === m.metadata.uid);
    await waitFor(async () => ((await gone(first)) ? true : undefined), { timeoutMs: 5 * 60_000, intervalMs: 1000, what: `Machine ${first.metadata.name ?? ''} to be deleted` });
    const survivors = (await machines(WORKERS)).filter((m) => !m.metadata.deletionTimestamp).map((m) => m.metadata.uid);
    expect(survivors, 'exactly the named node\'s Machine went').to.have.members([second.metadata.uid, third.metadata.uid]);
    await waitFor(async () => ((await tenantNodes()).some((n) => n.name === first.status?.nodeRef?.name) ? undefined : true), { timeoutMs: 2 * 60_000, intervalMs: 1000, what: 'its Node to leave the tenant' });
    console.log(`      DeleteNodes of one node, Machine and Node gone: ${seconds(begun)}`);

    // Two different nodes from two callers at once: both go, down to the min size.
    const step = Date.now();
    expect(await Promise.all([codeOf(call('NodeGroupDeleteNodes', { id: GROUP, nodes: [node(second)] })), codeOf(call('NodeGroupDeleteNodes', { id: GROUP, nodes: [node(third)] }))])).to.deep.equal(['OK', 'OK']);
    expect(await replicas(WORKERS)).to.equal(0);
    await waitForRunningMachines(place, WORKERS, 0, 5 * 60_000);
    expect(await codeOf(call('NodeGroupDecreaseTargetSize', { id: GROUP, delta: -1 })), 'below min').to.equal('OUT_OF_RANGE');
    console.log(`      DeleteNodes of two nodes at once, both Machines gone: ${seconds(step)}`);

    // The group, now at zero, is described from its template.
    const template = decodeNode((await call('NodeGroupTemplateNodeInfo', { id: GROUP })).nodeBytes as Buffer) as { status: { capacity: Record<string, { string: string }> } };
    expect(template.status.capacity.cpu?.string).to.be.a('string');

    // Every executed decision is an Event on the MachineDeployment and a count in the metrics.
    interface EventView { reason?: string; note?: string; regarding?: { name?: string } }
    const events = (await mgmt().list<KubeObject & EventView>({ apiVersion: 'events.k8s.io/v1', kind: 'Event' }, { namespace: NAMESPACE, direct: true })).filter((e) => e.regarding?.name === WORKERS);
    const reasons = events.map((e) => e.reason);
    expect(reasons).to.include.members(['ScaledUp', 'ScaledDown', 'ScaleRejected']);
    expect(events.filter((e) => e.reason === 'ScaledDown').map((e) => e.note).join('\n')).to.contain(`Machine ${first.metadata.name ?? ''}`);
    const registry = server?.manager.metrics.registry;
    const decisions = (await registry?.getSingleMetric('kvcloud_autoscaler_scale_decisions_total')?.get())?.values ?? [];
    const count = (decision: string, result: string) => decisions.filter((v) => v.labels.node_group === GROUP && v.labels.decision === decision && v.labels.result === result).reduce((n, v) => n + v.value, 0);
    expect({ up: count('increase_size', 'executed'), down: count('delete_nodes', 'executed'), unchanged: count('delete_nodes', 'unchanged') }).to.deep.equal({ up: 2, down: 3, unchanged: 1 });
  });

  it('config/autoscaler as shipped: the server runs as its own ServiceAccount behind its Service, with cert-manager\'s certificates, and serves, scales and makes per-Cluster autoscalers', async function () {
    this.timeout(6 * 60_000);
    const begun = Date.now();
    // One manager at a time: the shipped one serves every namespace, the suite's own would answer beside it.
    grpcClient?.close();
    grpcClient = undefined;
    await server?.stop();
    server = undefined;
    const namespace = 'kvcloud-autoscaler-system';
    await kubectl(place.kubeconfig, ['apply', '-k', join(REPO, 'config/autoscaler')]);
    await kubectl(place.kubeconfig, ['wait', '-n', namespace, '--for=condition=Ready', 'certificate/kvcloud-autoscaler-serving', 'certificate/kvcloud-autoscaler-client', '--timeout=120s']);
    await kubectl(place.kubeconfig, ['rollout', 'status', '-n', namespace, 'deployment/kvcloud-autoscaler', '--timeout=180s']);
    console.log(`      config/autoscaler applied, certificates issued, manager ready: ${seconds(begun)}`);

    // cluster-autoscaler's side: the client certificate's Secret and the Service's name, as its cloud config has them.
    const secret = await getJSON<{ data: Record<string, string> }>(place.kubeconfig, ['secret', '-n', namespace, 'kvcloud-autoscaler-client']);
    const pem = (key: string): string => Buffer.from(secret.data[key] ?? '', 'base64').toString('utf8');
    const service = await getJSON<{ spec: { clusterIP: string } }>(place.kubeconfig, ['service', '-n', namespace, 'kvcloud-autoscaler']);
    const shipped = dialExternalGrpc({ address: `${service.spec.clusterIP}:8086`, serverName: `kvcloud-autoscaler.${namespace}.svc` }, { ca: pem('ca.crt'), clientCert: pem('tls.crt'), clientKey: pem('tls.key') });
    try {
      const groups = (await shipped.call('NodeGroups', {})).nodeGroups as { id: string; maxSize: number }[];
      expect(groups.map((g) => [g.id, g.maxSize])).to.deep.equal([
        [GROUP, 3],
        [ZERO_GROUP, 2],
      ]);
      // A write through its RBAC: one more, then the request taken back, by the scale subresource (and the mark
      // on the Machine if the MachineSet made it in between).
      expect(await shipped.call('NodeGroupIncreaseSize', { id: GROUP, delta: 1 })).to.deep.equal({});
      expect(await replicas(WORKERS)).to.equal(1);
      expect(await shipped.call('NodeGroupDecreaseTargetSize', { id: GROUP, delta: -1 })).to.deep.equal({});
      expect(await replicas(WORKERS)).to.equal(0);
      await waitForRunningMachines(place, WORKERS, 0, 3 * 60_000);
    } finally {
      shipped.close();
    }

    // The per-Cluster controller under the shipped ClusterRole: it may grant the cluster-autoscaler's Role only
    // because it holds every rule of it.
    const f = fixture;
    if (!f) throw new Error('no tenant (see the before hook)');
    await mgmt().mergePatch(CLUSTER_TYPE, { namespace: NAMESPACE, name: CLUSTER }, { metadata: { annotations: { [CLUSTER_AUTOSCALER_ANNOTATION]: 'true' } } });
    const made = await waitFor(
      async () => {
        const found = await clusterAutoscalerObjects(f);
        return found.length === 4 ? found : undefined;
      },
      { timeoutMs: 60_000, what: 'the shipped manager to make the Cluster\'s cluster-autoscaler objects' },
    );
    expect(made.map((o) => o.kind).sort()).to.deep.equal(['Deployment', 'Role', 'RoleBinding', 'ServiceAccount']);
    await mgmt().mergePatch(CLUSTER_TYPE, { namespace: NAMESPACE, name: CLUSTER }, { metadata: { annotations: { [CLUSTER_AUTOSCALER_ANNOTATION]: null } } });
    await waitFor(async () => ((await clusterAutoscalerObjects(f)).length === 0 ? true : undefined), { timeoutMs: 60_000, what: 'the objects to go with the annotation' });

    await kubectl(place.kubeconfig, ['delete', '-k', join(REPO, 'config/autoscaler'), '--wait=true', '--timeout=120s']);
    console.log(`      the shipped manager served, scaled and made a Cluster's autoscaler; removed: ${seconds(begun)}`);
  });
});
