// What a user observes of a TenantControlPlane operator's work, made comparable between Kamaji and kvcloud: on top of
// observed-objects.ts's fields, the TenantControlPlane's spec as stored (defaults and webhooks applied) and its status,
// both as leaf paths, and each control plane container's image, command, flags, ports and mounts, since those are
// what `kubectl get tcp`, dashboards, Cluster API's KamajiControlPlane and the tenant's own components read.
import { observe, normalize, OPAQUE_VALUE, type Fields, type Observable, type Observed, type Placeholder } from './observed-objects.js';

/** Run-specific values inside a tenant: bootstrap token ids, and observed-objects' own. */
export function tenantRunSpecific(base: readonly Placeholder[]): Placeholder[] {
  return [{ pattern: /bootstrap-token-[a-z0-9]{6}/g, replacement: 'bootstrap-token-<id>' }, ...base];
}

interface Container {
  name: string;
  image?: string;
  command?: string[];
  args?: string[];
  ports?: { name?: string; containerPort?: number; protocol?: string }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface Workload extends Observable {
  metadata: Observable['metadata'] & { finalizers?: string[] };
  spec?: Observable['spec'] & {
    replicas?: number;
    strategy?: { type?: string };
    template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec?: { containers?: Container[]; initContainers?: Container[]; volumes?: { name: string }[]; serviceAccountName?: string } };
  };
}

interface Condition {
  type: string;
  status: string;
  reason?: string;
}

const isCondition = (v: unknown): v is Condition => typeof v === 'object' && v !== null && typeof (v as Condition).type === 'string' && typeof (v as Condition).status === 'string';

/**
 * Leaf values of `value` by dotted path under `prefix` (array items by index), conditions by type with their status and
 * reason only (their times and messages, which name ReplicaSets, differ between any two runs).
 */
function leaves(value: unknown, prefix: string, out: [string, string][] = []): [string, string][] {
  if (Array.isArray(value) && value.every(isCondition)) for (const c of value) out.push([`${prefix}.${c.type}`, `${c.status}${c.reason ? ` (${c.reason})` : ''}`]);
  else if (Array.isArray(value)) value.forEach((v, i) => leaves(v, `${prefix}.${String(i)}`, out));
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) leaves(v, `${prefix}.${k}`, out);
  else out.push([prefix, String(value)]);
  return out;
}

/** `--name=value` flags by name (a flag without a value is "true"); anything else by position. */
function flags(argv: readonly string[]): [string, string][] {
  return argv.map((a, i): [string, string] => {
    const m = /^(--?[^=]+)(?:=(.*))?$/.exec(a);
    return m ? [m[1] ?? a, m[2] ?? 'true'] : [`#${String(i)}`, a];
  });
}

function containerFields(kind: string, c: Container): [string, string][] {
  const p = `${kind} ${c.name}`;
  const out: [string, string][] = [[`${p} image`, c.image ?? '']];
  if (c.command) out.push([`${p} command`, c.command.join(' ')]);
  for (const [flag, value] of flags(c.args ?? [])) out.push([`${p} arg ${flag}`, value]);
  for (const port of c.ports ?? []) out.push([`${p} port ${port.name ?? ''}`, `${String(port.containerPort)}/${port.protocol ?? 'TCP'}`]);
  for (const m of c.volumeMounts ?? []) out.push([`${p} mount ${m.mountPath}`, `${m.name}${m.readOnly ? ' (ro)' : ''}`]);
  return out;
}

function extraFields(o: Workload): [string, string][] {
  const out: [string, string][] = [];
  if (o.metadata.finalizers?.length) out.push(['finalizers', [...o.metadata.finalizers].sort().join(',')]);
  if (o.kind === 'TenantControlPlane') {
    out.push(...leaves(o.spec, 'spec'));
    // Conditions are compared by observed-objects (type, status, reason); the rest of status leaf by leaf.
    for (const [field, value] of Object.entries(o.status ?? {})) if (field !== 'conditions') out.push(...leaves(value, `status.${field}`));
    return out;
  }
  const pod = o.spec?.template?.spec;
  if (!pod) return out;
  if (o.spec?.replicas !== undefined) out.push(['spec.replicas', String(o.spec.replicas)]);
  if (o.spec?.strategy?.type) out.push(['spec.strategy', o.spec.strategy.type]);
  if (pod.serviceAccountName) out.push(['pod serviceAccountName', pod.serviceAccountName]);
  out.push(['pod containers', (pod.containers ?? []).map((c) => c.name).join(',')]);
  if (pod.initContainers?.length) out.push(['pod initContainers', pod.initContainers.map((c) => c.name).join(',')]);
  out.push(['pod volumes', (pod.volumes ?? []).map((v) => v.name).sort().join(',')]);
  for (const c of pod.containers ?? []) out.push(...containerFields('container', c));
  for (const c of pod.initContainers ?? []) out.push(...containerFields('initContainer', c));
  return out;
}

/** observe() of the objects, each with its spec/status leaves (TenantControlPlanes) or pod template (workloads) added. */
export function observeControlPlaneObjects(objects: readonly Observable[], placeholders: readonly Placeholder[]): Observed {
  const observed = observe(objects, placeholders);
  for (const o of objects as readonly Workload[]) {
    const fields: Fields | undefined = observed.get(`${o.kind ?? '?'} ${normalize(o.metadata.name ?? '', placeholders)}`);
    if (!fields) continue;
    for (const [path, value] of extraFields(o)) fields.set(path, OPAQUE_VALUE.test(value) ? '<opaque>' : normalize(value, placeholders));
  }
  return observed;
}
