// HTTP to one apiserver, with the kubeconfig's TLS and credentials: plain JSON requests and line-delimited
// streams for watches. Every response is counted in rest_client_requests_total, which is how we prove that a
// steady-state controller makes no writes.
import http from 'node:http';
import https from 'node:https';
import { WebSocket } from 'ws';
import type { ToolkitMetrics } from '../observability/metrics.js';
import { ApiError } from './api-error.js';
import type { KubeConfigSource } from './kubeconfig-source.js';
import type { ApiStatus } from './object.js';

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface RestRequest {
  method: HttpMethod;
  /** Absolute API path, e.g. /api/v1/namespaces/default/configmaps. */
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  /** JSON-serialised unless already a string. */
  body?: unknown;
  contentType?: string;
  accept?: string;
  signal?: AbortSignal | undefined;
  /** Socket inactivity limit for plain requests; streams have none (the informer's watchdog covers them). */
  timeoutMs?: number;
}

/** Lines of a streaming response; `close()` ends iteration early and frees the socket. */
export interface LineStream extends AsyncIterable<string> {
  close(): void;
}

/** What clients need from a connection; RestTransport is the real one, FakeApiServer the unit-test one. */
export interface Transport {
  /** host:port, the `host` label of rest_client_requests_total. */
  readonly host: string;
  request<T>(req: RestRequest): Promise<T>;
  stream(req: RestRequest): Promise<LineStream>;
  close(): void;
}

export interface RestTransportOptions {
  metrics?: ToolkitMetrics | undefined;
  userAgent?: string;
  /** Per-request timeout for non-streaming calls. */
  requestTimeoutMs?: number;
}

type AuthHeaders = () => Promise<Record<string, string>>;

const DEFAULT_TIMEOUT_MS = 30_000;

function encodeQuery(query: RestRequest['query']): string {
  if (!query) return '';
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
  const s = params.toString();
  return s ? `?${s}` : '';
}

function parseStatus(text: string): ApiStatus | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed) : undefined;
  } catch {
    return { message: text.slice(0, 500) };
  }
}

export class RestTransport implements Transport {
  readonly host: string;
  private readonly agent: http.Agent;
  private readonly requestTimeoutMs: number;

