// KubeVirt's streaming subresources as plain byte streams: the serial console
// (virtualmachineinstances/<vm>/console) and a TCP connection into the VM (.../portforward/<port>/tcp), each a
// WebSocket through the management apiserver to virt-api, speaking plain.kubevirt.io (binary messages carry the
// bytes as they are), as virtctl does.
import type { Duplex } from 'node:stream';
import { createWebSocketStream, type WebSocket } from 'ws';

export const SUBRESOURCES_GROUP_VERSION = 'subresources.kubevirt.io/v1';
export const PLAIN_STREAM_PROTOCOL = 'plain.kubevirt.io';

/** What the operator needs of virt-api. */
export interface VirtApi {
  console(namespace: string, name: string): Promise<Duplex>;
  portForward(namespace: string, name: string, port: number): Promise<Duplex>;
}

/** Opens a WebSocket to an API path; RestTransport.webSocket is the real one. */
export type WebSocketDialer = (path: string, protocols: string[]) => Promise<WebSocket>;

export function vmiSubresourcePath(namespace: string, name: string, subresource: string): string {
  return `/apis/${SUBRESOURCES_GROUP_VERSION}/namespaces/${encodeURIComponent(namespace)}/virtualmachineinstances/${encodeURIComponent(name)}/${subresource}`;
}

function stream(ws: WebSocket): Duplex {
  const duplex = createWebSocketStream(ws);
  // A peer that goes away surfaces as the stream's end or close; callers that care listen for 'error' themselves.
  duplex.on('error', () => undefined);
  return duplex;
}

export function virtApi(dial: WebSocketDialer): VirtApi {
  return {
    console: async (namespace, name) => stream(await dial(vmiSubresourcePath(namespace, name, 'console'), [PLAIN_STREAM_PROTOCOL])),
    portForward: async (namespace, name, port) => stream(await dial(vmiSubresourcePath(namespace, name, `portforward/${String(port)}/tcp`), [PLAIN_STREAM_PROTOCOL])),
  };
}
