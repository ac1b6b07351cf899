// The driver's command line: kubevirt/csi-driver's flags, so its Deployment and DaemonSet manifests run this
// program unchanged (--endpoint, --infra-cluster-namespace/-kubeconfig/-labels, --tenant-cluster-kubeconfig,
// --node-name, --run-node-service, --run-controller-service), plus kvcloud's --csi-proto and --node-id, and
// --registration-socket (with --kubelet-registration-path, --registration-proto) for the node plugin to register
// itself with the kubelet where no node-driver-registrar runs beside it, --tenant-manifests for the controller to
// apply the tenant side of the driver (tenant-objects.ts), --cluster-name for it to tell the tenant's VMs from other
// tenants' in a shared infra namespace (controller/vm-ownership.ts), and --metrics-bind-address; --tenant-snapshot-crds
// (with --snapshot-crds) for the controller to apply the VolumeSnapshot CRDs before the tenant side (snapshot-crds.ts),
// --sidecar-kubeconfig-dir for it to keep the sidecars' own narrower tenant kubeconfig there (sidecar-credentials.ts;
// --sidecar-service-account names whose; with neither service the process does only that, for snapshot-controller's
// Pod), --setup-only for a Pod's init container to do the tenant side once and exit, before the sidecars start, and
// --topology for the controller to place volumes in the zones their infra storage serves (controller/topology.ts).
import { parseArgs } from 'node:util';
import { parseLabelList } from './controller/parameters.js';
import { defaultRegistrationProtoPath } from './registration.js';
import { SIDECAR_SERVICE_ACCOUNT } from './sidecar-credentials.js';
import { defaultSnapshotCrdsPath } from './snapshot-crds.js';
import { defaultCsiProtoPath } from './spec.js';

export interface DriverFlags {
  endpoint: string;
  csiProto: string;
  runControllerService: boolean;
  runNodeService: boolean;
  infraNamespace: string | undefined;
  infraKubeconfig: string | undefined;
  infraLabels: Record<string, string>;
  tenantKubeconfig: string | undefined;
  nodeName: string | undefined;
  nodeId: string | undefined;
  logLevel: string | undefined;
  /** The node plugin's kubelet registration socket (in the kubelet's plugins_registry); none: a registrar does it. */
  registrationSocket: string | undefined;
  /** The CSI socket as the kubelet reaches it; default the endpoint's own path. */
  kubeletRegistrationPath: string | undefined;
  registrationProto: string;
  /** A manifest of the driver's tenant objects the controller keeps applied in the tenant; none: nothing. */
  tenantManifests: string | undefined;
  /** Whether the controller applies the VolumeSnapshot CRDs into the tenant too, before the manifest's objects. */
  tenantSnapshotCrds: boolean;
  /** Those CRDs: default the copy shipped beside the program. */
  snapshotCrds: string;
  /** The tenant's Cluster: only VMs labelled cluster.x-k8s.io/cluster-name=<it> are its nodes; none: every VM of the namespace. */
  clusterName: string | undefined;
  /** Where /metrics is served (controller-runtime's syntax); "0": nowhere. */
  metricsBindAddress: string;
  /** Where the controller keeps the sidecars' kubeconfig and token for their tenant ServiceAccount; none: nowhere. */
  sidecarKubeconfigDir: string | undefined;
  /** The tenant ServiceAccount (<namespace>/<name>) that kubeconfig is for; default the controller sidecars'. */
  sidecarServiceAccount: { namespace: string; name: string };
  /** Apply the tenant objects and write the sidecars' kubeconfig once, then exit, serving nothing. */
  setupOnly: boolean;
  /** Volumes placed in zones their infra StorageClass serves, and VOLUME_ACCESSIBILITY_CONSTRAINTS advertised. */
  topology: boolean;
}

/** "<namespace>/<name>" of a ServiceAccount. */
function serviceAccountOf(value: string): { namespace: string; name: string } {
  const [namespace, name, ...rest] = value.split('/');
  if (!namespace || !name || rest.length > 0) throw new Error(`--sidecar-service-account: "${value}" is not <namespace>/<name>`);
  return { namespace, name };
}

function bool(flag: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (value === 'true' || value === '') return true;
  if (value === 'false') return false;
  throw new Error(`--${flag}: "${value}" is not true or false`);
}

