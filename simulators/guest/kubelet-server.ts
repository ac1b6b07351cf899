// The kubelet API a simulated VM serves on port 10250, which the tenant apiserver calls for `kubectl logs` and the
// node proxy: /healthz, /pods and /containerLogs (follow included). Callers authenticate with a client certificate
// of the tenant CA, and each request is authorized by a SubjectAccessReview on the Node's subresource, as the
// kubelet's webhook authorization does. exec, attach, port-forward and run belong to the node streaming server,
// which does not exist yet: they answer 501 saying so.
import { open, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TLSSocket } from 'node:tls';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Client } from '../../lib/kube/client.js';
import type { Pod } from '../../localcloud/cluster/pod-api.js';
import type { ServingCertificate } from './serving-certificate.js';

export const KUBELET_PORT = 10250;

export type KubeletRoute =
  | { kind: 'healthz' }
  | { kind: 'pods' }
  | { kind: 'logs'; namespace: string; pod: string; container: string }
  | { kind: 'streaming'; what: string }
  | { kind: 'not-found' };

const STREAMING = ['exec', 'attach', 'portForward', 'run'];

/** Which kubelet endpoint a request path names. */
export function kubeletRoute(path: string): KubeletRoute {
  const parts = path.split('/').filter((p) => p !== '').map(decodeURIComponent);
  const [first, ...rest] = parts;
  if (first === 'healthz' && rest.length === 0) return { kind: 'healthz' };
  if (first === 'pods' && rest.length === 0) return { kind: 'pods' };
  if (first === 'containerLogs' && rest.length === 3) {
    const [namespace = '', pod = '', container = ''] = rest;
    return { kind: 'logs', namespace, pod, container };
  }
  if (first !== undefined && STREAMING.includes(first)) return { kind: 'streaming', what: first };
  return { kind: 'not-found' };
}

/** The SubjectAccessReview verb of an HTTP method, as the kubelet's authorizer maps it. */
export function requestVerb(method: string): string {
  switch (method) {
    case 'POST':
      return 'create';
    case 'PUT':
      return 'update';
    case 'PATCH':
      return 'patch';
    case 'DELETE':
      return 'delete';
    default:
      return 'get';
  }
}

export interface LogOptions {
  follow: boolean;
  previous: boolean;
  tailLines: number | undefined;
  limitBytes: number | undefined;
}

export function logOptions(query: URLSearchParams): LogOptions {
  const int = (name: string) => {
    const v = query.get(name);
    return v === null || v === '' || !/^\d+$/.test(v) ? undefined : Number(v);
  };
  return { follow: query.get('follow') === 'true', previous: query.get('previous') === 'true', tailLines: int('tailLines'), limitBytes: int('limitBytes') };
}

/** The last `lines` lines of `text` (a trailing newline does not count as a line of its own). */
export function tail(text: string, lines: number | undefined): string {
  if (lines === undefined) return text;
  if (lines === 0) return '';
  const body = text.endsWith('\n') ? text.slice(0, -1) : text;
  const kept = body.split('\n').slice(-lines).join('\n');
  return text.endsWith('\n') ? `${kept}\n` : kept;
}

/** What the API reads from the kubelet's pod runner. */
export interface KubeletPods {
  pods(): Pod[];
  /** The log file of the container's latest (or previous) run; undefined when it has none. */
  containerLog(namespace: string, pod: string, container: string, previous: boolean): string | undefined;
  /** True while that file is still being written (the run goes on). */
  logActive(namespace: string, pod: string, container: string, file: string): boolean;
}

export interface KubeletServerOptions {
  nodeName: string;
  address: string;
  port?: number;
  /** The tenant CA: client certificates must chain to it. */
  clientCAPem: string;
  certificate: ServingCertificate;
  /** Creates the SubjectAccessReviews, as the node. */
  client: Client;
  pods: KubeletPods;
  log: Logger;
}

interface SubjectAccessReview {
  status?: { allowed?: boolean; reason?: string };
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type });
  res.end(body);
}

export class KubeletServer {
  private readonly server: Server;
  private readonly decisions = new Map<string, { allowed: boolean; until: number }>();

  private constructor(private readonly opts: KubeletServerOptions) {
    this.server = createServer(
      { cert: opts.certificate.certPem, key: opts.certificate.keyPem, ca: opts.clientCAPem, requestCert: true, rejectUnauthorized: false },
      (req, res) => {
        this.handle(req, res).catch((err: unknown) => {
          opts.log.warn({ err, path: req.url }, 'kubelet API request failed');
          if (!res.headersSent) send(res, 500, (err as Error).message);
          else res.destroy();
        });
      },
    );
  }

  static async start(opts: KubeletServerOptions): Promise<KubeletServer> {
    const server = new KubeletServer(opts);
    await new Promise<void>((resolve, reject) => {
      server.server.once('error', reject);
      server.server.listen(opts.port ?? KUBELET_PORT, opts.address, () => {
        server.server.off('error', reject);
        resolve();
      });
    });
    return server;
  }

