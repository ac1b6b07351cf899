// Which local program an image runs. There is no container runtime here, so an image is a name for a set of
// programs built into ~/.cache/kvcloud (or shipped with the harness): its entrypoint, run when a container gives
// no command, and the executables a command may name. A tag must be one of the pinned versions, so a manifest
// that asks for another release fails visibly instead of silently running a different one. With $KVCLOUD_IMAGE_LAYOUT
// set, kvcloud's own images are real ones instead: read from that OCI layout and run from their unpacked roots.
import { readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { binaryPath, cacheDir, executable, type BinaryName } from '../binaries.js';
import { DEFAULT_CLUSTER_AUTOSCALER_IMAGE } from '../../providers/autoscaler/cluster-autoscaler-objects.js';
import { parseVersionsEnv, toolsDir, upstreamVersion } from '../versions.js';
import { compiledMain } from '../../packaging/compiled-js.js';
import { IMAGE_REPOSITORY } from '../../packaging/image-contents.js';
import { CAPK_BIN_ENV, CAPK_IMAGE } from '../clusterctl/capk-release.js';
import { configEnv, configUser, findInImage, IMAGE_LAYOUT_ENV, unpackedImage, type RunAs } from './image-rootfs.js';

export interface LocalImage {
  reference: string;
  /** argv prefix used when the container has no command. */
  entrypoint: string[];
  /** The argv that runs the executable a command names ("/manager" and "manager" alike), if the image has it. */
  findProgram(name: string): string[] | undefined;
  /** What findProgram knows, for error messages. */
  programNames: string[];
  /** The image's own environment, which the container's env overrides. */
  env: Record<string, string>;
  /** The image's default args (its config's Cmd): what runs after the entrypoint when the container gives no args. */
  cmd?: string[];
  /** Set when the image runs from its own unpacked root (image mode) rather than from this machine's files. */
  sandbox?: ImageSandbox;
  /** The image ID the pod's status reports (repository@digest), when the image has one. */
  id?: string;
}

export interface ImageSandbox {
  /** The unpacked image, shared: each container sees a private copy-on-write view of it. */
  rootfs: string;
  /** The config's User, which the pod's securityContext overrides. */
  user: RunAs;
  /** The config's WorkingDir, which the container's workingDir overrides. */
  workingDir: string;
}

/** No local program stands for the image: the pod shows ErrImagePull with this message. */
export class ImageNotMappedError extends Error {
  override readonly name = 'ImageNotMappedError';
}

/** The image has no executable of that name: the container fails to start (StartError). */
export class ExecutableNotFoundError extends Error {
  override readonly name = 'ExecutableNotFoundError';
}

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export const TEST_ECHO_IMAGE = 'kvcloud.local/test/echo:dev';
/** Runs the machine's own tools (sh, sleep, cat...): for tests of commands, exec probes and init containers. */
export const TEST_SHELL_IMAGE = 'kvcloud.local/test/shell:dev';

export function parseImageReference(ref: string): { repository: string; tag: string | undefined } {
  const withoutDigest = ref.split('@')[0] ?? ref;
  const slash = withoutDigest.lastIndexOf('/');
  const colon = withoutDigest.lastIndexOf(':');
  return colon > slash ? { repository: withoutDigest.slice(0, colon), tag: withoutDigest.slice(colon + 1) } : { repository: withoutDigest, tag: undefined };
}

function pinnedVersion(key: string): string | undefined {
  return parseVersionsEnv(readFileSync(join(toolsDir, 'versions.env'), 'utf8')).get(key);
}

/** A program `make tools` builds into the cache: present, or a message saying how to get it. */
function builtProgram(tool: string, version: string, file: string): string {
  const path = join(cacheDir(), 'bin', `${tool}-${version}`, file);
  if (!executable(path)) throw new ImageNotMappedError(`${file} ${version} is not built: no ${path} (\`e2e/tools/build.sh ${tool}\` fills that directory)`);
  return path;
}

function onPath(name: string): string | undefined {
  return DEFAULT_PATH.split(':')
    .map((dir) => join(dir, name))
    .find(executable);
}

interface ImagePrograms {
  entrypoint: string[];
  /** The image's own environment beside PATH. */
  env?: Record<string, string>;
  /** The argv of each executable by basename; undefined for the shell image, which uses the machine's PATH. */
  programs?: Record<string, string[]>;
}

interface CatalogEntry {
  /** Tags this image is available in. */
  tags: () => string[];
  /** The programs of one of those tags. */
  resolve: (tag: string) => Promise<ImagePrograms>;
}

/** The pinned release, then the older ones tenant control planes may start at (the upgrade proofs). */
function kubernetesTags(): string[] {
  const older = pinnedVersion('KUBERNETES_OLDER_VERSIONS') ?? '';
  return [upstreamVersion('KUBERNETES_VERSION'), ...older.split(',').filter((v) => v !== '')];
}

// The pinned release may come from envtest assets (binaryPath knows where); older ones only from `make tools`, which
// compiles them without optimisation (e2e/tools/kubernetes/build.sh says why).
const kubernetesImage = (name: BinaryName): CatalogEntry => ({
  tags: kubernetesTags,
  resolve: async (tag) => {
    const path = tag === upstreamVersion('KUBERNETES_VERSION') ? await binaryPath(name) : builtProgram('kubernetes', `${tag}-unoptimized`, name);
    return { entrypoint: [path], programs: { [name]: [path] } };
  },
});

const clusterAPI = (file: string): CatalogEntry => ({
  tags: () => [upstreamVersion('CLUSTER_API_VERSION')],
  resolve: () => {
    const path = builtProgram('cluster-api', upstreamVersion('CLUSTER_API_VERSION'), file);
    return Promise.resolve({ entrypoint: [path], programs: { manager: [path] } });
  },
});

// Konnectivity's images run /proxy-server and /proxy-agent.
const konnectivity = (file: string): CatalogEntry => ({
  tags: () => [upstreamVersion('KONNECTIVITY_VERSION')],
  resolve: () => {
    const path = builtProgram('konnectivity', upstreamVersion('KONNECTIVITY_VERSION'), file);
    return Promise.resolve({ entrypoint: [path], programs: { [file]: [path] } });
  },
});

// Upstream's cert-manager images run /app/cmd/<name>/<name>.
const certManager = (name: string): CatalogEntry => ({
  tags: () => [pinnedVersion('CERT_MANAGER_VERSION') ?? '(CERT_MANAGER_VERSION is not pinned in versions.env)'],
  resolve: () => {
    const path = builtProgram('cert-manager', pinnedVersion('CERT_MANAGER_VERSION') ?? '', `cert-manager-${name}`);
    return Promise.resolve({ entrypoint: [path], programs: { [name]: [path] } });
  },
});

// kube-proxy's image is the local cluster's userspace service proxy (service-proxy/kube-proxy.ts), at the Kubernetes
// tags the control plane images have: a tenant node of any supported version runs it as its kube-proxy DaemonSet pod.
const kubeProxy: CatalogEntry = {
  tags: kubernetesTags,
  resolve: () => {
    const argv = kvcloudMain('localcloud/cluster/service-proxy/kube-proxy.ts');
    return Promise.resolve({ entrypoint: argv, programs: { 'kube-proxy': argv } });
  },
};

// CoreDNS's image runs /coredns; its tag is the release without an image revision.
const coreDNS: CatalogEntry = {
  tags: () => [upstreamVersion('COREDNS_VERSION')],
  resolve: () => {
    const path = builtProgram('coredns', upstreamVersion('COREDNS_VERSION'), 'coredns');
    return Promise.resolve({ entrypoint: [path], programs: { coredns: [path] } });
  },
};

/** The binary Kamaji's image runs (e2e/peers/kamaji.peer.ts), and that image as Kamaji's chart names it by default. */
export const KAMAJI_BIN_ENV = 'KAMAJI_BIN';
export const KAMAJI_IMAGE = 'clastix/kamaji:latest';

/** The node-driver-registrar release kubevirt/csi-driver's DaemonSet (and config/csi/tenant's) runs. */
export const CSI_NODE_DRIVER_REGISTRAR_TAG = 'v2.18.0';

/** kvcloud's own images carry this tag in the release manifests (`make release-manifests`). */
export const KVCLOUD_IMAGE_TAG = 'dev';

// kvcloud's programs run compiled from this work tree as it is when the pod starts (packaging/compiled-js.ts), so a
// pod always runs the code under test, as JavaScript, the way it ships.
const kvcloudMain = (main: string): string[] => [process.execPath, compiledMain(main)];

// kvcloud's component images: their manifests give args only, so the entrypoint is all they need, unless the
// component replaces an upstream one whose manifests name its executable (`command`), which the image then has too.
const kvcloudComponent = (main: string, upstreamExecutable?: string): CatalogEntry => ({
  tags: () => [KVCLOUD_IMAGE_TAG],
  resolve: () => {
    const argv = kvcloudMain(main);
    return Promise.resolve({ entrypoint: argv, programs: upstreamExecutable ? { [upstreamExecutable]: argv } : {} });
  },
});

// The CSI sidecars (registry.k8s.io/sig-storage/<tool>:<version>) run the binaries `make tools` builds at the version
// versions.env pins; `programs` names each executable the tool's directory holds.
const csiSidecar = (tool: string, versionKey: string, programs: string[] = [tool]): CatalogEntry => ({
  tags: () => [pinnedVersion(versionKey) ?? `(${versionKey} is not pinned in versions.env)`],
  resolve: () => {
    const paths = programs.map((p) => builtProgram(tool, pinnedVersion(versionKey) ?? '', p));
    return Promise.resolve({ entrypoint: [paths[0] ?? ''], programs: Object.fromEntries(programs.map((p, i) => [p, [paths[i] ?? '']])) });
  },
});

// A peer's image whose program is a binary built elsewhere and named by the environment variable `variable`, at the
// tag of the image the component asks for by default.
const peerBinary = (variable: string, image: string, file: string): CatalogEntry => ({
  tags: () => [parseImageReference(image).tag ?? ''],
  resolve: () => {
    const path = process.env[variable] ?? '';
    if (path === '') throw new ImageNotMappedError(`${image} runs the binary named by $${variable}, which this run does not set`);
    if (!executable(path)) throw new ImageNotMappedError(`${image} runs the binary named by $${variable}, which is not an executable ("${path}")`);
    return Promise.resolve({ entrypoint: [path], programs: { [file]: [path] } });
  },
});

const catalog: Record<string, CatalogEntry> = {
  'registry.k8s.io/kube-apiserver': kubernetesImage('kube-apiserver'),
  'registry.k8s.io/kube-controller-manager': kubernetesImage('kube-controller-manager'),
  'registry.k8s.io/kube-scheduler': kubernetesImage('kube-scheduler'),
  // etcd images are tagged "3.6.4-0": the release without its "v", and an image revision.
  'registry.k8s.io/etcd': {
    tags: () => {
      const v = upstreamVersion('ETCD_VERSION').replace(/^v/, '');
      return [`${v}-0`, `${v}-1`, `${v}-2`, `v${v}`];
    },
    resolve: async () => {
      const [etcd, etcdctl] = await Promise.all([binaryPath('etcd'), binaryPath('etcdctl')]);
      return { entrypoint: [etcd], programs: { etcd: [etcd], etcdctl: [etcdctl] } };
    },
  },
  'registry.k8s.io/cluster-api/cluster-api-controller': clusterAPI('cluster-api-controller'),
  'registry.k8s.io/cluster-api/kubeadm-bootstrap-controller': clusterAPI('kubeadm-bootstrap-controller'),
  'registry.k8s.io/cluster-api/kubeadm-control-plane-controller': clusterAPI('kubeadm-control-plane-controller'),
  'registry.k8s.io/kube-proxy': kubeProxy,
  'registry.k8s.io/coredns/coredns': coreDNS,
  'registry.k8s.io/kas-network-proxy/proxy-server': konnectivity('proxy-server'),
  'registry.k8s.io/kas-network-proxy/proxy-agent': konnectivity('proxy-agent'),
  'quay.io/jetstack/cert-manager-controller': certManager('controller'),
  'quay.io/jetstack/cert-manager-cainjector': certManager('cainjector'),
  'quay.io/jetstack/cert-manager-webhook': certManager('webhook'),
  // A small test server, compiled like the programs above (it is resolved from inside a compiled guest too).
  'kvcloud.local/test/echo': { tags: () => ['dev'], resolve: () => Promise.resolve({ entrypoint: kvcloudMain('localcloud/cluster/testdata/echo.ts'), programs: {} }) },
  'kvcloud.local/test/shell': { tags: () => ['dev'], resolve: () => Promise.resolve({ entrypoint: ['/bin/sh'] }) },
  'ghcr.io/kvcloud/infrastructure-manager': kvcloudComponent('providers/infrastructure/main.ts'),
  'ghcr.io/kvcloud/controlplane-manager': kvcloudComponent('providers/controlplane/main.ts'),
  // Operator access to tenant VMs (config/streaming): the CRI endpoint of streaming/operator.
  'ghcr.io/kvcloud/streaming-operator': kvcloudComponent('streaming/operator/main.ts'),
  // The externalgrpc CloudProvider and the per-Cluster cluster-autoscaler controller (config/autoscaler).
  'ghcr.io/kvcloud/autoscaler': kvcloudComponent('providers/autoscaler/main.ts'),
  // The tenants' cloud controller manager (the default cluster template runs one per tenant); upstream's kccm
  // manifests run it as /bin/kubevirt-cloud-controller-manager.
  'ghcr.io/kvcloud/ccm': kvcloudComponent('ccm/main.ts', 'kubevirt-cloud-controller-manager'),
  // The tenants' CSI driver (the default cluster template runs its controller per tenant, the node plugin DaemonSet
  // in the tenant); upstream's image runs the driver as its entrypoint too.
  // Its image ships csi.proto, the kubelet registration api.proto and the VolumeSnapshot CRDs the controller applies
  // into tenants beside the program: here, in the cache `make tools` fetches them into, which the pod's own HOME would hide.
  'ghcr.io/kvcloud/csi-driver': {
    tags: () => [KVCLOUD_IMAGE_TAG],
    resolve: () => Promise.resolve({ entrypoint: kvcloudMain('csi/main.ts'), programs: {}, env: { KVCLOUD_CACHE: cacheDir() } }),
  },
  // node-driver-registrar is not on the Go module proxy: its stand-in of the same flags (simulators/csi-registrar) runs
  // the node DaemonSet's registrar container, at the tag config/csi/tenant names. It reads csi.proto and the kubelet
  // registration api.proto from the cache `make tools` fills, as the driver does.
  'registry.k8s.io/sig-storage/csi-node-driver-registrar': {
    tags: () => [CSI_NODE_DRIVER_REGISTRAR_TAG],
    resolve: () => Promise.resolve({ entrypoint: kvcloudMain('simulators/csi-registrar/main.ts'), programs: {}, env: { KVCLOUD_CACHE: cacheDir() } }),
  },
  'registry.k8s.io/sig-storage/csi-provisioner': csiSidecar('csi-provisioner', 'EXTERNAL_PROVISIONER_VERSION'),
  'registry.k8s.io/sig-storage/csi-attacher': csiSidecar('csi-attacher', 'EXTERNAL_ATTACHER_VERSION'),
  'registry.k8s.io/sig-storage/csi-resizer': csiSidecar('csi-resizer', 'EXTERNAL_RESIZER_VERSION'),
  'registry.k8s.io/sig-storage/csi-snapshotter': csiSidecar('csi-snapshotter', 'EXTERNAL_SNAPSHOTTER_VERSION'),
  'registry.k8s.io/sig-storage/snapshot-controller': csiSidecar('csi-snapshotter', 'EXTERNAL_SNAPSHOTTER_VERSION', ['snapshot-controller']),
  // cluster-autoscaler is not on the Go module proxy, so `make tools` cannot build it: a binary given by path runs it.
  'registry.k8s.io/autoscaling/cluster-autoscaler': peerBinary('CLUSTER_AUTOSCALER', DEFAULT_CLUSTER_AUTOSCALER_IMAGE, 'cluster-autoscaler'),
  // CAPK, the peer kvcloud's infrastructure provider stands in for (bench/peers, e2e/peers): not on the Go module proxy
  // either; its Deployment runs /manager.
  'quay.io/capk/capk-manager-amd64': peerBinary(CAPK_BIN_ENV, CAPK_IMAGE, 'manager'),
  // Kamaji, the peer of kvcloud's control plane provider (e2e/peers): not on the Go module proxy either. Its chart runs
  // the image at the chart's appVersion with args only; the image's one program is kamaji, whose first arg names
  // the subcommand (manager, migrate).
  'clastix/kamaji': peerBinary(KAMAJI_BIN_ENV, KAMAJI_IMAGE, 'kamaji'),
  // The OS inside a simulated KubeVirt VM: the KubeVirt simulator's virt-launcher pods run it (simulators/guest). Its
  // kubelet's pod runner resolves images with this file too, so in image mode it is handed the layout and runs
  // kvcloud's pods in the VM from the same unpacked roots (the cache is this machine's: the guest sees its files).
  'kvcloud.local/test/virt-launcher': {
    tags: () => [KVCLOUD_IMAGE_TAG],
    resolve: () => {
      const layout = process.env[IMAGE_LAYOUT_ENV] ?? '';
      const env: Record<string, string> = layout === '' ? {} : { [IMAGE_LAYOUT_ENV]: layout };
      return Promise.resolve({ entrypoint: kvcloudMain('simulators/guest/main.ts'), programs: {}, env });
    },
  },
};

/**
 * A kvcloud image from the OCI layout `make image` wrote (image mode): its config says what runs, its unpacked root
 * holds every file the program may load. An image the layout lacks fails like a pull of a missing image.
 */
async function layoutImage(layout: string, reference: string, repository: string): Promise<LocalImage> {
  let unpacked;
  try {
    unpacked = await unpackedImage(join(cacheDir(), 'images'), layout, reference);
  } catch (err) {
    throw new ImageNotMappedError(`image "${reference}" from the OCI layout ${layout}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { rootfs, config } = unpacked;
  const env = configEnv(config);
  const findProgram = (name: string): string[] | undefined => {
    const path = findInImage(rootfs, env.PATH ?? DEFAULT_PATH, name);
    return path === undefined ? undefined : [path];
  };
  return {
    reference,
    entrypoint: config.Entrypoint,
    ...(config.Cmd ? { cmd: config.Cmd } : {}),
    findProgram,
    programNames: ['the files of the image'],
    env,
    sandbox: { rootfs, user: configUser(rootfs, config.User), workingDir: config.WorkingDir === '' ? '/' : config.WorkingDir },
    id: `${repository}@${unpacked.digest}`,
  };
}

export async function resolveImage(reference: string): Promise<LocalImage> {
  const { repository, tag } = parseImageReference(reference);
  const layout = process.env[IMAGE_LAYOUT_ENV] ?? '';
  if (layout !== '' && repository.startsWith(`${IMAGE_REPOSITORY}/`)) return layoutImage(layout, reference, repository);
  const entry = catalog[repository];
  if (!entry) {
    throw new ImageNotMappedError(`image "${reference}" has no local program; the pod runner knows ${Object.keys(catalog).sort().join(', ')}`);
  }
  const tags = entry.tags();
  if (tag === undefined || !tags.includes(tag)) {
    throw new ImageNotMappedError(`image "${reference}": ${repository} is available locally only as ${tags.join(', ')}`);
  }
  const { entrypoint, programs, env } = await entry.resolve(tag);
  const findProgram = programs
    ? (name: string) => programs[basename(name)]
    : (name: string) => {
        const path = name.startsWith('/') ? (executable(name) ? name : undefined) : onPath(name);
        return path === undefined ? undefined : [path];
      };
  return { reference, entrypoint, findProgram, programNames: programs ? Object.keys(programs) : ['anything on PATH'], env: { PATH: DEFAULT_PATH, ...env } };
}

/** Every reference (repository:tag) the catalog serves: what a node's image store lists (the guest's CRI ListImages). */
export function catalogImages(): string[] {
  return Object.entries(catalog).flatMap(([repository, entry]) => entry.tags().map((tag) => `${repository}:${tag}`));
}

/**
 * The argv a container runs: its command (or the image's entrypoint) followed by its args (or, when it gives
 * neither, the image's Cmd), as the kubelet combines them.
 */
export function containerArgv(image: LocalImage, command: string[] | undefined, args: string[] | undefined): string[] {
  if (!command?.length) return [...image.entrypoint, ...(args?.length ? args : (image.cmd ?? []))];
  const [name = '', ...rest] = command;
  const program = image.findProgram(name);
  if (!program) {
    throw new ExecutableNotFoundError(`exec: "${name}": executable file not found in image ${image.reference} (it has ${image.programNames.join(', ') || 'only its entrypoint'})`);
  }
  return [...program, ...rest, ...(args ?? [])];
}
