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

/**
 * Whether the ServiceAccount namespace/name is allowed each access, in order. One kubectl call for all the
 * reviews: each kubectl start costs about a second on a loaded CI machine, and a suite asks about twenty.
 */
export async function serviceAccountAllowed(kubeconfig: string, namespace: string, name: string, accesses: Access[]): Promise<boolean[]> {
  const reviews = accesses.map((access) => ({
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
  }));
  // kubectl prints each created review on its own, in the order given; a line per review names what it asked, so
  // an answer can never be matched to the wrong question.
  const out = await kubectl(
    kubeconfig,
    ['create', '-o', 'jsonpath={.spec.resourceAttributes.verb} {.spec.resourceAttributes.resource} {.status.allowed}{"\\n"}', '-f', '-'],
    reviews.map((r) => stringify(r)).join('---\n'),
  );
  const lines = out.trim().split('\n');
  if (lines.length !== accesses.length) throw new Error(`${accesses.length} SubjectAccessReviews, but kubectl answered ${lines.length}:\n${out}`);
  return accesses.map((access, i) => {
    const [verb, resource, allowed] = (lines[i] ?? '').split(' ');
    if (verb !== access.verb || resource !== access.resource) throw new Error(`answer ${i + 1} is for ${lines[i] ?? ''}, not ${describeAccess(access)}`);
    return allowed === 'true';
  });
}
