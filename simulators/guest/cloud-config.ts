// cloud-init's #cloud-config as the kubeadm bootstrap provider writes it: write_files (with cloud-init's
// encodings, permissions, append), runcmd (strings, or argv lists cloud-init quotes for the shell), users. Jinja
// userdata is rendered first with the VM's instance data.
import { scalarText } from './yaml-scalar.js';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { JINJA_HEADER, renderJinja, type InstanceData } from './jinja.js';

export interface GuestFile {
  path: string;
  content: Buffer;
  /** Octal permission bits; cloud-init's default is 0644. */
  mode: number;
  append: boolean;
}

export interface GuestUser {
  name: string;
  sshAuthorizedKeys: string[];
}

export interface CloudConfig {
  files: GuestFile[];
  /** Shell commands in order, as cloud-init's runcmd script holds them. */
  commands: string[];
  users: GuestUser[];
}

interface RawFile {
  path?: unknown;
  content?: unknown;
  encoding?: unknown;
  permissions?: unknown;
  append?: unknown;
}

export function isCloudConfig(userdata: string): boolean {
  const body = userdata.replace(JINJA_HEADER, '');
  return body.startsWith('#cloud-config');
}

export function decodeContent(content: string, encoding: string | undefined, path: string): Buffer {
  switch ((encoding ?? '').toLowerCase()) {
    case '':
    case 'text/plain':
      return Buffer.from(content, 'utf8');
    case 'b64':
    case 'base64':
      return Buffer.from(content, 'base64');
    case 'gz':
    case 'gzip':
      return gunzipSync(Buffer.from(content, 'latin1'));
    case 'gz+base64':
    case 'gzip+base64':
    case 'gz+b64':
    case 'gzip+b64':
      return gunzipSync(Buffer.from(content, 'base64'));
    default:
      throw new Error(`write_files ${path}: unknown encoding "${encoding ?? ''}"`);
  }
}

function parseMode(permissions: unknown, path: string): number {
  if (permissions === undefined || permissions === null) return 0o644;
  // YAML may have read '0640' as a string or 0640 as a (decimal-looking) number; cloud-init reads both as octal.
  const text = scalarText(permissions);
  if (!/^0?[0-7]{3,4}$/.test(text)) throw new Error(`write_files ${path}: permissions "${text}" are not octal`);
  return parseInt(text, 8);
}

/** A runcmd entry: a string runs through sh; a list is an argv that cloud-init quotes. */
function commandOf(entry: unknown): string {
  if (typeof entry === 'string') return entry;
  if (Array.isArray(entry)) return entry.map((w) => `'${String(w).replace(/'/g, `'\\''`)}'`).join(' ');
  throw new Error(`runcmd entry ${JSON.stringify(entry)} is neither a string nor a list`);
}

/** Renders (when jinja) and parses cloud-config userdata. */
export function parseCloudConfig(userdata: string, instanceData: InstanceData): CloudConfig {
  const jinja = JINJA_HEADER.test(userdata);
  const body = jinja ? renderJinja(userdata.replace(JINJA_HEADER, ''), instanceData) : userdata;
  if (!body.startsWith('#cloud-config')) throw new Error('userdata is not #cloud-config');
  const doc = (parse(body) ?? {}) as { write_files?: RawFile[]; runcmd?: unknown[]; users?: unknown[] };
  const files = (doc.write_files ?? []).map((f): GuestFile => {
    if (typeof f.path !== 'string' || f.path === '') throw new Error(`write_files entry without a path: ${JSON.stringify(f).slice(0, 100)}`);
    const content = scalarText(f.content);
    return {
      path: f.path,
      content: decodeContent(content, typeof f.encoding === 'string' ? f.encoding : undefined, f.path),
      mode: parseMode(f.permissions, f.path),
      append: f.append === true,
    };
  });
  const users = (doc.users ?? []).flatMap((u): GuestUser[] => {
    // "default" names the distribution's default user.
    if (typeof u === 'string') return [{ name: u, sshAuthorizedKeys: [] }];
    const user = u as { name?: unknown; ssh_authorized_keys?: unknown };
    if (typeof user.name !== 'string') return [];
    const keys = Array.isArray(user.ssh_authorized_keys) ? user.ssh_authorized_keys.filter((k): k is string => typeof k === 'string') : [];
    return [{ name: user.name, sshAuthorizedKeys: keys }];
  });
  return { files, commands: (doc.runcmd ?? []).map(commandOf), users };
}
