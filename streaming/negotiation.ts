// Which streaming protocol a client and the server agree on. SPDY clients list versions in
// X-Stream-Protocol-Version headers; WebSocket clients in Sec-WebSocket-Protocol. Either way the first protocol
// in the client's order that the server speaks wins, as in the kubelet's streaming library.
import type { IncomingHttpHeaders } from 'node:http';

export const PROTOCOL_HEADER = 'x-stream-protocol-version';
export const ACCEPTED_PROTOCOLS_HEADER = 'x-accepted-stream-protocol-versions';

/** Remote command over SPDY, newest first. */
export const SPDY_REMOTE_COMMAND = ['v4.channel.k8s.io', 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'] as const;
export const SPDY_PORT_FORWARD = ['portforward.k8s.io'] as const;

/** Remote command over WebSocket; '' is a client that names no subprotocol (binary channels, v1 semantics). */
export const WS_REMOTE_COMMAND = ['v5.channel.k8s.io', 'v4.channel.k8s.io', 'v4.base64.channel.k8s.io', 'channel.k8s.io', 'base64.channel.k8s.io', ''] as const;
/** Port forward over WebSocket: the SPDY tunnel current kubectl uses, and the channel form older clients use. */
export const WS_PORT_FORWARD_TUNNEL = 'SPDY/3.1+portforward.k8s.io';
export const WS_PORT_FORWARD = [WS_PORT_FORWARD_TUNNEL, 'v4.channel.k8s.io', 'v4.base64.channel.k8s.io', ''] as const;

export type Negotiated = { ok: true; protocol: string } | { ok: false; status: number; message: string; headers: Record<string, string[]> };

/** Comma-separated header values, trimmed, empty ones dropped. */
export function headerValues(value: string | string[] | undefined): string[] {
  const list = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return list.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
}

export function isWebSocketRequest(headers: IncomingHttpHeaders): boolean {
  return headerValues(headers.connection).some((v) => v.toLowerCase() === 'upgrade') && headerValues(headers.upgrade).some((v) => v.toLowerCase() === 'websocket');
}

/** The SPDY upgrade handshake: upgrade headers present, and a protocol both sides speak. */
export function negotiateSpdy(headers: IncomingHttpHeaders, server: readonly string[]): Negotiated {
  const connection = headerValues(headers.connection).map((v) => v.toLowerCase());
  const upgrade = headerValues(headers.upgrade).map((v) => v.toLowerCase());
  if (!connection.includes('upgrade') || !upgrade.includes('spdy/3.1')) {
    return { ok: false, status: 400, message: 'unable to upgrade: missing upgrade headers in request (Connection: Upgrade, Upgrade: SPDY/3.1)', headers: {} };
  }
  const client = headerValues(headers[PROTOCOL_HEADER]);
  if (client.length === 0) return { ok: false, status: 400, message: `unable to upgrade: header ${PROTOCOL_HEADER} is missing or empty`, headers: {} };
  const protocol = client.find((p) => server.includes(p));
  if (protocol === undefined) {
    return {
      ok: false,
      status: 403,
      message: `unable to upgrade: unable to negotiate protocol: client supports [${client.join(' ')}], server accepts [${server.join(' ')}]`,
      headers: { [ACCEPTED_PROTOCOLS_HEADER]: [...server] },
    };
  }
  return { ok: true, protocol };
}

/** The WebSocket subprotocol for the client's list; undefined when it offered some and none is ours. */
export function selectWebSocketProtocol(requested: readonly string[], server: readonly string[]): string | undefined {
  if (requested.length === 0) return server.includes('') ? '' : undefined;
  return requested.find((p) => p !== '' && server.includes(p));
}
