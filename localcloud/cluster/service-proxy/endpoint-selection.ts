// Which endpoints a Service port forwards to, decided from its EndpointSlices the way kube-proxy decides: slice
// ports match the Service port by name and protocol (the EndpointSlice controller names them after the Service
// port and resolves named targetPorts into their numbers), ready endpoints serve, and only when none is ready do
// serving-but-terminating ones take the traffic (KEP-1669), so a rolling update never blackholes a Service.
// Traffic policies Local narrow the choice to one node's endpoints (the same rules applied to those alone) where
// a proxy serves one node, a tenant VM's kube-proxy; on the management cluster every simulated Node is this one
// machine behind this one proxy, so every endpoint is node-local and nothing narrows.
import type { EndpointSlice, Protocol } from './service-api.js';

export interface Endpoint {
  ip: string;
  port: number;
}

export interface PortSelector {
  /** The Service port's name; '' for the single unnamed port. */
  name: string;
  protocol: Protocol;
}

export function endpointKey(e: Endpoint): string {
  return `${e.ip}:${e.port}`;
}

/** The endpoints of a Service port; with `node`, only the ones on that Node (a traffic policy Local). */
export function selectEndpoints(slices: readonly EndpointSlice[], selector: PortSelector, node?: string): Endpoint[] {
  const ready = new Map<string, Endpoint>();
  const terminating = new Map<string, Endpoint>();
  for (const slice of slices) {
    if (slice.addressType !== 'IPv4') continue;
    const port = (slice.ports ?? []).find((p) => (p.name ?? '') === selector.name && (p.protocol ?? 'TCP') === selector.protocol);
    if (port?.port === undefined) continue;
    for (const endpoint of slice.endpoints ?? []) {
      // Every address of one endpoint is the same pod; kube-proxy uses the first.
      const ip = endpoint.addresses[0];
      if (ip === undefined || (node !== undefined && endpoint.nodeName !== node)) continue;
      const target = { ip, port: port.port };
      // Unset conditions mean ready, serving and not terminating (discovery/v1 API docs).
      const c = endpoint.conditions ?? {};
      if (c.ready ?? true) ready.set(endpointKey(target), target);
      else if ((c.serving ?? true) && (c.terminating ?? false)) terminating.set(endpointKey(target), target);
    }
  }
  const chosen = ready.size > 0 ? ready : terminating;
  return [...chosen.values()].sort((a, b) => compareEndpoints(a, b));
}

// A stable order, so the same endpoints make the same list whichever slice listed them first.
function compareEndpoints(a: Endpoint, b: Endpoint): number {
  const ipOrder = a.ip.localeCompare(b.ip, 'en', { numeric: true });
  return ipOrder !== 0 ? ipOrder : a.port - b.port;
}
