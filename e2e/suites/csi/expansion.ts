// Online expansion of a tenant PVC, driven only by external-resizer and the guest kubelet (called from pvc.e2e.ts,
// on its tenant): a PVC of a StorageClass with allowVolumeExpansion, bound and mounted by a running pod, grows; the
// controller grows the infra claim of its DataVolume (the KubeVirt simulator's expandable infra StorageClass),
// the disk the VM sees grows with it, and the guest kubelet's NodeExpandVolume grows the filesystem the pod sees;
// where the node may not grow a mounted ext4 (no CAP_SYS_RESOURCE, as in this sandbox), it grows when staged again.
import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import type { KubeObject } from '../../../lib/kube/object.js';
import { kubectl } from '../../../localcloud/kubectl.js';
import { waitFor } from '../../../localcloud/wait.js';
import { EXPANDABLE_STORAGE_CLASS } from '../../../simulators/kubevirt/storage-class.js';

const MiB = 1024 * 1024;
const CLASS = 'kubevirt-expandable';

interface Claim extends KubeObject {
  spec: { volumeName?: string };
  status?: {
    phase?: string;
    capacity?: { storage?: string };
    allocatedResourceStatuses?: Record<string, string>;
    conditions?: { type: string; status: string; message?: string }[];
  };
}
interface Volume extends KubeObject {
  spec: { capacity?: { storage?: string }; csi?: { volumeHandle: string } };
}

export interface ExpansionContext {
  /** Tenant and management kubeconfigs. */
  admin: string;
  mgmt: string;
  infraNamespace: string;
  node: string;
  apply: (objects: object[]) => Promise<string>;
  getJSON: <T>(kubeconfig: string, args: string[]) => Promise<T>;
  /** A pod on `node` running `script` with the claim mounted at `mountPath`. */
  pod: (name: string, node: string, script: string, volume: { claim: string; mountPath: string }) => object;
  timed: <T>(what: string, work: () => Promise<T>) => Promise<T>;
  /** The sidecars' and plugins' last log lines, for failure messages. */
  logs: () => string;
  /** Volume handles the suite cleans up after. */
  handles: string[];
  /** Runs a command in VM `vm`'s guest (its mount namespace and root). */
  inGuest: (vm: string, command: string[]) => Promise<{ stdout: string }>;
}

/**
 * Whether this process holds CAP_SYS_RESOURCE (bit 24 of CapEff), as the node plugin it starts in the guest does:
 * the kernel grows a mounted ext4 only for such a caller, and some sandboxes drop it for every process.
 */
function holdsSysResource(): boolean {
  const hex = /^CapEff:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1] ?? '0';
  return (BigInt(`0x${hex}`) & (1n << 24n)) !== 0n;
}

/** Sizes in bytes from "67108864", "64Mi" or "128Mi". */
const bytes = (q: string | undefined): number => {
  const m = /^(\d+)(Mi|Gi)?$/.exec(q ?? '');
  if (!m) return Number.NaN;
  return Number(m[1]) * (m[2] === 'Gi' ? 1024 * MiB : m[2] === 'Mi' ? MiB : 1);
};

export async function growsAMountedFilesystem(ctx: ExpansionContext): Promise<void> {
  const { admin } = ctx;
  await ctx.apply([
    {
      apiVersion: 'storage.k8s.io/v1',
      kind: 'StorageClass',
      metadata: { name: CLASS },
      provisioner: 'csi.kubevirt.io',
      reclaimPolicy: 'Delete',
      volumeBindingMode: 'Immediate',
      allowVolumeExpansion: true,
      parameters: { bus: 'scsi', infraStorageClassName: EXPANDABLE_STORAGE_CLASS },
    },
    { apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'grow', namespace: 'default' }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: CLASS, resources: { requests: { storage: '64Mi' } } } },
  ]);
  const pvName = await waitFor(
    async () => {
      const c = await ctx.getJSON<Claim>(admin, ['pvc', 'grow']);
      if (c.status?.phase === 'Bound' && c.spec.volumeName) return c.spec.volumeName;
      throw new Error(`pvc grow ${c.status?.phase ?? '?'}\n${ctx.logs()}`);
    },
    { timeoutMs: 60_000, what: 'pvc grow bound' },
  );
  const handle = (await ctx.getJSON<Volume>(admin, ['pv', pvName])).spec.csi?.volumeHandle ?? '';
  ctx.handles.push(handle);

  // The pod reports the size of the filesystem it has mounted, every half second, for as long as it runs.
  const dfPod = ctx.pod('df', ctx.node, "trap 'exit 0' TERM; while true; do df -kP /data | tail -n 1; sleep 0.5; done", { claim: 'grow', mountPath: '/data' });
  await ctx.apply([dfPod]);
  try {
    await growWhileMounted(ctx, pvName, handle, dfPod);
  } finally {
    // The pod keeps the claim in use: it goes whatever happened, so the suite's last test can delete the claim.
    await kubectl(admin, ['delete', 'pod', 'df', '--ignore-not-found', '--wait=true', '--timeout=90s']);
  }
}