  /** Serves with a new certificate from now on (the CSR was issued); open connections keep theirs. */
  useCertificate(certificate: ServingCertificate): void {
    this.server.setSecureContext({ cert: certificate.certPem, key: certificate.keyPem, ca: this.opts.clientCAPem });
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const socket = req.socket as TLSSocket;
    const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
    if (!peer?.subject) {
      send(res, 401, 'Unauthorized: a client certificate of the cluster CA is required');
      return;
    }
    const user = String(peer.subject.CN);
    // A certificate with several organizations has them as an array here.
    const org: unknown = peer.subject.O;
    const groups = (Array.isArray(org) ? org : [org]).filter((o): o is string => typeof o === 'string');
    const route = kubeletRoute(url.pathname);
    const verb = requestVerb(req.method ?? 'GET');
    if (!(await this.allowed(user, groups, verb, 'proxy'))) {
      send(res, 403, `Forbidden (user=${user}, verb=${verb}, resource=nodes, subresource=proxy)`);
      return;
    }
    switch (route.kind) {
      case 'healthz':
        send(res, 200, 'ok');
        return;
      case 'pods':
        send(res, 200, JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: {}, items: this.opts.pods.pods() }), 'application/json');
        return;
      case 'logs':
        await this.logs(route, logOptions(url.searchParams), req, res);
        return;
      case 'streaming':
        send(res, 501, `${route.what} is not implemented by the kvcloud guest's kubelet yet: it needs the node streaming server, which is still to come`);
        return;
      case 'not-found':
        send(res, 404, `404 page not found: ${url.pathname}`);
        return;
    }
  }

  private async allowed(user: string, groups: string[], verb: string, subresource: string): Promise<boolean> {
    const key = JSON.stringify([user, groups, verb, subresource]);
    const cached = this.decisions.get(key);
    if (cached && cached.until > Date.now()) return cached.allowed;
    const review = await this.opts.client.create<SubjectAccessReview & { apiVersion: string; kind: string; metadata: object }>({
      apiVersion: 'authorization.k8s.io/v1',
      kind: 'SubjectAccessReview',
      metadata: {},
      spec: { user, groups, resourceAttributes: { verb, resource: 'nodes', subresource, name: this.opts.nodeName } },
    } as SubjectAccessReview & { apiVersion: string; kind: string; metadata: object });
    const allowed = review.status?.allowed === true;
    // The kubelet caches allowed decisions for 5 minutes and denied ones for 30 seconds.
    this.decisions.set(key, { allowed, until: Date.now() + (allowed ? 300_000 : 30_000) });
    return allowed;
  }

  private async logs(route: Extract<KubeletRoute, { kind: 'logs' }>, opts: LogOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { namespace, pod, container } = route;
    const known = this.opts.pods.pods().find((p) => p.metadata.namespace === namespace && p.metadata.name === pod);
    if (!known) {
      send(res, 404, `pod "${pod}" in namespace "${namespace}" not found on node ${this.opts.nodeName}`);
      return;
    }
    const file = this.opts.pods.containerLog(namespace, pod, container, opts.previous);
    if (!file) {
      const waiting = [...(known.status?.initContainerStatuses ?? []), ...(known.status?.containerStatuses ?? [])].find((c) => c.name === container)?.state.waiting;
      const why = opts.previous
        ? `previous terminated container "${container}" in pod "${pod}" not found`
        : waiting
          ? `container "${container}" in pod "${pod}" is waiting to start: ${waiting.reason ?? 'ContainerCreating'}`
          : `container "${container}" in pod "${pod}" is not available`;
      send(res, 400, why);
      return;
    }
    const size = (await stat(file).catch(() => undefined))?.size ?? 0;
    const handle = await open(file, 'r').catch(() => undefined);
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8', 'transfer-encoding': 'chunked' });
    if (!handle) {
      res.end();
      return;
    }
    let budget = opts.limitBytes ?? Number.POSITIVE_INFINITY;
    const write = (chunk: Buffer) => {
      const part = chunk.subarray(0, Math.min(chunk.length, budget));
      budget -= part.length;
      if (part.length > 0) res.write(part);
    };
    try {
      const start = Buffer.alloc(size);
      await handle.read(start, 0, size, 0);
      write(Buffer.from(tail(start.toString('utf8'), opts.tailLines)));
      let offset = size;
      // Follow: stream what the run writes until it ends (then drain once more), the client goes, or the limit.
      while (opts.follow && !req.socket.destroyed && budget > 0) {
        const active = this.opts.pods.logActive(namespace, pod, container, file);
        const chunk = Buffer.alloc(64 * 1024);
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
        if (bytesRead > 0) {
          offset += bytesRead;
          write(chunk.subarray(0, bytesRead));
          continue;
        }
        if (!active) break;
        await delay(200);
      }
    } finally {
      await handle.close();
      res.end();
    }
  }
}
