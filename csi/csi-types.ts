// The csi.v1 messages the driver reads and writes, as protobufjs hands them over with the loader options of
// spec.ts (csi.proto's field names, enums by name, unset fields absent). Only the fields used are typed; the
// wire format is csi.proto's alone.

export type AccessModeName =
  | 'UNKNOWN'
  | 'SINGLE_NODE_WRITER'
  | 'SINGLE_NODE_READER_ONLY'
  | 'MULTI_NODE_READER_ONLY'
  | 'MULTI_NODE_SINGLE_WRITER'
  | 'MULTI_NODE_MULTI_WRITER'
  | 'SINGLE_NODE_SINGLE_WRITER'
  | 'SINGLE_NODE_MULTI_WRITER';

export interface VolumeCapability {
  block?: Record<string, never>;
  mount?: { fs_type?: string; mount_flags?: string[]; volume_mount_group?: string };
  access_mode?: { mode?: AccessModeName };
  access_type?: 'block' | 'mount';
}

export interface CapacityRange {
  required_bytes?: number;
  limit_bytes?: number;
}

export interface Volume {
  capacity_bytes?: number;
  volume_id: string;
  volume_context?: Record<string, string>;
  content_source?: VolumeContentSource;
  accessible_topology?: Topology[];
}

export interface Topology {
  segments?: Record<string, string>;
}

export interface TopologyRequirement {
  requisite?: Topology[];
  preferred?: Topology[];
}

export interface VolumeContentSource {
  snapshot?: { snapshot_id?: string };
  volume?: { volume_id?: string };
  type?: 'snapshot' | 'volume';
}

export interface CreateVolumeRequest {
  name?: string;
  capacity_range?: CapacityRange;
  volume_capabilities?: VolumeCapability[];
  parameters?: Record<string, string>;
  volume_content_source?: VolumeContentSource;
  mutable_parameters?: Record<string, string>;
  accessibility_requirements?: TopologyRequirement;
}

export interface ControllerPublishVolumeRequest {
  volume_id?: string;
  node_id?: string;
  volume_capability?: VolumeCapability;
  readonly?: boolean;
  volume_context?: Record<string, string>;
}

export interface ControllerUnpublishVolumeRequest {
  volume_id?: string;
  node_id?: string;
}

export interface ValidateVolumeCapabilitiesRequest {
  volume_id?: string;
  volume_context?: Record<string, string>;
  volume_capabilities?: VolumeCapability[];
  parameters?: Record<string, string>;
}

export interface GetCapacityRequest {
  volume_capabilities?: VolumeCapability[];
  parameters?: Record<string, string>;
  accessible_topology?: Topology;
}

export interface NodeGetVolumeHealthRequest {
  volume_id?: string;
  volume_publish_path?: string;
  staging_target_path?: string;
}

/** csi.v1.VolumeHealth's entries: status is VolumeHealthErrorType by name, reason CamelCase, one entry per (status, reason). */
export interface VolumeHealthEntry {
  status: 'DEGRADED' | 'INACCESSIBLE' | 'DATA_LOSS';
  reason: string;
  message: string;
}

export interface ListVolumesRequest {
  max_entries?: number;
  starting_token?: string;
}

export interface NodeStageVolumeRequest {
  volume_id?: string;
  publish_context?: Record<string, string>;
  staging_target_path?: string;
  volume_capability?: VolumeCapability;
  volume_context?: Record<string, string>;
}

export interface NodeUnstageVolumeRequest {
  volume_id?: string;
  staging_target_path?: string;
}

export interface NodePublishVolumeRequest {
  volume_id?: string;
  publish_context?: Record<string, string>;
  staging_target_path?: string;
  target_path?: string;
  volume_capability?: VolumeCapability;
  readonly?: boolean;
  volume_context?: Record<string, string>;
}

export interface NodeUnpublishVolumeRequest {
  volume_id?: string;
  target_path?: string;
}

export interface NodeGetVolumeStatsRequest {
  volume_id?: string;
  volume_path?: string;
}

export interface ControllerExpandVolumeRequest {
  volume_id?: string;
  capacity_range?: CapacityRange;
  volume_capability?: VolumeCapability;
}

export interface NodeExpandVolumeRequest {
  volume_id?: string;
  volume_path?: string;
  capacity_range?: CapacityRange;
  staging_target_path?: string;
  volume_capability?: VolumeCapability;
}

export interface CreateSnapshotRequest {
  source_volume_id?: string;
  name?: string;
  parameters?: Record<string, string>;
}

export interface ListSnapshotsRequest {
  max_entries?: number;
  starting_token?: string;
  source_volume_id?: string;
  snapshot_id?: string;
}

export interface Snapshot {
  size_bytes: number;
  snapshot_id: string;
  source_volume_id: string;
  creation_time?: { seconds: number; nanos: number };
  ready_to_use: boolean;
}
