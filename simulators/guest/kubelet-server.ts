// The kubelet API a simulated VM serves on port 10250, which the tenant apiserver calls for `kubectl logs` and the
// node proxy: /healthz, /pods and /containerLogs (follow included). Callers authenticate with a client certificate
// of the tenant CA, and each request is authorized by a SubjectAccessReview on the Node's subresource, as the
// kubelet's webhook authorization does. exec, attach and port-forward upgrade to SPDY or WebSocket and are handed,
// with a one-shot token, to the node streaming server (streaming/), as a kubelet proxies them to its runtime's;
// run executes a command and answers with its output.
import { open, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PassThrough, type Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { Client } from '../../lib/kube/client.js';
import type { Pod } from '../../localcloud/cluster/pod-api.js';
import { BadRequestError, commandOf, streamOptions } from '../../streaming/remote-command-options.js';
import { TerminalSizes, type StreamingRuntime } from '../../streaming/runtime.js';
import { rejectUpgrade, streamingErrorResponse, type StreamingServer } from '../../streaming/server.js';
import type { ContainerRef, PodRef } from './container-streams.js';
import type { ServingCertificate } from './serving-certificate.js';

export const KUBELET_PORT = 10250;

interface ContainerStreamingRoute {
  kind: 'streaming';
  what: 'exec' | 'attach' | 'run';
  namespace: string;
  pod: string;
  uid?: string;
  container: string;
}

export type KubeletRoute =
  | { kind: 'healthz' }
  | { kind: 'pods' }
  | { kind: 'logs'; namespace: string; pod: string; container: string }
  | ContainerStreamingRoute
  | { kind: 'streaming'; what: 'portForward'; namespace: string; pod: string; uid?: string }
  /** A one-shot URL of the streaming server (/cri/exec/<token>...), which the token alone authorizes. */
  | { kind: 'cri'; path: string }
  | { kind: 'not-found' };

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
  if (first === 'exec' || first === 'attach' || first === 'run') {
    // /<what>/<namespace>/<pod>[/<uid>]/<container>
    const [namespace = '', pod = '', a = '', b] = rest;
    if (rest.length === 3) return { kind: 'streaming', what: first, namespace, pod, container: a };
    if (rest.length === 4 && b !== undefined) return { kind: 'streaming', what: first, namespace, pod, uid: a, container: b };
  }
  if (first === 'portForward' && (rest.length === 2 || rest.length === 3)) {
    const [namespace = '', pod = '', uid] = rest;
    return { kind: 'streaming', what: 'portForward', namespace, pod, ...(uid === undefined ? {} : { uid }) };
  }
  if (first === 'cri' && rest.length === 2) return { kind: 'cri', path: `/${rest.join('/')}` };
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
  /** The node streaming server and the runtime behind it (exec, attach, port-forward, run). */
  streaming: { server: StreamingServer<ContainerRef, PodRef>; runtime: StreamingRuntime<ContainerRef, PodRef> };
  log: Logger;
}