  private constructor(
    readonly server: URL,
    private readonly tls: https.AgentOptions,
    private readonly authHeaders: AuthHeaders,
    private readonly opts: RestTransportOptions,
  ) {
    this.host = server.host;
    const agentOptions = { keepAlive: true, maxSockets: Infinity, ...tls };
    this.agent = server.protocol === 'https:' ? new https.Agent(agentOptions) : new http.Agent(agentOptions);
    this.requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  static async fromKubeConfig(kc: KubeConfigSource, opts: RestTransportOptions = {}): Promise<RestTransport> {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('kubeconfig has no current cluster');
    const initial: https.RequestOptions = {};
    await kc.applyToHTTPSOptions(initial);
    const user = kc.getCurrentUser();
    const tls: https.AgentOptions = {
      ca: initial.ca,
      cert: initial.cert,
      key: initial.key,
      servername: initial.servername,
      ...(initial.rejectUnauthorized === false ? { rejectUnauthorized: false } : {}),
    };
    const staticHeaders = { ...(initial.headers as Record<string, string> | undefined) };
    if (initial.auth) staticHeaders.Authorization = `Basic ${Buffer.from(initial.auth).toString('base64')}`;
    // Exec plugins and auth providers hand out short-lived tokens, so those are asked again on each request;
    // client certificates and static tokens are read once.
    const dynamic = user?.exec !== undefined || user?.authProvider !== undefined;
    const authHeaders: AuthHeaders = dynamic
      ? async () => {
          const fresh: https.RequestOptions = {};
          await kc.applyToHTTPSOptions(fresh);
          return { ...(fresh.headers as Record<string, string> | undefined) };
        }
      : () => Promise.resolve(staticHeaders);
    return new RestTransport(new URL(cluster.server), tls, authHeaders, opts);
  }

  /** Sends a request and parses the JSON answer; non-2xx answers throw ApiError. */
  async request<T>(req: RestRequest): Promise<T> {
    const res = await this.send(req, false);
    const text = await readBody(res, req.signal);
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) throw new ApiError(status, req.method, req.path, parseStatus(text));
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Opens a streaming GET (a watch); non-2xx answers throw ApiError before any line is read. */
  async stream(req: RestRequest): Promise<LineStream> {
    const res = await this.send(req, true);
    const status = res.statusCode ?? 0;
    if (status < 200 || status > 299) {
      throw new ApiError(status, req.method, req.path, parseStatus(await readBody(res, req.signal)));
    }
    return lineStream(res);
  }

  /**
   * Opens a WebSocket to a streaming API path (KubeVirt's console and portforward subresources) with this
   * connection's TLS and credentials; resolves once open, rejects with ApiError when the apiserver refuses it.
   */
  async webSocket(path: string, protocols: string[]): Promise<WebSocket> {
    const headers: Record<string, string> = { ...(await this.authHeaders()) };
    if (this.opts.userAgent) headers['User-Agent'] = this.opts.userAgent;
    const base = new URL(this.server);
    base.protocol = this.server.protocol === 'https:' ? 'wss:' : 'ws:';
    const ws = new WebSocket(`${base.toString().replace(/\/$/, '')}${path}`, protocols, { ...this.tls, headers, handshakeTimeout: this.requestTimeoutMs });
    return new Promise((resolve, reject) => {
      ws.once('open', () => {
        this.count('GET', '101');
        resolve(ws);
      });
      ws.once('unexpected-response', (_req, res) => {
        this.count('GET', String(res.statusCode ?? 0));
        readBody(res, undefined).then(
          (text) => {
            reject(new ApiError(res.statusCode ?? 0, 'GET', path, parseStatus(text)));
          },
          reject,
        );
      });
      ws.once('error', (err) => {
        this.count('GET', '<error>');
        reject(err);
      });
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private async send(req: RestRequest, streaming: boolean): Promise<http.IncomingMessage> {
    const headers: Record<string, string> = { ...(await this.authHeaders()), Accept: req.accept ?? 'application/json' };
    if (this.opts.userAgent) headers['User-Agent'] = this.opts.userAgent;
    let payload: string | undefined;
    if (req.body !== undefined) {
      payload = typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
      headers['Content-Type'] = req.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const lib = this.server.protocol === 'https:' ? https : http;
    const basePath = this.server.pathname.replace(/\/$/, '');
    return new Promise((resolve, reject) => {
      const request = lib.request(
        {
          protocol: this.server.protocol,
          hostname: this.server.hostname.replace(/^\[|\]$/g, ''),
          port: this.server.port,
          method: req.method,
          path: `${basePath}${req.path}${encodeQuery(req.query)}`,
          headers,
          agent: this.agent,
          signal: req.signal,
        },
        (res) => {
          this.count(req.method, String(res.statusCode ?? 0));
          // The inactivity timeout guards the response phase too, except for streams that may idle legitimately.
          if (streaming) request.setTimeout(0);
          resolve(res);
        },
      );
      request.setTimeout(req.timeoutMs ?? this.requestTimeoutMs, () => {
        request.destroy(new Error(`${req.method} ${req.path}: no answer within ${req.timeoutMs ?? this.requestTimeoutMs}ms`));
      });
      request.on('error', (err) => {
        this.count(req.method, '<error>');
        reject(err);
      });
      request.end(payload);
    });
  }

  private count(method: string, code: string): void {
    this.opts.metrics?.restClientRequests.inc({ code, method, host: this.host });
  }
}

async function readBody(res: http.IncomingMessage, signal: AbortSignal | undefined): Promise<string> {
  const chunks: Buffer[] = [];
  signal?.throwIfAborted();
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function lineStream(res: http.IncomingMessage): LineStream {
  return {
    close() {
      res.destroy();
    },
    async *[Symbol.asyncIterator]() {
      // The decoder keeps multi-byte characters whole when a chunk boundary splits them.
      res.setEncoding('utf8');
      let pending = '';
      try {
        for await (const chunk of res) {
          pending += chunk as string;
          let newline = pending.indexOf('\n');
          while (newline >= 0) {
            const line = pending.slice(0, newline);
            pending = pending.slice(newline + 1);
            if (line.trim() !== '') yield line;
            newline = pending.indexOf('\n');
          }
        }
        if (pending.trim() !== '') yield pending;
      } finally {
        res.destroy();
      }
    },
  };
}