export function parseDriverFlags(argv: string[], env: NodeJS.ProcessEnv = process.env): DriverFlags {
  const s = { type: 'string' } as const;
  const { values } = parseArgs({
    args: argv,
    options: {
      endpoint: s,
      'csi-proto': s,
      'run-controller-service': s,
      'run-node-service': s,
      'infra-cluster-namespace': s,
      'infra-cluster-kubeconfig': s,
      'infra-cluster-labels': s,
      'tenant-cluster-kubeconfig': s,
      'node-name': s,
      'node-id': s,
      'volume-prefix': s,
      'log-level': s,
      'registration-socket': s,
      'kubelet-registration-path': s,
      'registration-proto': s,
      'tenant-manifests': s,
      'tenant-snapshot-crds': s,
      'snapshot-crds': s,
      'cluster-name': s,
      'metrics-bind-address': s,
      'sidecar-kubeconfig-dir': s,
      'sidecar-service-account': s,
      'setup-only': s,
      topology: s,
      v: s,
    },
    strict: true,
  });
  const flags: DriverFlags = {
    endpoint: values.endpoint ?? 'unix:/csi/csi.sock',
    csiProto: values['csi-proto'] ?? defaultCsiProtoPath(env),
    runControllerService: bool('run-controller-service', values['run-controller-service'], true),
    runNodeService: bool('run-node-service', values['run-node-service'], true),
    infraNamespace: values['infra-cluster-namespace'],
    infraKubeconfig: values['infra-cluster-kubeconfig'],
    infraLabels: parseLabelList(values['infra-cluster-labels'] ?? ''),
    tenantKubeconfig: values['tenant-cluster-kubeconfig'],
    nodeName: values['node-name'],
    nodeId: values['node-id'],
    logLevel: values['log-level'],
    registrationSocket: values['registration-socket'],
    kubeletRegistrationPath: values['kubelet-registration-path'],
    registrationProto: values['registration-proto'] ?? defaultRegistrationProtoPath(env),
    tenantManifests: values['tenant-manifests'],
    tenantSnapshotCrds: bool('tenant-snapshot-crds', values['tenant-snapshot-crds'], false),
    snapshotCrds: values['snapshot-crds'] ?? defaultSnapshotCrdsPath(env),
    clusterName: values['cluster-name'],
    metricsBindAddress: values['metrics-bind-address'] ?? '0',
    sidecarKubeconfigDir: values['sidecar-kubeconfig-dir'],
    sidecarServiceAccount: serviceAccountOf(values['sidecar-service-account'] ?? `${SIDECAR_SERVICE_ACCOUNT.namespace}/${SIDECAR_SERVICE_ACCOUNT.name}`),
    setupOnly: bool('setup-only', values['setup-only'], false),
    topology: bool('topology', values.topology, false),
  };
  // A setup runs no controller service: it needs only the tenant.
  if (flags.runControllerService && !flags.setupOnly) {
    if (!flags.infraNamespace) throw new Error('--infra-cluster-namespace is required to run the controller service');
    // Without them every DataVolume of the namespace would count as this tenant's (kubevirt/csi-driver insists too).
    if (Object.keys(flags.infraLabels).length === 0) throw new Error('--infra-cluster-labels is required to run the controller service: they tie infra volumes to this tenant');
  }
  if (flags.clusterName === '') throw new Error('--cluster-name: empty; name the Cluster whose VMs are this tenant\'s nodes, or leave the flag out');
  if (flags.runNodeService && !flags.nodeId && !flags.nodeName) throw new Error('--node-name (or --node-id) is required to run the node service');
  // Without a tenant kubeconfig the default one is the infra cluster's: the tenant's objects must never land there.
  if (flags.tenantManifests && !flags.tenantKubeconfig) throw new Error('--tenant-manifests needs --tenant-cluster-kubeconfig: the objects are applied into the tenant');
  if (flags.tenantManifests && !flags.runControllerService) throw new Error('--tenant-manifests is applied by the controller service, which --run-controller-service=false turns off');
  if (flags.tenantSnapshotCrds && !flags.tenantKubeconfig) throw new Error('--tenant-snapshot-crds needs --tenant-cluster-kubeconfig: the CRDs are applied into the tenant');
  if (flags.tenantSnapshotCrds && !flags.runControllerService) throw new Error('--tenant-snapshot-crds is applied by the controller service, which --run-controller-service=false turns off');
  // The token is requested with the tenant kubeconfig's rights; the default kubeconfig is the infra cluster's.
  if (flags.sidecarKubeconfigDir && !flags.tenantKubeconfig) throw new Error('--sidecar-kubeconfig-dir needs --tenant-cluster-kubeconfig: the sidecars\' token is requested from the tenant');
  if (flags.sidecarKubeconfigDir && flags.runNodeService) throw new Error('--sidecar-kubeconfig-dir is for the controller\'s sidecars (or a process of its own), not the node plugin: add --run-node-service=false');
  if (flags.setupOnly && !flags.tenantManifests && !flags.sidecarKubeconfigDir) throw new Error('--setup-only has nothing to do without --tenant-manifests or --sidecar-kubeconfig-dir');
  // The node plugin reports its Node's zone whenever it has one; placing volumes by zone is the controller's.
  if (flags.topology && !flags.runControllerService) throw new Error('--topology places volumes in zones, which the controller service does: --run-controller-service=false turns it off');
  if (flags.registrationSocket && !flags.runNodeService) throw new Error('--registration-socket registers the node service, which --run-node-service=false turns off');
  return flags;
}
