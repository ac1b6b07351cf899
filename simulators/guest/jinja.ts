// The part of Jinja cloud-init applies to userdata that starts with "## template: jinja": {{ variable.path }}
// substitution against the instance data (v1.*, ds.meta_data.*), {# comments #}, and whitespace control. A
// variable the instance data lacks renders as CI_MISSING_JINJA_VAR/<name>, as cloud-init does. Statements
// ({% ... %}) are refused loudly rather than rendered wrongly.
import { scalarText } from './yaml-scalar.js';

export const JINJA_HEADER = /^##\s*template:\s*jinja[ \t]*\r?\n/;

export type InstanceData = Record<string, unknown>;

/** What cloud-init knows about a KubeVirt VM: meta-data's instance-id and local-hostname (default the VM name). */
export function kubevirtInstanceData(opts: { vmName: string; hostname?: string | undefined; namespace?: string | undefined; instanceID?: string | undefined }): InstanceData {
  const instanceID = opts.instanceID ?? (opts.namespace ? `${opts.vmName}.${opts.namespace}` : opts.vmName);
  const hostname = opts.hostname ?? opts.vmName;
  const metaData = { instance_id: instanceID, 'instance-id': instanceID, local_hostname: hostname, 'local-hostname': hostname };
  return {
    v1: { instance_id: instanceID, local_hostname: hostname, hostname, platform: 'kubevirt', cloud_name: 'kubevirt', distro: 'kvcloud' },
    ds: { meta_data: metaData },
    local_hostname: hostname,
    instance_id: instanceID,
  };
}

function lookup(data: InstanceData, path: string): unknown {
  let cur: unknown = data;
  for (const part of path.split('.')) {
    if (typeof cur !== 'object' || cur === null || !(part in cur)) return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

const VARIABLE = /^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/;

/** Renders `template` (without its header line). */
export function renderJinja(template: string, data: InstanceData): string {
  let out = '';
  let i = 0;
  for (;;) {
    const open = template.indexOf('{', i);
    if (open < 0 || open + 1 >= template.length) return out + template.slice(i);
    const kind = template[open + 1];
    if (kind !== '{' && kind !== '#' && kind !== '%') {
      out += template.slice(i, open + 1);
      i = open + 1;
      continue;
    }
    if (kind === '%') throw new Error(`jinja statement at offset ${open} is not supported by the simulated guest: ${template.slice(open, open + 40)}`);
    const close = kind === '{' ? '}}' : '#}';
    const end = template.indexOf(close, open + 2);
    if (end < 0) throw new Error(`unterminated jinja ${kind === '{' ? 'expression' : 'comment'} at offset ${open}`);
    let inner = template.slice(open + 2, end);
    let before = template.slice(i, open);
    let next = end + 2;
    // "{{-" and "-}}" strip whitespace (newlines included) on that side, as Jinja does.
    if (inner.startsWith('-')) {
      inner = inner.slice(1);
      before = before.replace(/\s+$/, '');
    }
    if (inner.endsWith('-')) {
      inner = inner.slice(0, -1);
      while (next < template.length && /\s/.test(template[next] ?? '')) next++;
    }
    out += before;
    if (kind === '{') {
      const name = inner.trim();
      if (!VARIABLE.test(name)) throw new Error(`jinja expression "{{ ${name} }}" is not a plain variable; the simulated guest renders variables only`);
      const value = lookup(data, name);
      out += value === undefined ? `CI_MISSING_JINJA_VAR/${name}` : scalarText(value);
    }
    i = next;
  }
}
