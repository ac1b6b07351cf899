// A bootstrap token in a tenant cluster, as `kubeadm token create` makes one: it authenticates a joining kubelet
// and signs cluster-info, in the group kubeadm's node bootstrap RBAC binds.
import { randomBytes } from 'node:crypto';
import type { Client } from '../../lib/kube/client.js';
import type { KubeObject } from '../../lib/kube/object.js';

/** Creates the token's Secret in kube-system and returns the token (`<id>.<secret>`). */
export async function createBootstrapToken(tenant: Client): Promise<string> {
  const id = randomBytes(3).toString('hex');
  const secret = randomBytes(8).toString('hex');
  await tenant.create({
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'bootstrap.kubernetes.io/token',
    metadata: { name: `bootstrap-token-${id}`, namespace: 'kube-system' },
    stringData: {
      'token-id': id,
      'token-secret': secret,
      'usage-bootstrap-authentication': 'true',
      'usage-bootstrap-signing': 'true',
      'auth-extra-groups': 'system:bootstrappers:kubeadm:default-node-token',
    },
  } as KubeObject);
  return `${id}.${secret}`;
}
