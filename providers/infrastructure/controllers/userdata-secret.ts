// The userdata Secret in the infra namespace that the VM's cloud-init disk reads: the machine's rendered
// bootstrap data (and inline network data from the template), applied only when what we want of it changed.
import { applyIfChanged } from '../../../lib/kube/applied-hash.js';
import type { Client } from '../../../lib/kube/client.js';
import { SECRET_TYPE, type Secret } from '../../../lib/apis/core.js';
import { CLUSTER_NAME_LABEL, KUBEVIRT_MACHINE_NAME_LABEL, KUBEVIRT_MACHINE_NAMESPACE_LABEL } from '../api/index.js';
import { NETWORKDATA_KEY, USERDATA_KEY } from '../vm/userdata.js';
import { CLUSTER_SECRET_TYPE } from './ssh-keys.js';

export interface UserdataSecretInput {
  name: string;
  namespace: string;
  clusterName: string;
  /** The KubevirtMachine the Secret serves: labelled so deletion finds it even after the Machine is gone. */
  machine: { name: string; namespace: string };
  /** Labels of the bootstrap data Secret, carried over as CAPK does. */
  labels: Record<string, string> | undefined;
  userdata: string;
  networkData?: string | undefined;
}

export function desiredUserdataSecret(input: UserdataSecretInput): Secret {
  const data: Record<string, string> = { [USERDATA_KEY]: Buffer.from(input.userdata).toString('base64') };
  if (input.networkData !== undefined) data[NETWORKDATA_KEY] = Buffer.from(input.networkData).toString('base64');
  return {
    apiVersion: SECRET_TYPE.apiVersion,
    kind: SECRET_TYPE.kind,
    type: CLUSTER_SECRET_TYPE,
    metadata: { name: input.name, namespace: input.namespace, labels: {
        ...input.labels,
        [CLUSTER_NAME_LABEL]: input.clusterName,
        [KUBEVIRT_MACHINE_NAME_LABEL]: input.machine.name,
        [KUBEVIRT_MACHINE_NAMESPACE_LABEL]: input.machine.namespace,
      },
    },
    data,
  };
}

/**
 * Server-side applies the Secret when its content or our hash of it differs, so a label dropped from the bootstrap
 * data Secret, or network data dropped from the template, leaves it too; returns what it did, for the log.
 */
export async function ensureUserdataSecret(client: Client, desired: Secret): Promise<'created' | 'updated' | 'unchanged'> {
  const { wrote, created } = await applyIfChanged(client, desired);
  return created ? 'created' : wrote ? 'updated' : 'unchanged';
}

/** Deletes the userdata Secret(s) of a KubevirtMachine; returns how many were deleted. */
export async function deleteUserdataSecrets(client: Client, namespace: string, machine: { name: string; namespace: string }): Promise<number> {
  const selector = `${KUBEVIRT_MACHINE_NAME_LABEL}=${machine.name},${KUBEVIRT_MACHINE_NAMESPACE_LABEL}=${machine.namespace}`;
  const secrets = await client.list<Secret>(SECRET_TYPE, { namespace, labelSelector: selector });
  let deleted = 0;
  for (const s of secrets) if (await client.delete(SECRET_TYPE, { namespace, name: s.metadata.name ?? '' })) deleted++;
  return deleted;
}
