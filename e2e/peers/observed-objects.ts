// What a user observes of a provider's work, made comparable between two providers that did the same work: each
// object reduced to the fields users and tools read (name, labels, annotations, Secret type and keys, Service shape,
// providerIDs), with the parts that differ between any two runs (generated name suffixes, UIDs, addresses, times,
// key material) replaced by placeholders, so what is left differs only where the providers do.
import type { KubeObject } from '../../lib/kube/object.js';

/** One object's comparable fields, by field path. */
export type Fields = Map<string, string>;
/** Objects by "Kind name" (name with placeholders). */
export type Observed = Map<string, Fields>;

export interface Placeholder {
  pattern: RegExp;
  replacement: string;
}

/** Run-specific values: Machine names of a cluster `cluster` (KubeadmControlPlane's and MachineDeployment md-0's), UIDs, IPs, times. */
export function runSpecific(cluster: string): Placeholder[] {
  return [
    { pattern: new RegExp(`${cluster}-control-plane-[a-z0-9]{5}`, 'g'), replacement: '<control-plane-machine>' },
    { pattern: new RegExp(`${cluster}-md-0-[a-z0-9]{4,10}-[a-z0-9]{5}`, 'g'), replacement: '<md-0-machine>' },
    { pattern: new RegExp(`${cluster}-md-0-[a-z0-9]{5}\\b`, 'g'), replacement: '<md-0-machineset>' },
    // machine-template-hash: the template's hash, then the MachineSet's suffix.
    { pattern: /\b(\d{6,})-[a-z0-9]{5}\b/g, replacement: '$1-<machineset-suffix>' },
    { pattern: /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, replacement: '<uid>' },
    { pattern: /\b\d{1,3}(\.\d{1,3}){3}\b/g, replacement: '<ip>' },
    { pattern: /\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z/g, replacement: '<time>' },
  ];
}

export function normalize(value: string, placeholders: readonly Placeholder[]): string {
  return placeholders.reduce((v, p) => v.replace(p.pattern, p.replacement), value);
}

interface Port {
  name?: string;
  port?: number;
  targetPort?: number | string;
  protocol?: string;
}

/** The object as users see it, the fields above; values too long to compare as text (certificates, JSON) by length class. */
export interface Observable extends KubeObject {
  type?: string;
  data?: Record<string, string>;
  spec?: {
    type?: string;
    selector?: Record<string, string | object>;
    ports?: Port[];
    providerID?: string;
    template?: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } };
  };
  status?: { conditions?: { type: string; status: string; reason?: string }[]; [field: string]: unknown };
}

// Annotation values that are machine-written state (last-applied configurations, hashes of specs): present or not.
export const OPAQUE_VALUE = /^[{[]|^[A-Za-z0-9+/=]{40,}$|^[0-9a-f]{32,}$/;

function fieldsOf(o: Observable, placeholders: readonly Placeholder[]): Fields {
  const f: Fields = new Map();
  const put = (path: string, value: string | undefined) => {
    if (value !== undefined) f.set(path, OPAQUE_VALUE.test(value) ? '<opaque>' : normalize(value, placeholders));
  };
  for (const [k, v] of Object.entries(o.metadata.labels ?? {})) put(`label ${k}`, v);
  for (const [k, v] of Object.entries(o.metadata.annotations ?? {})) put(`annotation ${k}`, v);
  for (const r of o.metadata.ownerReferences ?? []) put(`owner ${r.kind}`, r.name);
  put('type', o.type);
  if (o.data) put('data keys', Object.keys(o.data).sort().join(','));
  put('spec.type', o.spec?.type);
  put('spec.providerID', o.spec?.providerID);
  // A Service's selector is labels; a workload's is a label selector (matchLabels, matchExpressions).
  if (o.spec?.selector) put('spec.selector', Object.entries(o.spec.selector).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`).sort().join(','));
  for (const p of o.spec?.ports ?? []) put(`spec.ports ${p.name ?? ''}`, `${String(p.port)}->${String(p.targetPort)}/${p.protocol ?? 'TCP'}`);
  for (const [k, v] of Object.entries(o.spec?.template?.metadata?.labels ?? {})) put(`template label ${k}`, v);
  for (const [k, v] of Object.entries(o.spec?.template?.metadata?.annotations ?? {})) put(`template annotation ${k}`, v);
  // What a provider reports: which status fields it sets and its conditions (not their times or messages).
  if (o.status) put('status fields', Object.keys(o.status).sort().join(','));
  for (const c of o.status?.conditions ?? []) put(`status.conditions ${c.type}`, `${c.status}${c.reason ? ` (${c.reason})` : ''}`);
  return f;
}

/**
 * The objects keyed by kind and placeholder name. Objects that become one key (a MachineDeployment's Machines) merge:
 * a field whose values differ between them keeps every value, sorted, joined by " | ".
 */
export function observe(objects: readonly Observable[], placeholders: readonly Placeholder[]): Observed {
  const out: Observed = new Map();
  for (const o of objects) {
    const key = `${o.kind ?? '?'} ${normalize(o.metadata.name ?? '', placeholders)}`;
    const fields = fieldsOf(o, placeholders);
    const seen = out.get(key);
    if (!seen) {
      out.set(key, fields);
      continue;
    }
    for (const path of new Set([...seen.keys(), ...fields.keys()])) {
      const values = new Set([...(seen.get(path)?.split(' | ') ?? ['<absent>']), fields.get(path) ?? '<absent>']);
      seen.set(path, [...values].sort().join(' | '));
    }
  }
  return out;
}

/** Every difference between two providers' observed objects, one line each, sorted: what only one has, then what differs. */
export function differences(a: { name: string; observed: Observed }, b: { name: string; observed: Observed }): string[] {
  const lines: string[] = [];
  for (const key of [...new Set([...a.observed.keys(), ...b.observed.keys()])].sort()) {
    const fa = a.observed.get(key);
    const fb = b.observed.get(key);
    if (!fa || !fb) {
      lines.push(`${key}: only ${fa ? a.name : b.name} makes it`);
      continue;
    }
    for (const path of [...new Set([...fa.keys(), ...fb.keys()])].sort()) {
      const va = fa.get(path);
      const vb = fb.get(path);
      if (va !== vb) lines.push(`${key}: ${path}: ${a.name} ${va === undefined ? '(none)' : JSON.stringify(va)}, ${b.name} ${vb === undefined ? '(none)' : JSON.stringify(vb)}`);
    }
  }
  return lines;
}
