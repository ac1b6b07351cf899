// The SSH login for a VM: the bootstrap user and the private key of the VM's cluster, from the infrastructure
// provider's `<cluster>-ssh-keys` Secret (CAPK's layout). Read directly, never through a cache, so the operator
// needs `get` on Secrets and never lists or watches them.
import * as grpc from '@grpc/grpc-js';
import type { Secret } from '../../lib/apis/core.js';
import { RpcError } from '../cri/rpc.js';
import type { SSHLogin } from './ssh-command.js';
import { CLUSTER_NAME_LABEL, SSH_PRIVATE_KEY_SECRET_KEY, type VmTarget } from './vm-sandboxes.js';

export type SecretReader = (namespace: string, name: string) => Promise<Secret | undefined>;

export function sshLogins(readSecret: SecretReader, username: string): (vm: VmTarget) => Promise<SSHLogin> {
  return async (vm) => {
    const where = `VM ${vm.namespace}/${vm.name}`;
    if (!vm.sshKeys) throw new RpcError(grpc.status.FAILED_PRECONDITION, `${where} has no ${CLUSTER_NAME_LABEL} label: no cluster SSH key to exec with`);
    const { namespace, name } = vm.sshKeys;
    let secret: Secret | undefined;
    try {
      secret = await readSecret(namespace, name);
    } catch (err) {
      throw new RpcError(grpc.status.UNAVAILABLE, `read the SSH key Secret ${namespace}/${name} of ${where}: ${(err as Error).message}`);
    }
    const key = secret?.data?.[SSH_PRIVATE_KEY_SECRET_KEY];
    if (!key) throw new RpcError(grpc.status.FAILED_PRECONDITION, `${where}: no SSH private key: Secret ${namespace}/${name} ${secret ? `has no "${SSH_PRIVATE_KEY_SECRET_KEY}" key` : 'not found'}`);
    return { username, privateKey: Buffer.from(key, 'base64').toString('utf8') };
  };
}
