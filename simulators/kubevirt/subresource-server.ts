// virt-api's aggregated API server: subresources.kubevirt.io/v1 served over TLS on the node address and registered
// with the management apiserver by an APIService (Service virt-api in namespace kubevirt, its Endpoints pointing
// here, as aggregator routing resolves them). Only the apiserver's front proxy may call it: requests must carry a
// client certificate from the requestheader CA the apiserver publishes in kube-system/
// extension-apiserver-authentication, and the user comes from its X-Remote-* headers. The apiserver has already
// authorized the subresource verb; like virt-api, each request is checked again with a SubjectAccessReview.
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import { SERVICE_TYPE } from '../../lib/apis/core.js';
import type { Client } from '../../lib/kube/client.js';
import type { KubeObject } from '../../lib/kube/object.js';
import { certificatePem, createCertificateAuthority, issueCertificate, privateKeyPem } from '../../lib/pki/x509.js';
import { waitFor } from '../../localcloud/wait.js';
import type { LauncherRuntime } from './launcher-runtime.js';
import { streamConsole } from './console-stream.js';
import { SubresourceHandlers, type GuestConnection } from './subresource-handlers.js';
import {
  apiGroupDocument,
  apiResourceListDocument,
  GROUP_VERSION,
  internalError,
  parseSubresourceRequest,
  PLAIN_STREAM_PROTOCOL,
  rbacAttributesOf,
  RouteError,
  StatusError,
  SUBRESOURCE_GROUP,
  SUBRESOURCE_VERSION,
  subresourceRules,
  type SubresourceRequest,
} from './subresource-api.js';

export const VIRT_API_NAMESPACE = 'kubevirt';
export const VIRT_API_SERVICE = 'virt-api';
export const API_SERVICE_NAME = `${SUBRESOURCE_VERSION}.${SUBRESOURCE_GROUP}`;
const NAMESPACE = { apiVersion: 'v1', kind: 'Namespace' };
const ENDPOINTS = { apiVersion: 'v1', kind: 'Endpoints' };
const CONFIG_MAP = { apiVersion: 'v1', kind: 'ConfigMap' };
const API_SERVICE = { apiVersion: 'apiregistration.k8s.io/v1', kind: 'APIService' };
const CLUSTER_ROLE = { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole' };
const SUBJECT_ACCESS_REVIEW = { apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview' };
/** KubeVirt's aggregated cluster roles; the simulator installs their subresource rules. */
const CLUSTER_ROLES: Record<string, string> = { 'kubevirt.io:admin': 'rbac.authorization.k8s.io/aggregate-to-admin', 'kubevirt.io:edit': 'rbac.authorization.k8s.io/aggregate-to-edit' };
const AVAILABLE_TIMEOUT_MS = 60_000;
const MAX_BODY = 1 << 20;

interface FrontProxyTrust {
  caPem: string;
  allowedNames: string[];
  userHeaders: string[];
  groupHeaders: string[];
  extraPrefixes: string[];
}

interface ConfigMap extends KubeObject {
  data?: Record<string, string>;
}

const jsonList = (text: string | undefined, fallback: string[]): string[] => (text ? (JSON.parse(text) as string[]) : fallback);

/** The requestheader settings the apiserver publishes for aggregated servers (kube-system, always present). */
async function frontProxyTrust(client: Client): Promise<FrontProxyTrust> {
  const cm = await client.get<ConfigMap>(CONFIG_MAP, { namespace: 'kube-system', name: 'extension-apiserver-authentication' }, { direct: true });
  const data = cm?.data ?? {};
  const caPem = data['requestheader-client-ca-file'];
  if (!caPem) throw new Error('kube-system/extension-apiserver-authentication has no requestheader-client-ca-file: the apiserver runs without a front proxy');
  return {
    caPem,
    allowedNames: jsonList(data['requestheader-allowed-names'], []),
    userHeaders: jsonList(data['requestheader-username-headers'], ['X-Remote-User']),
    groupHeaders: jsonList(data['requestheader-group-headers'], ['X-Remote-Group']),
    extraPrefixes: jsonList(data['requestheader-extra-headers-prefix'], ['X-Remote-Extra-']),
  };
}

interface User {
  name: string;
  groups: string[];
  extra: Record<string, string[]>;
}

/** The user the front proxy vouches for; undefined when the caller is not the front proxy. */
function frontProxyUser(req: IncomingMessage, trust: FrontProxyTrust): User | undefined {
  const socket = req.socket as TLSSocket;
  if (!socket.authorized) return undefined;
  const cn = socket.getPeerCertificate().subject.CN;
  if (trust.allowedNames.length > 0 && (typeof cn !== 'string' || !trust.allowedNames.includes(cn))) return undefined;
  const header = (name: string): string[] => {
    const v = req.headers[name.toLowerCase()];
    return v === undefined ? [] : Array.isArray(v) ? v : [v];
  };
  const name = trust.userHeaders.flatMap(header)[0];
  if (!name) return { name: '', groups: [], extra: {} };
  const extra: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(req.headers)) {
    const prefix = trust.extraPrefixes.find((p) => key.startsWith(p.toLowerCase()));
    if (!prefix || value === undefined) continue;
    extra[decodeURIComponent(key.slice(prefix.length))] = Array.isArray(value) ? value : [value];
  }
  return { name, groups: trust.groupHeaders.flatMap(header), extra };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy(new Error('request body too large'));
      else chunks.push(c);
    });
    req.on('end', () => {
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', reject);
  });
}

