// The --cloud-config file: kubevirt/cloud-provider-kubevirt's keys and defaults, so existing files work unchanged,
// plus kvcloud's infraAnnotations and loadBalancer.classes. Parsing is strict where upstream's is lenient: an
// unknown key or a value of the wrong type stops start-up with a message naming the key, instead of a typo
// silently turning a feature off.
import { parseDocument } from 'yaml';
import { CLUSTER_NAME_LABEL, TENANT_SERVICE_NAME_LABEL, TENANT_SERVICE_NAMESPACE_LABEL } from '../api/labels.js';

export interface LoadBalancerConfig {
  enabled: boolean;
  /** Seconds; upstream polls at this interval after creating an infra Service. We watch it instead. */
  creationPollInterval: number;
  /** Seconds an infra Service may go without an address before the tenant Service says it timed out. */
  creationPollTimeout: number;
  /** No selector on the infra Service: something else (the EndpointSlice controller or a third party) fills it. */
  selectorless: boolean;
  enableEPSController: boolean;
  /**
   * Tenant loadBalancerClass -> infra loadBalancerClass ("" = the infra cluster's default implementation). Tenant
   * Services without a class are always ours; a class not listed here belongs to another controller.
   */
  classes: Record<string, string>;
}

export interface InstancesV2Config {
  enabled: boolean;
  zoneAndRegionEnabled: boolean;
}

export interface CloudConfig {
  /** Path of the infra cluster's kubeconfig; empty: the in-cluster ServiceAccount. */
  kubeconfig: string;
  /** Infra namespace of the VMs and infra Services; empty: the kubeconfig context's (or the Pod's) namespace. */
  namespace: string;
  infraLabels: Record<string, string>;
  infraAnnotations: Record<string, string>;
  loadBalancer: LoadBalancerConfig;
  instancesV2: InstancesV2Config;
}

// Upstream's defaults (createDefaultCloudConfig): both interfaces on, 5 s / 5 min creation polling.
export function defaultCloudConfig(): CloudConfig {
  return {
    kubeconfig: '',
    namespace: '',
    infraLabels: {},
    infraAnnotations: {},
    loadBalancer: { enabled: true, creationPollInterval: 5, creationPollTimeout: 300, selectorless: false, enableEPSController: false, classes: {} },
    instancesV2: { enabled: true, zoneAndRegionEnabled: true },
  };
}

/** Infra Service labels the CCM owns: infraLabels may not override them, or ownership lookups would break. */
const RESERVED_LABELS = new Set([TENANT_SERVICE_NAME_LABEL, TENANT_SERVICE_NAMESPACE_LABEL, CLUSTER_NAME_LABEL]);

