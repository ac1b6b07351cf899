// The streaming server of a runtime: Exec, Attach and PortForward requests become one-shot URLs
// (<base>/exec/<token>, /attach/<token>, /portforward/<token>), and a client that upgrades such a URL to SPDY/3.1
// or WebSocket gets the session, the runtime doing the work behind plain streams. It serves upgrades handed to it
// by any HTTP server (the kubelet API hands its own over), so it needs no listener of its own.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { WebSocketServer, type WebSocket } from 'ws';
import {
  headerValues,
  isWebSocketRequest,
  negotiateSpdy,
  PROTOCOL_HEADER,
  selectWebSocketProtocol,
  SPDY_PORT_FORWARD,
  SPDY_REMOTE_COMMAND,
  WS_PORT_FORWARD,
  WS_PORT_FORWARD_TUNNEL,
  WS_REMOTE_COMMAND,
} from './negotiation.js';
import { servePortForwardSpdy, servePortForwardWebSocket, queryPorts, type PortForwarder } from './port-forward.js';
import { BadRequestError } from './remote-command-options.js';
import { serveRemoteCommandSpdy, serveRemoteCommandWebSocket, type CommandRunner } from './remote-command.js';
import type { StreamingRuntime, StreamOptions } from './runtime.js';
import { TokenCache, TooManyInFlightError, type TokenCacheOptions } from './token-cache.js';
import { MessageWriter, tunnelStream } from './websocket/writer.js';

export type StreamingRequest<Container, Pod> =
  | { kind: 'exec'; container: Container; cmd: string[]; opts: StreamOptions }
  | { kind: 'attach'; container: Container; opts: StreamOptions }
  | { kind: 'portforward'; pod: Pod; describe: string };

const PATHS = { exec: 'exec', attach: 'attach', portforward: 'portforward' } as const;

export interface StreamingServerOptions<Container, Pod> {
  runtime: StreamingRuntime<Container, Pod>;
  /** Where clients reach this server: the returned URLs are absolute under it. */
  baseURL: string;
  log: Logger;
  cache?: TokenCacheOptions;
  /** A connection that carries no bytes either way for this long is closed (0: never); IDLE_TIMEOUT_MS by default. */
  idleTimeoutMs?: number;
}

/** The kubelet's default --streaming-connection-idle-timeout. */
export const IDLE_TIMEOUT_MS = 4 * 60 * 60 * 1000;