export interface SubresourceServerOptions {
  client: Client;
  log: Logger;
  runtime: LauncherRuntime | undefined;
  /** The address the apiserver reaches this server at (the node address; never loopback, which Endpoints refuse). */
  host: string;
}

export interface SubresourceServer {
  readonly port: number;
  stop(): Promise<void>;
}

export async function startSubresourceServer(opts: SubresourceServerOptions): Promise<SubresourceServer> {
  const { client, log } = opts;
  const trust = await frontProxyTrust(client);
  const ca = await createCertificateAuthority('kvcloud-virt-api-ca', 24 * 3_600_000);
  const serviceName = `${VIRT_API_SERVICE}.${VIRT_API_NAMESPACE}.svc`;
  const serving = await issueCertificate(ca, { commonName: serviceName, altNames: [serviceName, `${serviceName}.cluster.local`, opts.host], usage: 'server', validFor: 24 * 3_600_000 });
  const handlers = new SubresourceHandlers({ client, runtime: opts.runtime });
  const sockets = new WebSocketServer({ noServer: true, handleProtocols: (offered) => (offered.has(PLAIN_STREAM_PROTOCOL) ? PLAIN_STREAM_PROTOCOL : false) });

  /** virt-api's own authorization: a SubjectAccessReview for the user the front proxy named. */
  async function authorize(user: User, req: Exclude<SubresourceRequest, { kind: 'discovery' }>): Promise<string | undefined> {
    const { resource, verb } = rbacAttributesOf(req);
    const [plural = '', subresource = ''] = resource.split('/');
    const review = await client.create<KubeObject & { status?: { allowed?: boolean; reason?: string } }>({
      ...SUBJECT_ACCESS_REVIEW,
      metadata: {},
      spec: {
        user: user.name,
        groups: user.groups,
        extra: user.extra,
        resourceAttributes: { namespace: req.namespace, verb, group: SUBRESOURCE_GROUP, version: SUBRESOURCE_VERSION, resource: plural, subresource, name: req.name },
      },
    } as KubeObject);
    return review.status?.allowed === true ? undefined : (review.status?.reason ?? `user ${user.name} may not ${verb} ${resource}`);
  }

  const send = (res: ServerResponse, code: number, body?: unknown) => {
    if (body === undefined) {
      res.writeHead(code).end();
      return;
    }
    res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  };

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const user = frontProxyUser(req, trust);
    if (!user) {
      res.writeHead(401, { 'content-type': 'text/plain' }).end('a client certificate from the front proxy is required');
      return;
    }
    const parsed = parseSubresourceRequest(req.method ?? 'GET', req.url ?? '/');
    if (parsed.kind === 'discovery') {
      send(res, 200, parsed.document === 'group' ? apiGroupDocument() : parsed.document === 'groupVersion' ? apiResourceListDocument() : undefined);
      return;
    }
    const denied = await authorize(user, parsed);
    if (denied !== undefined) {
      // virt-api answers its own authorizer's refusals with 401 and the reason as text.
      res.writeHead(401, { 'content-type': 'text/plain' }).end(denied);
      return;
    }
    const body = req.method === 'PUT' ? await readBody(req) : '';
    switch (parsed.kind) {
      case 'vm': {
        const answer = await handlers.vm(parsed.subresource, parsed.namespace, parsed.name, body);
        send(res, answer.code, answer.body);
        return;
      }
      case 'vmi': {
        const answer =
          parsed.subresource === 'addvolume' || parsed.subresource === 'removevolume'
            ? await handlers.vmiVolume(parsed.subresource, parsed.namespace, parsed.name, body)
            : parsed.subresource === 'console'
              ? { code: 400, body: internalError('the console is a WebSocket stream: connect with Upgrade: websocket').body }
              : await handlers.guestAgent(parsed.subresource, parsed.namespace, parsed.name);
        send(res, answer.code, answer.body);
        return;
      }
      case 'portforward':
        res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify(internalError('port-forward is a WebSocket stream: connect with Upgrade: websocket').body));
        return;
    }
  }

  const server: Server = createServer(
    { cert: certificatePem(serving.cert), key: await privateKeyPem(serving.key), ca: trust.caPem, requestCert: true, rejectUnauthorized: false },
    (req, res) => {
      serve(req, res).catch((err: unknown) => {
        const status = errorStatus(err, log, req.url);
        if (!res.headersSent) send(res, status.code, status.body);
        else res.destroy();
      });
    },
  );

  /** Console and port-forward: checked and connected first, so a refusal is an HTTP answer, then upgraded. */
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    void (async () => {
      try {
        const user = frontProxyUser(req, trust);
        if (!user) throw new RouteError(404, 'a client certificate from the front proxy is required');
        const parsed = parseSubresourceRequest(req.method ?? 'GET', req.url ?? '/');
        if (parsed.kind === 'discovery' || parsed.kind === 'vm' || (parsed.kind === 'vmi' && parsed.subresource !== 'console')) {
          throw new RouteError(404, `${req.url ?? ''} is not a stream`);
        }
        const denied = await authorize(user, parsed);
        if (denied !== undefined) {
          socket.end(`HTTP/1.1 401 Unauthorized\r\nContent-Type: text/plain\r\nContent-Length: ${String(Buffer.byteLength(denied))}\r\n\r\n${denied}`);
          return;
        }
        if (parsed.kind === 'vmi') {
          const target = await handlers.consoleTarget(parsed.namespace, parsed.name);
          sockets.handleUpgrade(req, socket, head, (ws) => void streamConsole(target, ws));
          return;
        }
        const guest = await handlers.dialGuest(parsed.namespace, parsed.name, parsed.port, parsed.protocol);
        sockets.handleUpgrade(req, socket, head, (ws) => {
          pipe(ws, guest);
        });
      } catch (err) {
        const status = errorStatus(err, log, req.url);
        const text = JSON.stringify(status.body);
        socket.end(`HTTP/1.1 ${String(status.code)} ${status.code === 404 ? 'Not Found' : 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${String(Buffer.byteLength(text))}\r\n\r\n${text}`);
      }
    })();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, opts.host, () => {
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const close = async () => {
    for (const ws of sockets.clients) ws.terminate();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  };
  try {
    await register(client, opts.host, port, Buffer.from(certificatePem(ca.cert)).toString('base64'));
  } catch (err) {
    await close();
    throw err;
  }
  log.info({ host: opts.host, port }, 'serving subresources.kubevirt.io/v1');
  return {
    port,
    async stop() {
      await client.delete(API_SERVICE, { name: API_SERVICE_NAME });
      await client.delete(SERVICE_TYPE, { namespace: VIRT_API_NAMESPACE, name: VIRT_API_SERVICE });
      await client.delete(ENDPOINTS, { namespace: VIRT_API_NAMESPACE, name: VIRT_API_SERVICE });
      for (const name of Object.keys(CLUSTER_ROLES)) await client.delete(CLUSTER_ROLE, { name });
      await close();
    },
  };
}

