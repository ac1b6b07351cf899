// KubeVirt kinds (kubevirt.io/v1) as kvcloud builds and reads them: VirtualMachine, VirtualMachineInstance and
// VirtualMachineInstanceMigration with upstream JSON names. Only the fields some component touches are typed;
// objects round-trip untyped fields unchanged because they are plain JSON.
import type { KubeObject, ObjectMeta, TypeMeta } from '../kube/object.js';
import type { DataVolumeSpec } from './cdi.js';
import type { Affinity, LocalObjectReference, Quantity, ResourceRequirements, Toleration } from './core.js';

export const KUBEVIRT_GROUP = 'kubevirt.io';
export const KUBEVIRT_VERSION = 'v1';
export const KUBEVIRT_API_VERSION = `${KUBEVIRT_GROUP}/${KUBEVIRT_VERSION}`;

export const VIRTUAL_MACHINE_TYPE: TypeMeta = { apiVersion: KUBEVIRT_API_VERSION, kind: 'VirtualMachine' };
export const VIRTUAL_MACHINE_INSTANCE_TYPE: TypeMeta = { apiVersion: KUBEVIRT_API_VERSION, kind: 'VirtualMachineInstance' };
export const VIRTUAL_MACHINE_INSTANCE_MIGRATION_TYPE: TypeMeta = {
  apiVersion: KUBEVIRT_API_VERSION,
  kind: 'VirtualMachineInstanceMigration',
};

/** virt-controller labels the launcher Pod and VMI with the VM's name. */
export const VM_NAME_LABEL = 'vm.kubevirt.io/name';
/** On the launcher Pod: the uid of the VMI it runs. */
export const CREATED_BY_LABEL = 'kubevirt.io/created-by';
/** On the launcher Pod: "virt-launcher". */
export const KUBEVIRT_APP_LABEL = 'kubevirt.io';
/** On a VM or VMI: an Ignition config handed to the guest instead of cloud-init (what CAPK sets for Ignition). */
export const IGNITION_ANNOTATION = 'kubevirt.io/ignitiondata';
/** On a VMI: the node it runs on (set by virt-controller). */
export const VMI_NODE_NAME_LABEL = 'kubevirt.io/nodeName';

export type RunStrategy = 'Always' | 'RerunOnFailure' | 'Manual' | 'Halted' | 'Once' | 'WaitAsReceiver';
export type EvictionStrategy = 'None' | 'LiveMigrate' | 'LiveMigrateIfPossible' | 'External';

export interface CPU {
  cores?: number;
  sockets?: number;
  threads?: number;
  model?: string;
  dedicatedCpuPlacement?: boolean;
  maxSockets?: number;
}

export interface Memory {
  guest?: Quantity;
  maxGuest?: Quantity;
  hugepages?: { pageSize?: string };
}

export interface Disk {
  name: string;
  disk?: { bus?: string; readonly?: boolean };
  cdrom?: { bus?: string; readonly?: boolean; tray?: string };
  lun?: { bus?: string; readonly?: boolean };
  bootOrder?: number;
  serial?: string;
  cache?: string;
}

export interface Interface {
  name: string;
  model?: string;
  macAddress?: string;
  bridge?: Record<string, never>;
  masquerade?: Record<string, never>;
  sriov?: Record<string, never>;
  binding?: { name: string };
  ports?: { name?: string; protocol?: string; port: number }[];
  pciAddress?: string;
}

export interface GPU {
  name: string;
  deviceName: string;
  tag?: string;
  virtualGPUOptions?: Record<string, unknown>;
}

export interface HostDevice {
  name: string;
  deviceName: string;
  tag?: string;
}

export interface Devices {
  disks?: Disk[];
  interfaces?: Interface[];
  gpus?: GPU[];
  hostDevices?: HostDevice[];
  networkInterfaceMultiqueue?: boolean;
  autoattachPodInterface?: boolean;
  autoattachGraphicsDevice?: boolean;
  autoattachSerialConsole?: boolean;
  blockMultiQueue?: boolean;
}

export interface DomainSpec {
  resources?: ResourceRequirements & { overcommitGuestOverhead?: boolean };
  cpu?: CPU;
  memory?: Memory;
  machine?: { type?: string };
  firmware?: { uuid?: string; serial?: string; bootloader?: Record<string, unknown> };
  features?: Record<string, unknown>;
  clock?: Record<string, unknown>;
  devices: Devices;
  ioThreadsPolicy?: string;
}

