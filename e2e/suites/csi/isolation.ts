// Isolation and race proofs of the CSI controller, run by csi-sanity.e2e.ts against its controller process, its
// running VM and the KubeVirt/CDI simulator: a tenant that crafts volume, snapshot or node IDs reaches nothing of
// another tenant (the CVE-2024-1725 class), not even another tenant's VM in the infra namespace they share, a VM that
// goes away with volumes attached never blocks an unpublish (the
// attacher's VolumeAttachment finalizer waits on it), and a controller killed mid-publish converges with one hot-plug.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'chai';
import { DATA_VOLUME_TYPE, type DataVolume } from '../../../lib/apis/cdi.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, VIRTUAL_MACHINE_TYPE, type VirtualMachine, type VirtualMachineInstance } from '../../../lib/apis/kubevirt.js';
import { VOLUME_SNAPSHOT_TYPE } from '../../../lib/apis/snapshot.js';
import type { Client } from '../../../lib/kube/client.js';
import { waitFor } from '../../../localcloud/wait.js';
import { createNamespace } from '../cluster/support.js';

/** gRPC status codes the cases expect. */
const OK = 0;
const NOT_FOUND = 5;
const FAILED_PRECONDITION = 9;

export interface IsolationContext {
  infra: Client;
  /** The tenant's infra namespace, where the controller runs and VM `vm` is Running. */
  ns: string;
  vm: string;
  dir: string;
  /** A unary call on the controller service; resolves to the response or rejects with the gRPC error. */
  controller<T>(rpc: string, req: object): Promise<T>;
  codeOf(p: Promise<unknown>): Promise<number>;
  /** The VirtualMachine manifest the suite runs (runStrategy Always), a node of `cluster` (default the tenant's). */
  virtualMachine(namespace: string, name: string, cluster?: string): VirtualMachine;
  /** Kills the controller process with SIGKILL, as a crashed or evicted pod. */
  killController(): Promise<void>;
  /** Starts a new controller process on the same socket, logging to <dir>/<logName>.log; resolves once it serves. */
  startController(logName: string): Promise<void>;
  timings: string[];
}

const CAP = { mount: {}, access_mode: { mode: 'SINGLE_NODE_WRITER' } };
const BYTES = 64 * 1024 * 1024;