/** With pod df running on the 64Mi claim: grows the claim to 128Mi and checks each side. */
async function growWhileMounted(ctx: ExpansionContext, pvName: string, handle: string, dfPod: object): Promise<void> {
  const { admin, mgmt } = ctx;
  const podKiB = async () => {
    const last = (await kubectl(admin, ['logs', 'df', '--tail=1'])).trim();
    const total = Number(last.split(/\s+/)[1]);
    if (!Number.isFinite(total) || total <= 0) throw new Error(`pod df: ${JSON.stringify(last)}`);
    return total;
  };
  const before = await ctx.timed('pod with the 64Mi volume mounted, reporting df', () => waitFor(podKiB, { timeoutMs: 150_000, what: 'df output of pod df' }));
  expect(before * 1024).to.be.within(48 * MiB, 64 * MiB);

  await kubectl(admin, ['patch', 'pvc', 'grow', '--type=merge', '-p', JSON.stringify({ spec: { resources: { requests: { storage: '128Mi' } } } })]);
  // The controller side, whatever the node can do: the PV, the infra claim (exactly the bytes asked for, its resize
  // finished) and the disk the VM sees (the device the pod's filesystem is on) all grew.
  await ctx.timed('PV, infra claim and the disk in the VM at 128Mi (resizer, ControllerExpandVolume, simulated infra storage)', () =>
    waitFor(
      async () => {
        const pv = bytes((await ctx.getJSON<Volume>(admin, ['pv', pvName])).spec.capacity?.storage);
        const infra = await ctx.getJSON<Claim>(mgmt, ['pvc', '-n', ctx.infraNamespace, handle]);
        const device = (await kubectl(admin, ['logs', 'df', '--tail=1'])).trim().split(/\s+/)[0] ?? '';
        const disk = Number((await ctx.inGuest(ctx.node, ['blockdev', '--getsize64', device])).stdout.trim());
        if (pv === 128 * MiB && bytes(infra.status?.capacity?.storage) === 128 * MiB && !(infra.status?.conditions ?? []).some((x) => x.type.includes('Resiz')) && disk === 128 * MiB) return true;
        throw new Error(`pv ${String(pv)}, infra claim ${JSON.stringify(infra.status)}, disk ${device} ${String(disk)} bytes\n${ctx.logs()}`);
      },
      { timeoutMs: 120_000, what: 'the PV, the infra claim and the guest disk at 128Mi' },
    ),
  );

  if (!holdsSysResource()) {
    // Without CAP_SYS_RESOURCE no process here can grow a mounted ext4: the node's answer must say exactly that, on
    // the claim, where the kubelet reports it, and the claim must keep waiting for the filesystem resize.
    const claim = await ctx.timed('guest kubelet reported the refused online resize (no CAP_SYS_RESOURCE here)', () =>
      waitFor(
        async () => {
          const c = await ctx.getJSON<Claim>(admin, ['pvc', 'grow']);
          if ((c.status?.conditions ?? []).some((x) => x.type === 'NodeResizeError' && (x.message ?? '').includes('needs CAP_SYS_RESOURCE'))) return c;
          throw new Error(`pvc status ${JSON.stringify(c.status)}\n${ctx.logs()}`);
        },
        { timeoutMs: 60_000, what: 'NodeResizeError naming CAP_SYS_RESOURCE on pvc grow' },
      ),
    );
    expect(claim.status?.conditions?.map((c) => c.type)).to.include('FileSystemResizePending');
    expect(bytes(claim.status?.capacity?.storage)).to.equal(64 * MiB);
    // What the node could not grow mounted it grows before staging it again: the claim's next pod, on the same
    // node, sees the grown filesystem, and the kubelet's retried NodeExpandVolume finds nothing left to do.
    await ctx.timed('pod df restarted: the volume unstaged and staged again (grown offline, no CAP_SYS_RESOURCE needed)', async () => {
      await kubectl(admin, ['delete', 'pod', 'df', '--wait=true', '--timeout=90s']);
      await ctx.apply([dfPod]);
    });
  }
  const claim = await ctx.timed('PVC capacity 128Mi and resize conditions cleared (guest kubelet NodeExpandVolume)', () =>
    waitFor(
      async () => {
        const c = await ctx.getJSON<Claim>(admin, ['pvc', 'grow']);
        if (bytes(c.status?.capacity?.storage) === 128 * MiB && !(c.status?.conditions ?? []).some((x) => x.type.includes('Resiz'))) return c;
        throw new Error(`pvc status ${JSON.stringify(c.status)}\n${ctx.logs()}`);
      },
      { timeoutMs: 120_000, what: 'pvc grow at 128Mi with no resize condition' },
    ),
  );
  expect(claim.status?.allocatedResourceStatuses ?? {}).to.deep.equal({});

  // What the pod sees: a filesystem grown by (nearly) the 64 MiB added (online, or in the restarted pod).
  const after = await ctx.timed('df in the pod shows the grown filesystem', () =>
    waitFor(
      async () => {
        const kib = await podKiB();
        if (kib * 1024 > before * 1024 + 56 * MiB) return kib;
        throw new Error(`df total ${String(kib)} KiB, was ${String(before)} KiB`);
      },
      { timeoutMs: 60_000, what: 'the pod to see the grown filesystem' },
    ),
  );
  expect(after * 1024).to.be.within(112 * MiB, 128 * MiB);
  expect((await ctx.getJSON<{ status?: { phase?: string } }>(admin, ['pod', 'df'])).status?.phase).to.equal('Running');
}
