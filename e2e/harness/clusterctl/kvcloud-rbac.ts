// What a ServiceAccount may do, asked of the apiserver's authorizer with a SubjectAccessReview: the same answer
// the manager's own requests get, so a suite can state the provider's permissions without reading roles.
import { stringify } from 'yaml';
import { kubectl } from '../../../localcloud/kubectl.js';

export interface Access {
  verb: string;
  group: string;
  resource: string;
  subresource?: string;
  /** Omitted: the request is cluster-wide (all namespaces, or a cluster-scoped kind). */
  namespace?: string;
}

export const describeAccess = (a: Access): string =>
  `${a.verb} ${a.resource}${a.subresource ? `/${a.subresource}` : ''}${a.group ? `.${a.group}` : ''}${a.namespace ? ` in ${a.namespace}` : ' cluster-wide'}`;

/** Whether the ServiceAccount namespace/name is allowed the access. */
export async function serviceAccountCan(kubeconfig: string, namespace: string, name: string, access: Access): Promise<boolean> {
  const review = {
    apiVersion: 'authorization.k8s.io/v1',
    kind: 'SubjectAccessReview',
    spec: {
      user: `system:serviceaccount:${namespace}:${name}`,
      groups: ['system:serviceaccounts', `system:serviceaccounts:${namespace}`, 'system:authenticated'],
      resourceAttributes: {
        verb: access.verb,
        group: access.group,
        resource: access.resource,
        ...(access.subresource ? { subresource: access.subresource } : {}),
        ...(access.namespace ? { namespace: access.namespace } : {}),
      },
    },
  };
  const out = await kubectl(kubeconfig, ['create', '-o', 'json', '-f', '-'], stringify(review));
  return (JSON.parse(out) as { status?: { allowed?: boolean } }).status?.allowed === true;
}
