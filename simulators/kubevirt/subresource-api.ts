// virt-api's subresource API (subresources.kubevirt.io/v1) as pure functions: which request a path names, the
// discovery documents, the apiserver-style Status bodies virt-api answers errors with, and the RBAC rules
// KubeVirt's cluster roles grant for each subresource. The HTTP server (subresource-server.ts) and the handlers
// (subresource-handlers.ts) use them; they hold no I/O.

export const SUBRESOURCE_GROUP = 'subresources.kubevirt.io';
export const SUBRESOURCE_VERSION = 'v1';
export const GROUP_VERSION = `${SUBRESOURCE_GROUP}/${SUBRESOURCE_VERSION}`;
/** The WebSocket subprotocol virtctl speaks for console and port-forward: raw bytes in binary frames. */
export const PLAIN_STREAM_PROTOCOL = 'plain.kubevirt.io';

export type VmSubresource = 'start' | 'stop' | 'restart' | 'migrate' | 'addvolume' | 'removevolume';
export type VmiSubresource = 'addvolume' | 'removevolume' | 'console' | 'portforward' | 'guestosinfo' | 'userlist' | 'filesystemlist';

export type SubresourceRequest =
  | { kind: 'discovery'; document: 'group' | 'groupVersion' | 'healthz' }
  | { kind: 'vm'; namespace: string; name: string; subresource: VmSubresource }
  | { kind: 'vmi'; namespace: string; name: string; subresource: Exclude<VmiSubresource, 'portforward'> }
  | { kind: 'portforward'; namespace: string; name: string; port: number; protocol: 'tcp' | 'udp' };

/** The method each subresource answers to: PUT for actions, GET for reads and streams. */
const VM_SUBRESOURCES: Record<VmSubresource, 'PUT'> = { start: 'PUT', stop: 'PUT', restart: 'PUT', migrate: 'PUT', addvolume: 'PUT', removevolume: 'PUT' };
const VMI_SUBRESOURCES: Record<VmiSubresource, 'PUT' | 'GET'> = {
  addvolume: 'PUT',
  removevolume: 'PUT',
  console: 'GET',
  portforward: 'GET',
  guestosinfo: 'GET',
  userlist: 'GET',
  filesystemlist: 'GET',
};

