// What makes a MachineDeployment a node group and what cluster-autoscaler learns about it: its id, its size bounds
// and its per-group options, read from the annotations the clusterapi cloud provider reads, so one set of
// annotations serves both ways of running cluster-autoscaler.
import type { MachineDeployment } from '../../lib/apis/cluster-api.js';
import type { ObjectRef } from '../../lib/kube/object.js';
import { AUTOSCALING_OPTIONS_PREFIX, NODE_GROUP_MAX_SIZE_ANNOTATION, NODE_GROUP_MIN_SIZE_ANNOTATION } from './api/annotations.js';

const ID_PREFIX = 'MachineDeployment/';

/** "MachineDeployment/<namespace>/<name>": stable for the MachineDeployment's life and readable in autoscaler logs. */
export function nodeGroupId(md: ObjectRef): string {
  return `${ID_PREFIX}${md.namespace ?? ''}/${md.name}`;
}

/** The MachineDeployment a node group id names, or undefined when the id is not one of ours. */
export function parseNodeGroupId(id: string): { namespace: string; name: string } | undefined {
  const m = /^MachineDeployment\/([a-z0-9]([-a-z0-9]*[a-z0-9])?)\/([a-z0-9]([-.a-z0-9]*[a-z0-9])?)$/.exec(id);
  return m?.[1] && m[3] ? { namespace: m[1], name: m[3] } : undefined;
}

export type SizeLimits = { min: number; max: number } | { problem: string };

/** The bounds of a node group; a MachineDeployment without both annotations is not one. */
export function sizeLimits(md: MachineDeployment): SizeLimits | undefined {
  const annotations = md.metadata.annotations ?? {};
  const minText = annotations[NODE_GROUP_MIN_SIZE_ANNOTATION];
  const maxText = annotations[NODE_GROUP_MAX_SIZE_ANNOTATION];
  if (minText === undefined && maxText === undefined) return undefined;
  if (minText === undefined || maxText === undefined) {
    return { problem: `needs both ${NODE_GROUP_MIN_SIZE_ANNOTATION} and ${NODE_GROUP_MAX_SIZE_ANNOTATION}` };
  }
  const min = parseCount(minText);
  const max = parseCount(maxText);
  if (min === undefined) return { problem: `${NODE_GROUP_MIN_SIZE_ANNOTATION} is "${minText}", not a whole number >= 0` };
  if (max === undefined) return { problem: `${NODE_GROUP_MAX_SIZE_ANNOTATION} is "${maxText}", not a whole number >= 0` };
  if (max < min) return { problem: `max size ${String(max)} is below min size ${String(min)}` };
  return { min, max };
}

function parseCount(text: string): number | undefined {
  if (!/^\d{1,9}$/.test(text.trim())) return undefined;
  return Number(text.trim());
}

/** google.protobuf.Duration as the proto loader hands it over. */
export interface Duration {
  seconds: number;
  nanos: number;
}

/** NodeGroupAutoscalingOptions with the proto's field names. */
export interface AutoscalingOptions {
  scaleDownUtilizationThreshold: number;
  scaleDownGpuUtilizationThreshold: number;
  zeroOrMaxNodeScaling: boolean;
  ignoreDaemonSetsUtilization: boolean;
  scaleDownUnneededDuration: Duration | null;
  scaleDownUnreadyDuration: Duration | null;
  MaxNodeProvisionDuration: Duration | null;
}

type OptionParser = (text: string) => Partial<AutoscalingOptions> | undefined;

const ratio = (field: 'scaleDownUtilizationThreshold' | 'scaleDownGpuUtilizationThreshold'): OptionParser => (text) => {
  const value = Number(text);
  return text.trim() !== '' && Number.isFinite(value) && value >= 0 && value <= 1 ? { [field]: value } : undefined;
};
const duration = (field: 'scaleDownUnneededDuration' | 'scaleDownUnreadyDuration' | 'MaxNodeProvisionDuration'): OptionParser => (text) => {
  const value = parseGoDuration(text);
  return value === undefined ? undefined : { [field]: value };
};
const flag = (field: 'ignoreDaemonSetsUtilization' | 'zeroOrMaxNodeScaling'): OptionParser => (text) =>
  text === 'true' || text === 'false' ? { [field]: text === 'true' } : undefined;

// The option names after the prefix, as cluster-autoscaler's config package names them.
const OPTIONS: Record<string, OptionParser> = {
  scaledownutilizationthreshold: ratio('scaleDownUtilizationThreshold'),
  scaledowngpuutilizationthreshold: ratio('scaleDownGpuUtilizationThreshold'),
  scaledownunneededtime: duration('scaleDownUnneededDuration'),
  scaledownunreadytime: duration('scaleDownUnreadyDuration'),
  maxnodeprovisiontime: duration('MaxNodeProvisionDuration'),
  ignoredaemonsetsutilization: flag('ignoreDaemonSetsUtilization'),
  zeroormaxnodescaling: flag('zeroOrMaxNodeScaling'),
};

/**
 * cluster-autoscaler replaces its defaults with whatever GetOptions returns, so the answer is the defaults it sent
 * with the group's annotations on top. Values that do not parse are left out and named in `problems`.
 */
export function autoscalingOptions(defaults: AutoscalingOptions, md: MachineDeployment): { options: AutoscalingOptions; problems: string[] } {
  const options = { ...defaults };
  const problems: string[] = [];
  for (const [key, text] of Object.entries(md.metadata.annotations ?? {})) {
    if (!key.startsWith(AUTOSCALING_OPTIONS_PREFIX)) continue;
    const parse = OPTIONS[key.slice(AUTOSCALING_OPTIONS_PREFIX.length)];
    const parsed = parse?.(text);
    if (parsed) Object.assign(options, parsed);
    else problems.push(parse ? `${key}: "${text}" is not a valid value` : `${key}: no such option`);
  }
  return { options, problems };
}

const UNIT_NANOS: Record<string, number> = { ns: 1, us: 1e3, µs: 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };

/** Go's time.ParseDuration for the non-negative durations options take ("90s", "1h30m", "1.5m"). */
export function parseGoDuration(text: string): Duration | undefined {
  if (text === '0') return { seconds: 0, nanos: 0 };
  const parts = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/.test(text) ? text.match(/\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h)/g) : null;
  if (!parts) return undefined;
  let nanos = 0;
  for (const part of parts) {
    const [, value = '', unit = ''] = /^(\d+(?:\.\d+)?)(\D+)$/.exec(part) ?? [];
    nanos += Number(value) * (UNIT_NANOS[unit] ?? Number.NaN);
  }
  if (!Number.isFinite(nanos)) return undefined;
  const rounded = Math.round(nanos);
  return { seconds: Math.floor(rounded / 1e9), nanos: rounded % 1e9 };
}
