// RFC 6902 JSON patch applied to a plain object: spec.kubernetes.kubelet.configurationJSONPatches customise the
// KubeletConfiguration the way Kamaji lets users do (e.g. replace /cgroupDriver).

export interface JsonPatchOp {
  op: string;
  path: string;
  value?: unknown;
  from?: string;
}

type Container = Record<string, unknown> | unknown[];

function pointer(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw new Error(`JSON pointer "${path}" must start with /`);
  return path.slice(1).split('/').map((t) => t.replaceAll('~1', '/').replaceAll('~0', '~'));
}

function parentOf(doc: unknown, tokens: string[], path: string): [Container, string] {
  let node = doc;
  for (const t of tokens.slice(0, -1)) {
    if (node === null || typeof node !== 'object') throw new Error(`JSON patch path ${path}: ${t} has no parent object`);
    node = Array.isArray(node) ? node[Number(t)] : (node as Record<string, unknown>)[t];
  }
  if (node === null || typeof node !== 'object') throw new Error(`JSON patch path ${path} does not exist`);
  return [node as Container, tokens[tokens.length - 1] ?? ''];
}

function get(doc: unknown, path: string): unknown {
  const tokens = pointer(path);
  if (tokens.length === 0) return doc;
  const [parent, key] = parentOf(doc, tokens, path);
  return Array.isArray(parent) ? parent[Number(key)] : parent[key];
}

function remove(doc: unknown, path: string): unknown {
  const [parent, key] = parentOf(doc, pointer(path), path);
  if (Array.isArray(parent)) return parent.splice(Number(key), 1)[0];
  if (!(key in parent)) throw new Error(`JSON patch remove: ${path} does not exist`);
  const old = parent[key];
  Reflect.deleteProperty(parent, key);
  return old;
}

function add(doc: unknown, path: string, value: unknown, replace: boolean): void {
  const [parent, key] = parentOf(doc, pointer(path), path);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : Number(key);
    if (replace) parent[i] = value;
    else parent.splice(i, 0, value);
    return;
  }
  if (replace && !(key in parent)) throw new Error(`JSON patch replace: ${path} does not exist`);
  parent[key] = value;
}

/** Returns a patched deep copy; throws naming the failing operation. */
export function applyJsonPatch<T>(doc: T, ops: readonly JsonPatchOp[]): T {
  const out = structuredClone(doc);
  for (const [i, op] of ops.entries()) {
    try {
      switch (op.op) {
        case 'add': add(out, op.path, structuredClone(op.value), false); break;
        case 'replace': add(out, op.path, structuredClone(op.value), true); break;
        case 'remove': remove(out, op.path); break;
        case 'move': add(out, op.path, remove(out, op.from ?? ''), false); break;
        case 'copy': add(out, op.path, structuredClone(get(out, op.from ?? '')), false); break;
        case 'test':
          if (JSON.stringify(get(out, op.path)) !== JSON.stringify(op.value)) throw new Error(`test failed at ${op.path}`);
          break;
        default: throw new Error(`unknown op "${op.op}"`);
      }
    } catch (err) {
      throw new Error(`JSON patch operation ${i} (${op.op} ${op.path}): ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}