export class RouteError extends Error {
  constructor(
    readonly code: 404 | 405,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The request a method and path name, as virt-api's routes match them:
 * /apis/subresources.kubevirt.io/v1/namespaces/<ns>/<virtualmachines|virtualmachineinstances>/<name>/<subresource>
 * and .../virtualmachineinstances/<name>/portforward/<port>[/<tcp|udp>].
 */
export function parseSubresourceRequest(method: string, rawPath: string): SubresourceRequest {
  const path = rawPath.split('?')[0]?.replace(/\/+$/, '') ?? '';
  if (path === `/apis/${SUBRESOURCE_GROUP}`) return { kind: 'discovery', document: 'group' };
  if (path === `/apis/${GROUP_VERSION}`) return { kind: 'discovery', document: 'groupVersion' };
  if (path === `/apis/${GROUP_VERSION}/healthz`) return { kind: 'discovery', document: 'healthz' };
  const prefix = `/apis/${GROUP_VERSION}/namespaces/`;
  if (!path.startsWith(prefix)) throw new RouteError(404, `the server could not find the requested resource (${path})`);
  const parts = path.slice(prefix.length).split('/').map(decodeURIComponent);
  const [namespace = '', resource = '', name = '', subresource = '', ...rest] = parts;
  if (!namespace || !name || !subresource) throw new RouteError(404, `the server could not find the requested resource (${path})`);
  if (resource === 'virtualmachines' && subresource in VM_SUBRESOURCES && rest.length === 0) {
    const sub = subresource as VmSubresource;
    if (method !== VM_SUBRESOURCES[sub]) throw new RouteError(405, `${method} is not allowed on virtualmachines/${sub}`);
    return { kind: 'vm', namespace, name, subresource: sub };
  }
  if (resource === 'virtualmachineinstances' && subresource in VMI_SUBRESOURCES) {
    const sub = subresource as VmiSubresource;
    if (method !== VMI_SUBRESOURCES[sub]) throw new RouteError(405, `${method} is not allowed on virtualmachineinstances/${sub}`);
    if (sub === 'portforward') return portForward(namespace, name, rest, path);
    if (rest.length === 0) return { kind: 'vmi', namespace, name, subresource: sub };
  }
  throw new RouteError(404, `the server could not find the requested resource (${path})`);
}

function portForward(namespace: string, name: string, rest: string[], path: string): SubresourceRequest {
  const [port = '', protocol = 'tcp', ...extra] = rest;
  if (extra.length > 0 || !/^\d+$/.test(port)) throw new RouteError(404, `the server could not find the requested resource (${path})`);
  const number = Number(port);
  if (number < 1 || number > 65_535) throw new RouteError(404, `the server could not find the requested resource (${path})`);
  if (protocol !== 'tcp' && protocol !== 'udp') throw new RouteError(404, `the server could not find the requested resource (${path})`);
  return { kind: 'portforward', namespace, name, port: number, protocol };
}

/** The RBAC resource and verb the apiserver checks before it proxies the request (mapHttpVerbToRbacVerb). */
export function rbacAttributesOf(req: Exclude<SubresourceRequest, { kind: 'discovery' }>): { resource: string; verb: 'get' | 'update' } {
  if (req.kind === 'vm') return { resource: `virtualmachines/${req.subresource}`, verb: 'update' };
  const subresource: VmiSubresource = req.kind === 'portforward' ? 'portforward' : req.subresource;
  return { resource: `virtualmachineinstances/${subresource}`, verb: VMI_SUBRESOURCES[subresource] === 'PUT' ? 'update' : 'get' };
}

export const apiGroupDocument = () => ({
  kind: 'APIGroup',
  apiVersion: 'v1',
  name: SUBRESOURCE_GROUP,
  versions: [{ groupVersion: GROUP_VERSION, version: SUBRESOURCE_VERSION }],
  preferredVersion: { groupVersion: GROUP_VERSION, version: SUBRESOURCE_VERSION },
});

/** virt-api lists its subresources by name only (no kind, no verbs), as namespaced. */
export const apiResourceListDocument = () => ({
  kind: 'APIResourceList',
  apiVersion: 'v1',
  groupVersion: GROUP_VERSION,
  resources: [
    ...Object.keys(VM_SUBRESOURCES).map((s) => ({ name: `virtualmachines/${s}`, namespaced: true, kind: '', verbs: [] })),
    ...Object.keys(VMI_SUBRESOURCES).map((s) => ({ name: `virtualmachineinstances/${s}`, namespaced: true, kind: '', verbs: [] })),
  ],
});

/** The subresource rules of KubeVirt's kubevirt.io:admin and kubevirt.io:edit cluster roles, for what is served. */
export function subresourceRules(): { apiGroups: string[]; resources: string[]; verbs: string[] }[] {
  const vmi = (verb: 'GET' | 'PUT') =>
    Object.entries(VMI_SUBRESOURCES)
      .filter(([, m]) => m === verb)
      .map(([s]) => `virtualmachineinstances/${s}`);
  return [
    { apiGroups: [SUBRESOURCE_GROUP], resources: vmi('GET'), verbs: ['get'] },
    { apiGroups: [SUBRESOURCE_GROUP], resources: vmi('PUT'), verbs: ['update'] },
    { apiGroups: [SUBRESOURCE_GROUP], resources: Object.keys(VM_SUBRESOURCES).map((s) => `virtualmachines/${s}`), verbs: ['update'] },
  ];
}

/** A metav1.Status body, as k8s.io/apimachinery's errors build them and virt-api's writeError sends them. */
export interface StatusBody {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; causes?: { message: string }[] };
  code: number;
}

/** What virt-api's handlers answer with: a status code and, for errors, a Status body. */
export class StatusError extends Error {
  constructor(readonly body: StatusBody) {
    super(body.message);
  }
  get code(): number {
    return this.body.code;
  }
}

type KubevirtResource = 'virtualmachine' | 'virtualmachineinstance' | 'persistentvolumeclaim';

const failure = (code: number, reason: string, message: string, details?: StatusBody['details']): StatusError =>
  new StatusError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code });

// v1.Resource(...) qualifies the resource with the kubevirt.io group, so messages read "virtualmachine.kubevirt.io".
export const conflict = (resource: KubevirtResource, name: string, why: string): StatusError =>
  failure(409, 'Conflict', `Operation cannot be fulfilled on ${resource}.kubevirt.io "${name}": ${why}`, { name, group: 'kubevirt.io', kind: resource });
export const notFound = (resource: KubevirtResource, name: string): StatusError =>
  failure(404, 'NotFound', `${resource}.kubevirt.io "${name}" not found`, { name, group: 'kubevirt.io', kind: resource });
export const badRequest = (message: string): StatusError => failure(400, 'BadRequest', message);
export const internalError = (why: string): StatusError => failure(500, 'InternalError', `Internal error occurred: ${why}`, { causes: [{ message: why }] });

/** The JSON (or YAML-as-JSON) body of a PUT; an empty body is no options, as virt-api's decoder treats EOF. */
export function decodeOptions(body: string): Record<string, unknown> | undefined {
  if (body.trim() === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (err) {
    throw badRequest(`Can not unmarshal Request body to struct, error: ${(err as Error).message}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw badRequest('Can not unmarshal Request body to struct, error: not a JSON object');
  return parsed as Record<string, unknown>;
}