/** Base URL of the streaming server's one-shot URLs on the kubelet's own port. */
export const STREAMING_PATH = '/cri';

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
          if (!res.headersSent) send(res, err instanceof BadRequestError ? 400 : 500, (err as Error).message);
          else res.destroy();
        });
      },
    );
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      socket.on('error', () => undefined); // a client that resets mid-handshake
      this.upgrade(req, socket, head).catch((err: unknown) => {
        opts.log.warn({ err, path: req.url }, 'kubelet API upgrade failed');
        rejectUpgrade(socket, 500, (err as Error).message);
      });
    });
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
    const route = kubeletRoute(url.pathname);
    const denied = await this.authorize(req, route);
    if (denied) {
      send(res, denied.status, denied.message);
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
        if (route.what === 'run') await this.run(route, url.searchParams, res);
        else send(res, 400, 'Upgrade request required: exec, attach and portForward speak SPDY/3.1 or WebSocket');
        return;
      case 'cri':
        req.url = `${route.path}${url.search}`;
        this.opts.streaming.server.handleRequest(req, res);
        return;
      case 'not-found':
        send(res, 404, `404 page not found: ${url.pathname}`);
        return;
    }
  }

  /** Undefined when the caller holds a client certificate of the cluster CA and may use the node's proxy subresource. */
  private async authorize(req: IncomingMessage, route: KubeletRoute): Promise<{ status: number; message: string } | undefined> {
    const socket = req.socket as TLSSocket;
    const peer = socket.authorized ? socket.getPeerCertificate() : undefined;
    if (!peer?.subject) return { status: 401, message: 'Unauthorized: a client certificate of the cluster CA is required' };
    // The token of a streaming URL is its authorization, handed out to a caller that was authorized already.
    if (route.kind === 'cri') return undefined;
    const user = String(peer.subject.CN);
    // A certificate with several organizations has them as an array here.
    const org: unknown = peer.subject.O;
    const groups = (Array.isArray(org) ? org : [org]).filter((o): o is string => typeof o === 'string');
    const verb = requestVerb(req.method ?? 'GET');
    if (!(await this.allowed(user, groups, verb, 'proxy'))) return { status: 403, message: `Forbidden (user=${user}, verb=${verb}, resource=nodes, subresource=proxy)` };
    return undefined;
  }

  /** exec, attach and portForward: a one-shot streaming URL for the request, served at once on this connection. */
  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const route = kubeletRoute(url.pathname);
    const denied = await this.authorize(req, route);
    if (denied) {
      rejectUpgrade(socket, denied.status, denied.message);
      return;
    }
    const { server } = this.opts.streaming;
    if (route.kind === 'cri') {
      req.url = `${route.path}${url.search}`;
      server.handleUpgrade(req, socket, head);
      return;
    }
    if (route.kind !== 'streaming' || route.what === 'run') {
      rejectUpgrade(socket, 404, `404 page not found: ${url.pathname}`);
      return;
    }
    const pod = this.opts.pods.pods().find((p) => p.metadata.namespace === route.namespace && p.metadata.name === route.pod);
    if (!pod || (route.uid !== undefined && pod.metadata.uid !== route.uid)) {
      rejectUpgrade(socket, 404, `pod ${route.namespace}/${route.pod} does not exist on node ${this.opts.nodeName}`);
      return;
    }
    let target: string;
    try {
      const podRef = { namespace: route.namespace, pod: route.pod };
      target =
        route.what === 'portForward'
          ? server.getPortForward(podRef, `pod ${route.namespace}/${route.pod}, uid ${pod.metadata.uid ?? ''}`)
          : route.what === 'exec'
            ? server.getExec({ ...podRef, container: route.container }, commandOf(url.searchParams), streamOptions(url.searchParams))
            : server.getAttach({ ...podRef, container: route.container }, streamOptions(url.searchParams));
    } catch (err) {
      const { status, headers, message } = streamingErrorResponse(err);
      rejectUpgrade(socket, status, message, Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, [v]])));
      return;
    }
    // The streaming server is in this process: hand the connection over instead of proxying to its URL, keeping
    // the query (a WebSocket port-forward's ports).
    req.url = `${new URL(target).pathname}${url.search}`;
    server.handleUpgrade(req, socket, head);
  }

  /** /run: the command's output (stdout, then stderr) as the body, a 500 when it exits non-zero. */
  private async run(route: ContainerStreamingRoute, query: URLSearchParams, res: ServerResponse): Promise<void> {
    // For legacy reasons run takes the command as one space-separated `cmd`, unlike exec.
    const cmd = (query.get('cmd') ?? '').split(' ').filter((a) => a !== '');
    if (cmd.length === 0) throw new BadRequestError('no cmd given');
    const collect = () => {
      const chunks: Buffer[] = [];
      const s = new PassThrough();
      s.on('data', (c: Buffer) => chunks.push(c));
      return { s, text: () => Buffer.concat(chunks) };
    };
    const out = collect();
    const err = collect();
    const code = await this.opts.streaming.runtime.exec(
      { namespace: route.namespace, pod: route.pod, container: route.container },
      cmd,
      { stdin: undefined, stdout: out.s, stderr: err.s, tty: false, resize: new TerminalSizes(), signal: new AbortController().signal },
    );
    const body = Buffer.concat([out.text(), err.text()]);
    res.writeHead(code === 0 ? 200 : 500, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(code === 0 ? body : Buffer.concat([body, Buffer.from(`command terminated with non-zero exit code ${String(code)}\n`)]));
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