/** The objects that make the apiserver route subresources.kubevirt.io/v1 here, and KubeVirt's cluster roles. */
async function register(client: Client, host: string, port: number, caBundle: string): Promise<void> {
  await client.apply({ ...NAMESPACE, metadata: { name: VIRT_API_NAMESPACE } });
  // No selector: the Endpoints below (mirrored into an EndpointSlice by kube-controller-manager) name this process.
  await client.apply({
    ...SERVICE_TYPE,
    metadata: { name: VIRT_API_SERVICE, namespace: VIRT_API_NAMESPACE, labels: { 'kubevirt.io': 'virt-api' } },
    spec: { ports: [{ name: 'https', port: 443, targetPort: port, protocol: 'TCP' }] },
  } as KubeObject);
  await client.apply({
    ...ENDPOINTS,
    metadata: { name: VIRT_API_SERVICE, namespace: VIRT_API_NAMESPACE, labels: { 'kubevirt.io': 'virt-api' } },
    subsets: [{ addresses: [{ ip: host }], ports: [{ name: 'https', port, protocol: 'TCP' }] }],
  } as KubeObject);
  for (const [name, aggregate] of Object.entries(CLUSTER_ROLES)) {
    await client.apply({ ...CLUSTER_ROLE, metadata: { name, labels: { 'kubevirt.io': '', [aggregate]: 'true' } }, rules: subresourceRules() } as KubeObject);
  }
  await client.apply({
    ...API_SERVICE,
    metadata: { name: API_SERVICE_NAME, labels: { 'kubevirt.io': 'virt-api' } },
    spec: {
      group: SUBRESOURCE_GROUP,
      version: SUBRESOURCE_VERSION,
      service: { namespace: VIRT_API_NAMESPACE, name: VIRT_API_SERVICE, port: 443 },
      caBundle,
      groupPriorityMinimum: 1000,
      versionPriority: 15,
    },
  } as KubeObject);
  // The aggregator routes requests only once its availability check has reached us.
  await waitFor(
    async () => {
      const svc = await client.get<KubeObject & { status?: { conditions?: { type: string; status: string; message?: string }[] } }>(API_SERVICE, { name: API_SERVICE_NAME }, { direct: true });
      const available = svc?.status?.conditions?.find((c) => c.type === 'Available');
      if (available?.status === 'True') return true;
      throw new Error(`APIService ${API_SERVICE_NAME}: Available=${available?.status ?? '?'} ${available?.message ?? ''}`);
    },
    { timeoutMs: AVAILABLE_TIMEOUT_MS, intervalMs: 250, what: `APIService ${GROUP_VERSION} to be Available` },
  );
}

function errorStatus(err: unknown, log: Logger, url: string | undefined): { code: number; body: unknown } {
  if (err instanceof StatusError) return { code: err.code, body: err.body };
  if (err instanceof RouteError) {
    return { code: err.code, body: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: err.message, reason: err.code === 404 ? 'NotFound' : 'MethodNotAllowed', code: err.code } };
  }
  log.error({ err, url }, 'subresource request failed');
  const internal = internalError((err as Error).message);
  return { code: internal.code, body: internal.body };
}

/** Bytes both ways between the WebSocket (binary frames) and the guest connection, until either end closes. */
function pipe(ws: WebSocket, guest: GuestConnection): void {
  guest.onData((data) => {
    if (ws.readyState === ws.OPEN) ws.send(data, { binary: true });
  });
  guest.onClose(() => {
    ws.close();
  });
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[]) => {
    guest.send(Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer));
  });
  ws.on('close', () => {
    guest.close();
  });
}
