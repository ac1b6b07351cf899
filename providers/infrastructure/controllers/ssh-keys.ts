// The cluster's SSH key pair Secret (keys `pub` and `key`, CAPK's layout): created once with a fresh pair and
// never rewritten, since VMs already booted with its public key. Owned by the KubevirtCluster, so it goes with it.
import { isAlreadyExists } from '../../../lib/kube/api-error.js';
import type { Client } from '../../../lib/kube/client.js';
import { SECRET_TYPE, type Secret } from '../../../lib/apis/core.js';
import { ownerReferenceTo } from '../../../lib/controller/owner-references.js';
import {
  CLUSTER_NAME_LABEL,
  SSH_KEYS_SECRET_SUFFIX,
  SSH_PRIVATE_KEY_SECRET_KEY,
  SSH_PUBLIC_KEY_SECRET_KEY,
  type KubevirtCluster,
} from '../api/index.js';
import { generateSSHKeyPair } from '../ssh/keypair.js';

export const CLUSTER_SECRET_TYPE = 'cluster.x-k8s.io/secret';

export function sshKeysSecretName(kc: KubevirtCluster, clusterName: string): string {
  return kc.spec?.sshKeys?.dataSecretName ?? `${clusterName}${SSH_KEYS_SECRET_SUFFIX}`;
}

export interface SSHKeys {
  publicKey: string;
  privateKey: string;
}

export function readSSHKeys(secret: Secret | undefined): SSHKeys | undefined {
  const pub = secret?.data?.[SSH_PUBLIC_KEY_SECRET_KEY];
  const key = secret?.data?.[SSH_PRIVATE_KEY_SECRET_KEY];
  if (!pub || !key) return undefined;
  return { publicKey: Buffer.from(pub, 'base64').toString('utf8'), privateKey: Buffer.from(key, 'base64').toString('utf8') };
}

/** Returns true when it created the Secret. */
export async function ensureSSHKeys(client: Client, kc: KubevirtCluster, clusterName: string): Promise<boolean> {
  const namespace = kc.metadata.namespace ?? '';
  const name = sshKeysSecretName(kc, clusterName);
  const existing = await client.get<Secret>(SECRET_TYPE, { namespace, name });
  if (existing) return false;
  const pair = await generateSSHKeyPair();
  const secret: Secret = {
    apiVersion: SECRET_TYPE.apiVersion,
    kind: SECRET_TYPE.kind,
    type: CLUSTER_SECRET_TYPE,
    metadata: { name, namespace, labels: { [CLUSTER_NAME_LABEL]: clusterName }, ownerReferences: [ownerReferenceTo(kc, { controller: true })] },
    data: {
      [SSH_PUBLIC_KEY_SECRET_KEY]: Buffer.from(pair.publicKey).toString('base64'),
      [SSH_PRIVATE_KEY_SECRET_KEY]: Buffer.from(pair.privateKey).toString('base64'),
    },
  };
  try {
    await client.create(secret);
    return true;
  } catch (err) {
    // Our cache had not seen a Secret created by a previous run: keep that one, its key is already in use.
    if (isAlreadyExists(err)) return false;
    throw new Error(`create SSH key Secret ${namespace}/${name}: ${(err as Error).message}`, { cause: err });
  }
}