const NAME_PART = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Why `key` is not a Kubernetes qualified name (label and annotation keys, loadBalancerClass), or undefined. */
export function qualifiedNameProblem(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined && (prefix.length > 253 || !DNS_SUBDOMAIN.test(prefix))) return `prefix "${prefix}" must be a lowercase DNS subdomain`;
  if (name.length === 0 || name.length > 63 || !NAME_PART.test(name)) {
    return `name "${name}" must be 1-63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
  }
  return undefined;
}

function labelValueProblem(value: string): string | undefined {
  if (value === '') return undefined;
  return value.length <= 63 && NAME_PART.test(value)
    ? undefined
    : `value "${value}" must be at most 63 characters of letters, digits, '-', '_' or '.', starting and ending with a letter or digit`;
}

export class CloudConfigError extends Error {
  override readonly name = 'CloudConfigError';
}

type Scalar = 'string' | 'boolean' | 'integer';
type Field = Scalar | { map: 'labels' | 'annotations' | 'classes' } | { object: Record<string, Field> };

const SCHEMA: Record<string, Field> = {
  kubeconfig: 'string',
  namespace: 'string',
  infraLabels: { map: 'labels' },
  infraAnnotations: { map: 'annotations' },
  loadBalancer: {
    object: {
      enabled: 'boolean',
      creationPollInterval: 'integer',
      creationPollTimeout: 'integer',
      selectorless: 'boolean',
      enableEPSController: 'boolean',
      classes: { map: 'classes' },
    },
  },
  instancesV2: { object: { enabled: 'boolean', zoneAndRegionEnabled: 'boolean' } },
};

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

const isMapping = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkScalar(path: string, kind: Scalar, value: unknown): void {
  const ok = kind === 'integer' ? Number.isInteger(value) : typeof value === kind;
  if (!ok) throw new CloudConfigError(`${path}: expected ${kind === 'integer' ? 'an integer' : `a ${kind}`}, got ${describe(value)}`);
}

function checkMap(path: string, kind: 'labels' | 'annotations' | 'classes', value: unknown): Record<string, string> {
  if (!isMapping(value)) throw new CloudConfigError(`${path}: expected a mapping of strings, got ${describe(value)}`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') throw new CloudConfigError(`${path}.${key}: expected a string, got ${describe(v)} (quote it)`);
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem) throw new CloudConfigError(`${path}: key "${key}" is not a valid ${kind === 'classes' ? 'loadBalancerClass' : `${kind.slice(0, -1)} key`}: ${keyProblem}`);
    if (kind === 'labels') {
      const valueProblem = labelValueProblem(v);
      if (valueProblem) throw new CloudConfigError(`${path}.${key}: ${valueProblem}`);
      if (RESERVED_LABELS.has(key)) throw new CloudConfigError(`${path}.${key}: the CCM sets this label itself; remove it`);
    }
    if (kind === 'classes' && v !== '') {
      const classProblem = qualifiedNameProblem(v);
      if (classProblem) throw new CloudConfigError(`${path}.${key}: infra loadBalancerClass "${v}" is not valid: ${classProblem}`);
    }
  }
  return value as Record<string, string>;
}

// Walks the document against SCHEMA, writing accepted values over the defaults. A null value (a key with nothing
// after the colon) leaves the default, as upstream's YAML decoder does.
function merge(path: string, schema: Record<string, Field>, source: Record<string, unknown>, target: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(source)) {
    const at = path ? `${path}.${key}` : key;
    const field = schema[key];
    if (field === undefined) throw new CloudConfigError(`${at}: unknown key (known here: ${Object.keys(schema).join(', ')})`);
    if (value === null) continue;
    if (typeof field === 'string') {
      checkScalar(at, field, value);
      target[key] = value;
    } else if ('map' in field) {
      target[key] = { ...checkMap(at, field.map, value) };
    } else {
      if (!isMapping(value)) throw new CloudConfigError(`${at}: expected a mapping, got ${describe(value)}`);
      merge(at, field.object, value, target[key] as Record<string, unknown>);
    }
  }
}

/** Parses a cloud-config file's text; throws CloudConfigError naming the offending key. */
export function parseCloudConfig(text: string): CloudConfig {
  // YAML 1.1, as upstream's decoder (gopkg.in/yaml.v2) reads it: yes/no/on/off are booleans there.
  const doc = parseDocument(text, { version: '1.1', uniqueKeys: true, prettyErrors: false });
  const [first] = doc.errors;
  if (first) throw new CloudConfigError(`not valid YAML: ${first.message}`);
  const root: unknown = doc.toJS();
  const config = defaultCloudConfig();
  if (root === null || root === undefined) return config;
  if (!isMapping(root)) throw new CloudConfigError(`expected a mapping at the top, got ${describe(root)}`);
  merge('', SCHEMA, root, config as unknown as Record<string, unknown>);
  if (config.namespace !== '' && (config.namespace.length > 63 || !DNS_LABEL.test(config.namespace))) {
    throw new CloudConfigError(`namespace: "${config.namespace}" is not a valid namespace name (lowercase DNS label)`);
  }
  // Upstream takes a value of zero or less as "use the default"; files relying on that keep working.
  const defaults = defaultCloudConfig().loadBalancer;
  if (config.loadBalancer.creationPollInterval <= 0) config.loadBalancer.creationPollInterval = defaults.creationPollInterval;
  if (config.loadBalancer.creationPollTimeout <= 0) config.loadBalancer.creationPollTimeout = defaults.creationPollTimeout;
  return config;
}
