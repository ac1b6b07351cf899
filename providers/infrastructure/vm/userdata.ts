// The bootstrap userdata a VM boots with: Cluster API's bootstrap data as the bootstrap provider wrote it, plus,
// for #cloud-config, the bootstrap user that holds the cluster's SSH public key (what CAPK adds, so its `ssh`
// bootstrap check and operators' access keep working). Anything else (Ignition, shell scripts, MIME multipart)
// is passed through byte for byte: rewriting a format we do not own would break the guest.
import { isMap, isSeq, parseDocument, type YAMLMap } from 'yaml';
import type { Secret } from '../../../lib/apis/core.js';

/** Cluster API's bootstrap data Secret keys (the bootstrap provider contract). */
export const BOOTSTRAP_VALUE_KEY = 'value';
export const BOOTSTRAP_FORMAT_KEY = 'format';
/** Key of the userdata (and network data) in the Secret the VM's cloud-init volume reads; KubeVirt's names. */
export const USERDATA_KEY = 'userdata';
export const NETWORKDATA_KEY = 'networkdata';
/** CAPK's bootstrap user: existing clusters' tooling logs in as it. */
export const BOOTSTRAP_USER = 'capk';

export type BootstrapFormat = 'cloud-config' | 'ignition' | 'other';

/** The format the bootstrap provider declared, else what the payload looks like. */
export function bootstrapFormat(declared: string | undefined, value: string): BootstrapFormat {
  if (declared === 'ignition') return 'ignition';
  if (isCloudConfig(value)) return 'cloud-config';
  if (looksLikeIgnition(value)) return 'ignition';
  return 'other';
}

// The header may follow other leading comments: CABPK's cloud-config starts with "## template: jinja".
function isCloudConfig(value: string): boolean {
  for (const line of value.split('\n')) {
    if (/^#cloud-config\s*$/.test(line)) return true;
    if (!line.startsWith('#')) return false;
  }
  return false;
}

function looksLikeIgnition(value: string): boolean {
  try {
    const parsed = JSON.parse(value) as unknown;
    return typeof parsed === 'object' && parsed !== null && 'ignition' in parsed;
  } catch {
    return false;
  }
}

/**
 * Adds (or replaces) the bootstrap user in a #cloud-config document, keeping the rest of the document, its
 * header and comments as they were. Returns the input unchanged when it is not a YAML mapping.
 */
export function withBootstrapUser(cloudConfig: string, publicKey: string): string {
  const doc = parseDocument(cloudConfig);
  if (doc.errors.length > 0 || !isMap(doc.contents)) return cloudConfig;
  const root = doc.contents as YAMLMap;
  const user = {
    name: BOOTSTRAP_USER,
    gecos: 'CAPK User',
    sudo: 'ALL=(ALL) NOPASSWD:ALL',
    groups: 'users, admin',
    ssh_authorized_keys: [publicKey.trim()],
  };
  const users = root.get('users', true);
  if (isSeq(users)) {
    const i = users.items.findIndex((u) => isMap(u) && u.get('name') === BOOTSTRAP_USER);
    if (i >= 0) users.items[i] = doc.createNode(user);
    else users.items.push(doc.createNode(user));
  } else {
    // cloud-init creates the image's default user only when `users` is absent or lists "default"; keep it.
    root.set('users', doc.createNode(['default', user]));
  }
  return doc.toString({ lineWidth: 0 });
}

/** The userdata the VM gets for a bootstrap data Secret; throws when the Secret has no value. */
export function renderUserdata(bootstrap: Secret, publicKey: string | undefined): { userdata: string; format: BootstrapFormat } {
  const raw = bootstrap.data?.[BOOTSTRAP_VALUE_KEY];
  if (raw === undefined) {
    throw new Error(`bootstrap data Secret ${bootstrap.metadata.namespace ?? ''}/${bootstrap.metadata.name ?? ''} has no "${BOOTSTRAP_VALUE_KEY}" key`);
  }
  const value = Buffer.from(raw, 'base64').toString('utf8');
  const declared = bootstrap.data?.[BOOTSTRAP_FORMAT_KEY];
  const format = bootstrapFormat(declared === undefined ? undefined : Buffer.from(declared, 'base64').toString('utf8'), value);
  const userdata = format === 'cloud-config' && publicKey ? withBootstrapUser(value, publicKey) : value;
  return { userdata, format };
}

/** Name of the userdata Secret in the infra namespace: CAPK's, so a CAPK-created Secret is adopted, not duplicated. */
export function userdataSecretName(bootstrapDataSecretName: string): string {
  return `${bootstrapDataSecretName}-userdata`;
}