/** Cloud-init payload: inline, base64 or from a Secret (userData/userdata and networkData/networkdata keys). */
export interface CloudInitSource {
  userData?: string;
  userDataBase64?: string;
  secretRef?: LocalObjectReference;
  networkData?: string;
  networkDataBase64?: string;
  networkDataSecretRef?: LocalObjectReference;
}

export interface Volume {
  name: string;
  containerDisk?: { image: string; imagePullPolicy?: string; imagePullSecret?: string; path?: string };
  cloudInitNoCloud?: CloudInitSource;
  cloudInitConfigDrive?: CloudInitSource;
  dataVolume?: { name: string; hotpluggable?: boolean };
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean; hotpluggable?: boolean };
  ephemeral?: { persistentVolumeClaim: { claimName: string; readOnly?: boolean } };
  emptyDisk?: { capacity: Quantity };
  hostDisk?: { path: string; type: string; capacity?: Quantity; shared?: boolean };
  secret?: { secretName?: string; optional?: boolean; volumeLabel?: string };
  configMap?: { name?: string; optional?: boolean; volumeLabel?: string };
  serviceAccount?: { serviceAccountName?: string };
}

export interface Network {
  name: string;
  pod?: { vmNetworkCIDR?: string; vmIPv6NetworkCIDR?: string };
  multus?: { networkName: string; default?: boolean };
}

export interface VirtualMachineInstanceSpec {
  domain: DomainSpec;
  nodeSelector?: Record<string, string>;
  affinity?: Affinity;
  tolerations?: Toleration[];
  topologySpreadConstraints?: Record<string, unknown>[];
  evictionStrategy?: EvictionStrategy;
  terminationGracePeriodSeconds?: number;
  volumes?: Volume[];
  networks?: Network[];
  hostname?: string;
  subdomain?: string;
  dnsPolicy?: string;
  dnsConfig?: Record<string, unknown>;
  priorityClassName?: string;
  schedulerName?: string;
  architecture?: string;
  accessCredentials?: Record<string, unknown>[];
  startStrategy?: 'Paused';
}

export interface VirtualMachineInstanceTemplateSpec {
  metadata?: ObjectMeta;
  spec?: VirtualMachineInstanceSpec;
}

/** A DataVolume the VM controller creates (named as given) and owns along with the VM. */
export interface DataVolumeTemplateSpec {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  spec: DataVolumeSpec;
}

export interface VirtualMachineSpec {
  /** Deprecated in favour of runStrategy; the two are mutually exclusive. */
  running?: boolean;
  runStrategy?: RunStrategy;
  template: VirtualMachineInstanceTemplateSpec;
  dataVolumeTemplates?: DataVolumeTemplateSpec[];
  instancetype?: { name: string; kind?: string; revisionName?: string };
  preference?: { name: string; kind?: string; revisionName?: string };
}

/** Shared shape of VM, VMI and migration conditions (KubeVirt's own, not metav1.Condition). */
export interface KubevirtCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string | null;
}

/** VM status.printableStatus: what `kubectl get vm` shows. */
export type VirtualMachinePrintableStatus =
  | 'Stopped'
  | 'Provisioning'
  | 'Starting'
  | 'Running'
  | 'Paused'
  | 'Stopping'
  | 'Terminating'
  | 'CrashLoopBackOff'
  | 'Migrating'
  | 'Unknown'
  | 'ErrorUnschedulable'
  | 'ErrImagePull'
  | 'ImagePullBackOff'
  | 'ErrorPvcNotFound'
  | 'DataVolumeError'
  | 'WaitingForVolumeBinding'
  | 'WaitingForReceiver';

export interface VirtualMachineStatus {
  created?: boolean;
  ready?: boolean;
  printableStatus?: VirtualMachinePrintableStatus;
  runStrategy?: RunStrategy;
  conditions?: KubevirtCondition[];
  startFailure?: { consecutiveFailCount?: number; lastFailedVMIUID?: string; retryAfterTimestamp?: string };
  stateChangeRequests?: { action: 'Start' | 'Stop'; data?: Record<string, string>; uid?: string }[];
  /** Hot-plug requests virt-api records (addvolume / removevolume on the VM) until virt-controller applies them. */
  volumeRequests?: VirtualMachineVolumeRequest[];
  volumeSnapshotStatuses?: { name: string; enabled: boolean; reason?: string }[];
  observedGeneration?: number;
  desiredGeneration?: number;
}