export function isolationCases(context: () => IsolationContext): void {
  const getVMI = (c: IsolationContext, namespace: string, name: string) => c.infra.get<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE, { namespace, name }, { direct: true });
  const getVM = (c: IsolationContext, namespace: string, name: string) => c.infra.get<VirtualMachine>(VIRTUAL_MACHINE_TYPE, { namespace, name }, { direct: true });
  const blankDataVolume = (namespace: string, name: string, labels: Record<string, string>): DataVolume => ({
    ...DATA_VOLUME_TYPE,
    metadata: { name, namespace, labels },
    spec: { source: { blank: {} }, storage: { resources: { requests: { storage: '64Mi' } } } },
  });
  const volumeReady = async (c: IsolationContext, vm: string, id: string) =>
    waitFor(
      async () => {
        const s = (await getVMI(c, c.ns, vm))?.status?.volumeStatus?.find((v) => v.name === id);
        if (s?.phase === 'Ready') return s;
        throw new Error(`volume ${id} in VMI ${vm}: ${JSON.stringify(s)}`);
      },
      { timeoutMs: 60_000, what: `volume ${id} Ready in VMI ${vm}` },
    );
  /** Lets the suite's own user hot-plug in the namespace, standing in for the other tenant's controller. */
  const grantHotplug = async (c: IsolationContext) => {
    const review = await c.infra.transport.request<{ status: { userInfo: { username: string } } }>({
      method: 'POST',
      path: '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' },
    });
    const name = 'other-tenant-hotplug';
    // Applied, not created: more than one case stands in for the other tenant.
    await c.infra.apply({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name, namespace: c.ns }, rules: [{ apiGroups: ['subresources.kubevirt.io'], resources: ['virtualmachines/addvolume', 'virtualmachines/removevolume'], verbs: ['update'] }] } as never);
    await c.infra.apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace: c.ns },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: review.status.userInfo.username }],
    } as never);
    // The apiserver's RBAC authorizer reads Roles from an informer: a binding just made can be missing from the
    // SubjectAccessReview virt-api asks for a moment (ci6 saw the hot-plug refused under load). Wait until it says yes.
    await waitFor(
      async () => {
        const access = await c.infra.transport.request<{ status: { allowed?: boolean } }>({
          method: 'POST',
          path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
          body: {
            apiVersion: 'authorization.k8s.io/v1',
            kind: 'SelfSubjectAccessReview',
            spec: { resourceAttributes: { group: 'subresources.kubevirt.io', resource: 'virtualmachines', subresource: 'addvolume', verb: 'update', namespace: c.ns } },
          },
        });
        return access.status.allowed === true ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'the hot-plug grant to reach the RBAC authorizer' },
    );
  };
  /** Hot-plugs DataVolume `dv` into VM `vm` under the volume name `name`, as another tenant's controller would. */
  const hotplugAs = async (c: IsolationContext, vm: string, name: string, dv: string) => {
    await c.infra.transport.request({
      method: 'PUT',
      path: `/apis/subresources.kubevirt.io/v1/namespaces/${c.ns}/virtualmachines/${vm}/addvolume`,
      body: { name, disk: { name, disk: { bus: 'scsi' } }, volumeSource: { dataVolume: { name: dv, hotpluggable: true } } },
    });
    const ready = await volumeReady(c, vm, name);
    await settled(c, vm);
    return ready;
  };
  const unplug = async (c: IsolationContext, vm: string, name: string) => {
    await c.infra.transport.request({ method: 'PUT', path: `/apis/subresources.kubevirt.io/v1/namespaces/${c.ns}/virtualmachines/${vm}/removevolume`, body: { name } });
    await waitFor(async () => ((await getVMI(c, c.ns, vm))?.status?.volumeStatus ?? []).every((s) => s.name !== name), { timeoutMs: 60_000, what: `volume ${name} unplugged from ${vm}` });
    await settled(c, vm);
  };
  /**
   * Until virt-controller has taken the VM's volume requests: virt-api adds a request with a test of the list it
   * read, so one sent while the controller still empties the list is refused (422), as KubeVirt's is.
   */
  const settled = (c: IsolationContext, vm: string) =>
    waitFor(async () => (((await getVM(c, c.ns, vm))?.status?.volumeRequests ?? []).length === 0 ? true : undefined), { timeoutMs: 30_000, what: `VM ${vm}'s volume requests taken` });
  /** The source (DataVolume or claim) of each volume of VMI `vm`, with its status phase: "<name> <source> <phase>". */
  const plugged = async (c: IsolationContext, vm: string) => {
    const vmi = await getVMI(c, c.ns, vm);
    return (vmi?.spec?.volumes ?? []).map((v) => `${v.name} ${v.dataVolume?.name ?? v.persistentVolumeClaim?.claimName ?? '-'} ${vmi?.status?.volumeStatus?.find((s) => s.name === v.name)?.phase ?? 'none'}`);
  };
  const capabilities = async (c: IsolationContext) =>
    (await c.controller<{ capabilities: { rpc?: { type: string } }[] }>('ControllerGetCapabilities', {})).capabilities.map((cap) => cap.rpc?.type ?? '');

  it("reaches no other tenant's volume or snapshot through any RPC that takes an ID, however the ID is crafted", async function () {
    this.timeout(180_000);
    const c = context();
    const other = await createNamespace(c.infra, 'csi-other');
    // Another tenant's DataVolume in the shared namespace (its own labels), hot-plugged into our VM by that tenant's
    // controller: nothing we send may detach, grow, snapshot or delete it.
    await c.infra.create(blankDataVolume(c.ns, 'foreign', { 'csi-driver/tenant': 'other' }));
    await grantHotplug(c);
    await hotplugAs(c, c.vm, 'foreign', 'foreign');
    // A DataVolume carrying our very labels, in a namespace that is not ours: a namespace in the ID reaches nothing.
    await c.infra.create(blankDataVolume(other, 'victim', { 'csi-driver/tenant': 'acme' }));
    const foreignSize = async () => (await c.infra.get<DataVolume>(DATA_VOLUME_TYPE, { namespace: c.ns, name: 'foreign' }, { direct: true }))?.spec?.storage?.resources?.requests?.storage;
    const sizeBefore = await foreignSize();

    // A plain name gets the codes of a volume that does not exist. One with a namespace or a path in it is refused one
    // way or another (its escaped slash makes a subresource path the controller's Role does not grant:
    // PERMISSION_DENIED; the apiserver may also answer 400 or 404). Either way the state checks below hold.
    const plain = ['foreign'];
    const traversal = [`${c.ns}/foreign`, `${other}/victim`, `../../${other}/datavolumes/victim`, `victim/../../../${other}/datavolumes/victim`, '..', '%2e%2e', ' foreign'];
    const caps = await capabilities(c);
    const seen: string[] = [];
    for (const id of [...plain, ...traversal]) {
      const exact = plain.includes(id);
      const code = (rpc: string, req: object) => c.codeOf(c.controller(rpc, req)).then((got) => (seen.push(`${rpc}(${JSON.stringify(id)}) -> ${String(got)}`), got));
      const refused = async (rpc: string, req: object, want: number) => {
        const got = await code(rpc, req);
        if (exact) expect(got, `${rpc} ${id}`).to.equal(want);
        else expect(got, `${rpc} ${id}`).to.not.equal(OK);
      };
      await refused('ControllerPublishVolume', { volume_id: id, node_id: `${c.ns}/${c.vm}`, volume_capability: CAP }, NOT_FOUND);
      await refused('ValidateVolumeCapabilities', { volume_id: id, volume_capabilities: [CAP] }, NOT_FOUND);
      if (caps.includes('EXPAND_VOLUME')) await refused('ControllerExpandVolume', { volume_id: id, capacity_range: { required_bytes: 2 * BYTES } }, NOT_FOUND);
      if (caps.includes('CREATE_DELETE_SNAPSHOT')) await refused('CreateSnapshot', { name: `snap-${String(seen.length)}`, source_volume_id: id }, NOT_FOUND);
      if (caps.includes('CLONE_VOLUME')) await refused('CreateVolume', { name: `clone-${String(seen.length)}`, volume_capabilities: [CAP], volume_content_source: { volume: { volume_id: id } } }, NOT_FOUND);
      // Unpublish and DeleteVolume of a volume that is not ours succeed with nothing done, as for one that is gone.
      const unpublished = await code('ControllerUnpublishVolume', { volume_id: id, node_id: `${c.ns}/${c.vm}` });
      const deleted = await code('DeleteVolume', { volume_id: id });
      if (exact) expect([unpublished, deleted], `unpublish, delete ${id}`).to.deep.equal([OK, OK]);
    }
    c.timings.push(`isolation: ${String(seen.length)} crafted-ID calls refused or no-ops`);
    // Everything of the other tenant is as it was: still attached and Ready, same size, not deleting; the victim too.
    expect((await getVMI(c, c.ns, c.vm))?.status?.volumeStatus?.find((s) => s.name === 'foreign')?.phase, seen.join('\n')).to.equal('Ready');
    expect(await foreignSize()).to.equal(sizeBefore);
    for (const [namespace, name] of [[c.ns, 'foreign'], [other, 'victim']] as const) {
      const dv = await c.infra.get<DataVolume>(DATA_VOLUME_TYPE, { namespace, name }, { direct: true });
      expect(dv?.metadata.deletionTimestamp, `${namespace}/${name}`).to.equal(undefined);
    }
    // Nothing was made from them: no clone, no snapshot.
    const made = await c.infra.list<DataVolume>(DATA_VOLUME_TYPE, { namespace: c.ns, direct: true });
    expect(made.map((d) => d.metadata.name).filter((n) => n?.startsWith('clone-'))).to.deep.equal([]);
    const listed = await c.controller<{ entries?: { volume: { volume_id: string } }[] }>('ListVolumes', {});
    expect((listed.entries ?? []).map((e) => e.volume.volume_id)).to.not.include('foreign');

    if (caps.includes('CREATE_DELETE_SNAPSHOT')) {
      // Another tenant's infra snapshot: DeleteSnapshot is a no-op, restoring from it finds nothing, listing hides it.
      await c.infra.create({ ...VOLUME_SNAPSHOT_TYPE, metadata: { name: 'foreign-snap', namespace: c.ns, labels: { 'csi-driver/tenant': 'other' } }, spec: { source: { persistentVolumeClaimName: 'foreign' } } });
      expect(await c.codeOf(c.controller('DeleteSnapshot', { snapshot_id: 'foreign-snap' }))).to.equal(OK);
      expect(await c.infra.get(VOLUME_SNAPSHOT_TYPE, { namespace: c.ns, name: 'foreign-snap' }, { direct: true })).to.not.equal(undefined);
      expect(await c.codeOf(c.controller('CreateVolume', { name: 'restore-foreign', volume_capabilities: [CAP], volume_content_source: { snapshot: { snapshot_id: 'foreign-snap' } } }))).to.equal(NOT_FOUND);
      if (caps.includes('LIST_SNAPSHOTS')) {
        const snaps = await c.controller<{ entries?: { snapshot: { snapshot_id: string } }[] }>('ListSnapshots', {});
        expect((snaps.entries ?? []).map((e) => e.snapshot.snapshot_id)).to.not.include('foreign-snap');
        const byId = await c.controller<{ entries?: unknown[] }>('ListSnapshots', { snapshot_id: 'foreign-snap' });
        expect(byId.entries ?? []).to.deep.equal([]);
      }
      await c.infra.delete(VOLUME_SNAPSHOT_TYPE, { namespace: c.ns, name: 'foreign-snap' });
    }

    await unplug(c, c.vm, 'foreign');
    await c.infra.delete(DATA_VOLUME_TYPE, { namespace: c.ns, name: 'foreign' });
  });

  it('hot-plugs into no VM outside its namespace, however the node ID is crafted', async function () {
    this.timeout(120_000);
    const c = context();
    const other = 'csi-other-nodes';
    await c.infra.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: other } });
    // Halted: no VMI, so any hot-plug would show in the VM's own spec or volumeRequests.
    const victim = c.virtualMachine(other, 'victim');
    await c.infra.create({ ...victim, spec: { ...victim.spec, runStrategy: 'Halted' } });
    const created = await c.controller<{ volume: { volume_id: string; volume_context: Record<string, string> } }>('CreateVolume', { name: 'pvc-node-ids', volume_capabilities: [CAP], capacity_range: { required_bytes: BYTES } });
    const id = created.volume.volume_id;
    const crafted = [`${other}/victim`, `${c.ns}/../${other}/victim`, `../${other}/virtualmachines/victim`, `victim`, `${other}/victim/`, `kubevirt://victim`];
    for (const node of crafted) {
      expect(await c.codeOf(c.controller('ControllerPublishVolume', { volume_id: id, node_id: node, volume_capability: CAP, volume_context: created.volume.volume_context })), `publish to ${node}`).to.equal(NOT_FOUND);
      expect(await c.codeOf(c.controller('ControllerUnpublishVolume', { volume_id: id, node_id: node })), `unpublish from ${node}`).to.equal(OK);
    }
    const vm = await getVM(c, other, 'victim');
    expect(vm?.status?.volumeRequests ?? [], 'hot-plug requests on the other namespace\'s VM').to.deep.equal([]);
    expect((vm?.spec?.template.spec?.volumes ?? []).map((v) => v.name)).to.not.include(id);
    expect(await c.codeOf(c.controller('DeleteVolume', { volume_id: id }))).to.equal(OK);
  });

  it("hot-plugs into no VM of another tenant's cluster in the infra namespace they share, and unplugs nothing from it", async function () {
    this.timeout(300_000);
    const c = context();
    // The other tenant: a running VM of Cluster globex beside ours, and a disk of theirs hot-plugged into it by their
    // own controller under a volume name that is no DataVolume of ours (so no volume label check stands in the way).
    await c.infra.create(c.virtualMachine(c.ns, 'globex-worker', 'globex'));
    await c.infra.create(blankDataVolume(c.ns, 'globex-data', { 'csi-driver/tenant': 'globex' }));
    await waitFor(async () => ((await getVMI(c, c.ns, 'globex-worker'))?.status?.phase === 'Running' ? true : undefined), { timeoutMs: 120_000, what: 'VM globex-worker running' });
    await grantHotplug(c);
    await hotplugAs(c, 'globex-worker', 'globex-disk', 'globex-data');
    const created = await c.controller<{ volume: { volume_id: string; volume_context: Record<string, string> } }>('CreateVolume', { name: 'pvc-shared-ns', volume_capabilities: [CAP], capacity_range: { required_bytes: BYTES } });
    const id = created.volume.volume_id;
    const started = Date.now();
    // Their VM answers exactly as a VM that does not exist, by node ID or bare name: the answer tells nothing.
    const answer = (node: string) =>
      c.controller('ControllerPublishVolume', { volume_id: id, node_id: node, volume_capability: CAP, volume_context: created.volume.volume_context }).then(
        () => 'published',
        (err: unknown) => `${String((err as { code?: number }).code)} ${(err as Error).message}`.replaceAll(node, '<node>'),
      );
    const missing = await answer(`${c.ns}/no-such-vm`);
    expect(missing.startsWith(`${String(NOT_FOUND)} `), missing).to.equal(true);
    for (const node of [`${c.ns}/globex-worker`, 'globex-worker']) {
      expect(await answer(node), `publish to ${node}`).to.equal(missing);
      for (const volume of [id, 'globex-disk']) expect(await c.codeOf(c.controller('ControllerUnpublishVolume', { volume_id: volume, node_id: node })), `unpublish ${volume} from ${node}`).to.equal(OK);
    }
    c.timings.push(`shared namespace: publish and unpublish with another cluster's node IDs refused or no-ops in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    // Their VM is as it was: nothing of ours requested or added, their disk still in it and Ready.
    const vm = await getVM(c, c.ns, 'globex-worker');
    expect(vm?.status?.volumeRequests ?? [], "hot-plug requests on the other cluster's VM").to.deep.equal([]);
    expect((vm?.spec?.template.spec?.volumes ?? []).map((v) => v.name).filter((n) => n !== 'root' && n !== 'cloudinit')).to.deep.equal(['globex-disk']);
    const vmi = await getVMI(c, c.ns, 'globex-worker');
    expect((vmi?.status?.volumeStatus ?? []).filter((s) => s.name === 'globex-disk' || s.name === id).map((s) => [s.name, s.phase])).to.deep.equal([['globex-disk', 'Ready']]);


    // Their controller names a volume of theirs after ours (hot-plug names are the volume IDs, which a tenant sees in
    // its PVs): in their VM it neither blocks our publish nor our delete, and ours leaves theirs alone.
    await c.infra.create(blankDataVolume(c.ns, 'globex-namesake', { 'csi-driver/tenant': 'globex' }));
    await hotplugAs(c, 'globex-worker', id, 'globex-namesake');
    const theirs = [`globex-disk globex-data Ready`, `${id} globex-namesake Ready`];
    const publish = { volume_id: id, node_id: `${c.ns}/${c.vm}`, volume_capability: CAP, volume_context: created.volume.volume_context };
    const namesakeStarted = Date.now();
    expect(await c.codeOf(c.controller('ControllerPublishVolume', publish)), 'publish beside their namesake').to.equal(OK);
    expect((await plugged(c, c.vm)).filter((v) => v.startsWith(`${id} `)), 'our VM').to.deep.equal([`${id} ${id} Ready`]);
    expect(await c.codeOf(c.controller('ControllerUnpublishVolume', { volume_id: id, node_id: `${c.ns}/${c.vm}` }))).to.equal(OK);
    expect((await plugged(c, c.vm)).filter((v) => v.startsWith(`${id} `)), 'our VM after unpublish').to.deep.equal([]);
    expect((await plugged(c, 'globex-worker')).filter((v) => theirs.includes(v)), "their VM, namesake and all").to.deep.equal(theirs);
    c.timings.push(`shared namespace: publish and unpublish beside another cluster's namesake volume in ${((Date.now() - namesakeStarted) / 1000).toFixed(1)} s`);

    // A volume of our volume's name from another source in our own VM: publish is refused, nothing is hot-plugged,
    // and unpublish leaves that volume in place.
    await c.infra.create(blankDataVolume(c.ns, 'globex-namesake-2', { 'csi-driver/tenant': 'globex' }));
    await hotplugAs(c, c.vm, id, 'globex-namesake-2');
    const refused = await c.controller('ControllerPublishVolume', publish).then(
      () => 'published',
      (err: unknown) => `${String((err as { code?: number }).code)} ${(err as { details?: string }).details ?? ''}`,
    );
    expect(refused).to.equal(`${String(FAILED_PRECONDITION)} VM ${c.vm} already has a volume named ${id} that is not the hot-plugged DataVolume ${id}; remove it from the VM to publish the volume there`);
    const ours = await getVM(c, c.ns, c.vm);
    expect((ours?.status?.volumeRequests ?? []).map((r) => r.addVolumeOptions?.volumeSource.dataVolume?.name), 'hot-plug requests on our VM').to.not.include(id);
    expect(await c.codeOf(c.controller('ControllerUnpublishVolume', { volume_id: id, node_id: `${c.ns}/${c.vm}` }))).to.equal(OK);
    expect((await plugged(c, c.vm)).filter((v) => v.startsWith(`${id} `)), 'our VM after the refusal').to.deep.equal([`${id} globex-namesake-2 Ready`]);

    await unplug(c, c.vm, id);
    for (const disk of ['globex-disk', id]) await unplug(c, 'globex-worker', disk);
    await c.infra.delete(VIRTUAL_MACHINE_TYPE, { namespace: c.ns, name: 'globex-worker' });
    await waitFor(async () => ((await getVMI(c, c.ns, 'globex-worker')) ? undefined : true), { timeoutMs: 60_000, what: 'VM globex-worker gone' });
    for (const dv of ['globex-data', 'globex-namesake', 'globex-namesake-2']) await c.infra.delete(DATA_VOLUME_TYPE, { namespace: c.ns, name: dv });
    expect(await c.codeOf(c.controller('DeleteVolume', { volume_id: id }))).to.equal(OK);
  });

  it('unpublishes from a VM that was stopped or deleted with the volume attached, so no VolumeAttachment is left waiting', async function () {
    this.timeout(240_000);
    const c = context();
    await c.infra.create(c.virtualMachine(c.ns, 'doomed'));
    await waitFor(async () => ((await getVMI(c, c.ns, 'doomed'))?.status?.phase === 'Running' ? true : undefined), { timeoutMs: 120_000, what: 'VM doomed running' });
    const ids: string[] = [];
    for (const name of ['pvc-stopped', 'pvc-deleted']) {
      const created = await c.controller<{ volume: { volume_id: string; volume_context: Record<string, string> } }>('CreateVolume', { name, volume_capabilities: [CAP], capacity_range: { required_bytes: BYTES } });
      await c.controller('ControllerPublishVolume', { volume_id: created.volume.volume_id, node_id: `${c.ns}/doomed`, volume_capability: CAP, volume_context: created.volume.volume_context });
      ids.push(created.volume.volume_id);
    }
    const [stopped = '', deleted = ''] = ids;
    // Drained or stopped: the VMI is gone, the VM keeps the hot-plugged volume in its spec.
    const started = Date.now();
    await c.infra.mergePatch(VIRTUAL_MACHINE_TYPE, { namespace: c.ns, name: 'doomed' }, { spec: { runStrategy: 'Halted' } });
    await waitFor(async () => ((await getVMI(c, c.ns, 'doomed')) ? undefined : true), { timeoutMs: 120_000, what: 'VMI doomed gone' });
    expect(await c.codeOf(c.controller('ControllerUnpublishVolume', { volume_id: stopped, node_id: `${c.ns}/doomed` }))).to.equal(OK);
    // Its volume leaves the VM too, so it does not come back on the next start.
    await waitFor(
      async () => {
        const names = (await getVM(c, c.ns, 'doomed'))?.spec?.template.spec?.volumes?.map((v) => v.name) ?? [];
        if (!names.includes(stopped)) return true;
        throw new Error(`VM doomed volumes: ${names.join(', ')}`);
      },
      { timeoutMs: 30_000, what: `${stopped} out of the stopped VM's spec` },
    );
    // Deleted: the VM is gone with the other volume still in it.
    await c.infra.delete(VIRTUAL_MACHINE_TYPE, { namespace: c.ns, name: 'doomed' });
    await waitFor(async () => ((await getVM(c, c.ns, 'doomed')) ? undefined : true), { timeoutMs: 60_000, what: 'VM doomed gone' });
    expect(await c.codeOf(c.controller('ControllerUnpublishVolume', { volume_id: deleted, node_id: `${c.ns}/doomed` }))).to.equal(OK);
    c.timings.push(`unpublish from a stopped, then a deleted VM: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    for (const id of ids) expect(await c.codeOf(c.controller('DeleteVolume', { volume_id: id })), `delete ${id}`).to.equal(OK);
  });

  it('converges with one hot-plug when the controller is killed mid-publish and restarted', async function () {
    this.timeout(180_000);
    const c = context();
    const created = await c.controller<{ volume: { volume_id: string; volume_context: Record<string, string> } }>('CreateVolume', { name: 'pvc-killed', volume_capabilities: [CAP], capacity_range: { required_bytes: BYTES } });
    const id = created.volume.volume_id;
    const publish = { volume_id: id, node_id: `${c.ns}/${c.vm}`, volume_capability: CAP, volume_context: created.volume.volume_context };
    const first = c.codeOf(c.controller('ControllerPublishVolume', publish));
    // The hot-plug is requested (in the VM's requests or spec) but the publish has not returned: kill it there.
    await waitFor(
      async () => {
        const vm = await getVM(c, c.ns, c.vm);
        return (vm?.status?.volumeRequests ?? []).some((r) => r.addVolumeOptions?.name === id) || (vm?.spec?.template.spec?.volumes ?? []).some((v) => v.name === id) ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 20, what: `the hot-plug of ${id} requested` },
    );
    const phaseAtKill = (await getVMI(c, c.ns, c.vm))?.status?.volumeStatus?.find((s) => s.name === id)?.phase ?? 'none';
    await c.killController();
    expect(await first, 'the killed publish fails (UNAVAILABLE or CANCELLED), it does not succeed').to.not.equal(OK);
    await c.startController('csi-controller-restarted');
    const started = Date.now();
    // The attacher retries the publish against the new process; it finds the hot-plug and waits for it.
    expect(await c.codeOf(c.controller('ControllerPublishVolume', publish))).to.equal(OK);
    c.timings.push(`publish after a kill mid-publish (volume phase at kill: ${phaseAtKill}) converged in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    const vmi = await getVMI(c, c.ns, c.vm);
    expect(vmi?.spec?.volumes?.filter((v) => v.name === id), 'hot-plugged volumes in the VMI').to.have.length(1);
    expect(vmi?.spec?.domain.devices.disks?.filter((d) => d.name === id), 'disks in the VMI').to.have.length(1);
    expect(vmi?.status?.volumeStatus?.filter((s) => s.name === id), 'volume statuses').to.have.length(1);
    // The restarted process found the first one's request and asked for no second hot-plug.
    const log = await readFile(join(c.dir, 'csi-controller-restarted.log'), 'utf8');
    expect(log.split('\n').filter((l) => l.includes('"msg":"requested hot-plug"') && l.includes(`"volume":"${id}"`)), 'hot-plugs the restarted controller requested').to.deep.equal([]);
    expect((await getVM(c, c.ns, c.vm))?.spec?.template.spec?.volumes?.filter((v) => v.name === id), 'the volume in the VM').to.have.length(1);
    expect(await c.codeOf(c.controller('ControllerUnpublishVolume', { volume_id: id, node_id: `${c.ns}/${c.vm}` }))).to.equal(OK);
    expect(await c.codeOf(c.controller('DeleteVolume', { volume_id: id }))).to.equal(OK);
  });
}