/** An HTTP error for a socket that was not upgraded (the handshake failed before any protocol started). */
export function rejectUpgrade(socket: Duplex, status: number, message: string, headers: Record<string, string[]> = {}): void {
  const reason = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 429: 'Too Many Requests', 500: 'Internal Server Error' }[status] ?? 'Error';
  const body = Buffer.from(`${message}\n`);
  const lines = [`HTTP/1.1 ${String(status)} ${reason}`, 'Content-Type: text/plain; charset=utf-8', `Content-Length: ${String(body.length)}`, 'Connection: close'];
  for (const [name, values] of Object.entries(headers)) for (const v of values) lines.push(`${name}: ${v}`);
  socket.end(Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`), body]));
}

export class StreamingServer<Container, Pod> {
  private readonly cache: TokenCache<StreamingRequest<Container, Pod>>;
  private readonly selected = new WeakMap<IncomingMessage, string>();
  private readonly wss: WebSocketServer;
  private active = 0;

  constructor(private readonly opts: StreamingServerOptions<Container, Pod>) {
    this.cache = new TokenCache(opts.cache);
    this.wss = new WebSocketServer({
      noServer: true,
      // The protocol was chosen before the handshake; '' means the client named none.
      handleProtocols: (_offered, req) => {
        const protocol = this.selected.get(req);
        return protocol === undefined || protocol === '' ? false : protocol;
      },
      maxPayload: 16 * 1024 * 1024,
    });
  }

  /**
   * The URL of a new exec session; throws TooManyInFlightError while the cache is full. `baseURL` puts it under
   * another listener that hands its requests to this server (a runtime's local stream address for CRI clients).
   */
  getExec(container: Container, cmd: string[], opts: StreamOptions, baseURL?: string): string {
    return this.url('exec', { kind: 'exec', container, cmd, opts }, baseURL);
  }

  getAttach(container: Container, opts: StreamOptions, baseURL?: string): string {
    return this.url('attach', { kind: 'attach', container, opts }, baseURL);
  }

  /** `describe` names the pod in error messages the client shows ("pod acme/web, uid ..."). */
  getPortForward(pod: Pod, describe: string, baseURL?: string): string {
    return this.url('portforward', { kind: 'portforward', pod, describe }, baseURL);
  }

  /** Sessions being served now: upgraded, and not yet over. */
  get sessions(): number {
    return this.active;
  }

  /** Tokens handed out and not yet used or expired. */
  get pendingRequests(): number {
    return this.cache.size;
  }

  /** A plain request to a streaming URL: it must be an upgrade, so it only ever gets an error. */
  handleRequest(req: IncomingMessage, res: ServerResponse): void {
    const entry = this.lookup(req);
    res.writeHead(entry ? 400 : 404, { 'content-type': 'text/plain; charset=utf-8' });
    res.end(entry ? 'Upgrade request required: use SPDY/3.1 or WebSocket\n' : 'streaming request not found or expired\n');
  }

  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const entry = this.lookup(req);
    if (!entry) {
      rejectUpgrade(socket, 404, 'streaming request not found or expired');
      return;
    }
    const track = (session: Promise<void>, what: Record<string, unknown>) => {
      const started = Date.now();
      this.active++;
      this.closeWhenIdle(socket, what);
      session
        .catch((err: unknown) => {
          this.opts.log.warn({ err, ...what }, 'streaming session failed');
        })
        .finally(() => {
          this.active--;
          this.opts.log.debug({ ...what, ms: Date.now() - started }, 'streaming session ended');
        });
    };
    const query = new URL(req.url ?? '/', 'http://streaming').searchParams;
    if (isWebSocketRequest(req.headers)) {
      const offered = headerValues(req.headers['sec-websocket-protocol']);
      const protocol = selectWebSocketProtocol(offered, entry.kind === 'portforward' ? WS_PORT_FORWARD : WS_REMOTE_COMMAND);
      if (protocol === undefined) {
        rejectUpgrade(socket, 403, `requested protocol(s) are not supported: [${offered.join(' ')}]`);
        return;
      }
      let ports: number[] = [];
      if (entry.kind === 'portforward' && protocol !== WS_PORT_FORWARD_TUNNEL) {
        try {
          ports = queryPorts(query);
        } catch (err) {
          rejectUpgrade(socket, 400, (err as Error).message);
          return;
        }
      }
      this.selected.set(req, protocol);
      // ws accepts only RFC 6455 tokens in the header, and the tunnel's name has a '/': the choice is made already,
      // so ws sees a stand-in and handleProtocols answers with the real name.
      if (protocol === '') delete req.headers['sec-websocket-protocol'];
      else req.headers['sec-websocket-protocol'] = 'kvcloud-negotiated';
      this.wss.handleUpgrade(req, socket, head, (ws) => {
        track(this.serveWebSocket(ws, socket, protocol, entry, ports), { kind: entry.kind, transport: 'websocket', protocol });
      });
      return;
    }
    const negotiated = negotiateSpdy(req.headers, entry.kind === 'portforward' ? SPDY_PORT_FORWARD : SPDY_REMOTE_COMMAND);
    if (!negotiated.ok) {
      rejectUpgrade(socket, negotiated.status, negotiated.message, negotiated.headers);
      return;
    }
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n${PROTOCOL_HEADER}: ${negotiated.protocol}\r\n\r\n`);
    if (head.length > 0) socket.unshift(head);
    const session =
      entry.kind === 'portforward'
        ? servePortForwardSpdy(socket, this.forwarder(entry.pod), entry.describe)
        : serveRemoteCommandSpdy(socket, negotiated.protocol, entry.opts, this.runner(entry));
    track(session, { kind: entry.kind, transport: 'spdy', protocol: negotiated.protocol });
  }

  /**
   * Closes a session's connection once no byte went either way for the idle timeout, as the kubelet does; closing
   * it ends the session like a client that went away, so the runtime stops what it started. Pings count as traffic.
   */
  private closeWhenIdle(socket: Duplex, what: Record<string, unknown>): void {
    const idleMs = this.opts.idleTimeoutMs ?? IDLE_TIMEOUT_MS;
    // Only a socket knows its inactivity; a kubelet API on TLS hands over a TLSSocket, which is one.
    if (idleMs <= 0 || !(socket instanceof Socket)) return;
    socket.setTimeout(idleMs, () => {
      this.opts.log.info({ ...what, idleMs }, 'closed idle streaming connection');
      socket.destroy();
    });
  }

  /** `socket` is the one ws was handed: binary messages are written to it directly (websocket/writer.ts). */
  private serveWebSocket(ws: WebSocket, socket: Duplex, protocol: string, entry: StreamingRequest<Container, Pod>, ports: number[]): Promise<void> {
    if (entry.kind !== 'portforward') return serveRemoteCommandWebSocket(ws, socket, protocol, entry.opts, this.runner(entry));
    if (protocol !== WS_PORT_FORWARD_TUNNEL) return servePortForwardWebSocket(ws, socket, protocol, ports, this.forwarder(entry.pod), entry.describe);
    // The tunnel: binary messages carry a SPDY connection's bytes both ways.
    const tunnel = tunnelStream(ws, new MessageWriter(ws, socket));
    tunnel.on('error', () => undefined);
    return servePortForwardSpdy(tunnel, this.forwarder(entry.pod), entry.describe);
  }

  private runner(entry: Exclude<StreamingRequest<Container, Pod>, { kind: 'portforward' }>): CommandRunner {
    const { runtime } = this.opts;
    if (entry.kind === 'exec') return async (io) => ({ kind: 'exited', code: await runtime.exec(entry.container, entry.cmd, io), cmd: entry.cmd });
    return async (io) => {
      await runtime.attach(entry.container, io);
      return { kind: 'exited', code: 0 };
    };
  }

  private forwarder(pod: Pod): PortForwarder {
    return (port, stream, signal) => this.opts.runtime.portForward(pod, port, stream, signal);
  }

  private url(kind: keyof typeof PATHS, request: StreamingRequest<Container, Pod>, baseURL = this.opts.baseURL): string {
    const token = this.cache.insert(request);
    return `${baseURL.replace(/\/$/, '')}/${PATHS[kind]}/${token}`;
  }

  /** The request a URL of ours names, used up by this call; paths may come with or without the base URL's path. */
  private lookup(req: IncomingMessage): StreamingRequest<Container, Pod> | undefined {
    const basePath = new URL(this.opts.baseURL).pathname.replace(/\/$/, '');
    let path = new URL(req.url ?? '/', 'http://streaming').pathname;
    if (basePath !== '' && path.startsWith(`${basePath}/`)) path = path.slice(basePath.length);
    const [, kind = '', token = '', ...rest] = path.split('/');
    if (rest.length > 0 || !(kind in PATHS)) return undefined;
    const entry = this.cache.consume(token);
    return entry?.kind === kind ? entry : undefined;
  }
}

/** The HTTP status and headers for an error from getExec/getAttach/getPortForward. */
export function streamingErrorResponse(err: unknown): { status: number; headers: Record<string, string>; message: string } {
  if (err instanceof TooManyInFlightError) return { status: 429, headers: { 'retry-after': String(err.retryAfterSeconds) }, message: err.message };
  if (err instanceof BadRequestError) return { status: 400, headers: {}, message: err.message };
  return { status: 500, headers: {}, message: (err as Error).message };
}