/** The body of the addvolume subresource. */
export interface AddVolumeOptions {
  name: string;
  disk: Disk;
  volumeSource: { dataVolume?: { name: string; hotpluggable?: boolean }; persistentVolumeClaim?: { claimName: string; readOnly?: boolean; hotpluggable?: boolean } };
  dryRun?: string[];
}

/** The body of the removevolume subresource. */
export interface RemoveVolumeOptions {
  name: string;
  dryRun?: string[];
}

export interface VirtualMachineVolumeRequest {
  addVolumeOptions?: AddVolumeOptions;
  removeVolumeOptions?: RemoveVolumeOptions;
}

export type VolumePhase = 'Pending' | 'Bound' | 'AttachedToNode' | 'MountedToPod' | 'Ready' | 'Detaching' | 'UnMountedFromPod';

export interface VolumeStatus {
  name: string;
  target: string;
  phase?: VolumePhase;
  reason?: string;
  message?: string;
  hotplugVolume?: { attachPodName?: string; attachPodUID?: string };
  persistentVolumeClaimInfo?: { claimName?: string; accessModes?: string[]; volumeMode?: string; capacity?: Record<string, Quantity>; requests?: Record<string, Quantity> };
}

export interface VirtualMachine extends KubeObject {
  spec?: VirtualMachineSpec;
  status?: VirtualMachineStatus;
}

export type VirtualMachineInstancePhase = 'Pending' | 'Scheduling' | 'Scheduled' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

/** VMI condition types kvcloud looks at. */
export const VMI_READY_CONDITION = 'Ready';
export const VMI_LIVE_MIGRATABLE_CONDITION = 'LiveMigratable';
export const VMI_POD_SCHEDULED_CONDITION = 'PodScheduled';
export const VMI_DATA_VOLUMES_READY_CONDITION = 'DataVolumesReady';
export const VMI_AGENT_CONNECTED_CONDITION = 'AgentConnected';

export interface VirtualMachineInstanceNetworkInterface {
  name?: string;
  interfaceName?: string;
  mac?: string;
  ipAddress?: string;
  ipAddresses?: string[];
  infoSource?: string;
  queueCount?: number;
  podInterfaceName?: string;
  linkState?: string;
}

export interface VirtualMachineInstanceMigrationState {
  migrationUid?: string;
  sourceNode?: string;
  targetNode?: string;
  targetNodeAddress?: string;
  sourcePod?: string;
  targetPod?: string;
  startTimestamp?: string;
  endTimestamp?: string;
  completed?: boolean;
  failed?: boolean;
  failureReason?: string;
  abortRequested?: boolean;
  abortStatus?: string;
  mode?: string;
}

export interface VirtualMachineInstanceStatus {
  phase?: VirtualMachineInstancePhase;
  reason?: string;
  nodeName?: string;
  conditions?: KubevirtCondition[];
  interfaces?: VirtualMachineInstanceNetworkInterface[];
  /** Set by virt-controller when the node is drained and evictionStrategy asks for it: the node to leave. */
  evacuationNodeName?: string;
  migrationState?: VirtualMachineInstanceMigrationState;
  migrationMethod?: 'BlockMigration' | 'LiveMigration';
  activePods?: Record<string, string>;
  guestOSInfo?: { id?: string; name?: string; prettyName?: string; version?: string; versionId?: string; kernelRelease?: string; kernelVersion?: string; machine?: string };
  volumeStatus?: VolumeStatus[];
  phaseTransitionTimestamps?: { phase: VirtualMachineInstancePhase; phaseTransitionTimestamp: string }[];
  qosClass?: string;
  launcherContainerImageVersion?: string;
}

export interface VirtualMachineInstance extends KubeObject {
  spec?: VirtualMachineInstanceSpec;
  status?: VirtualMachineInstanceStatus;
}

export type VirtualMachineInstanceMigrationPhase =
  | 'Unset'
  | 'Pending'
  | 'Scheduling'
  | 'Scheduled'
  | 'PreparingTarget'
  | 'TargetReady'
  | 'Running'
  | 'Succeeded'
  | 'Failed';

export interface VirtualMachineInstanceMigration extends KubeObject {
  spec?: { vmiName: string; addedNodeSelector?: Record<string, string> };
  status?: {
    phase?: VirtualMachineInstanceMigrationPhase;
    conditions?: KubevirtCondition[];
    migrationState?: VirtualMachineInstanceMigrationState;
    phaseTransitionTimestamps?: { phase: VirtualMachineInstanceMigrationPhase; phaseTransitionTimestamp: string }[];
  };
}
