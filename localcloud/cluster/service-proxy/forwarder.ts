// One socket listening on one Service address (protocol, IP, port) and relaying what arrives to the endpoint its
// picker chooses. The data plane swaps the picker when the Service changes and retires forwarders whose address
// is no longer wanted; TCP connections already relayed outlive both, as conntrack entries outlive kube-proxy's
// rule changes, but a retired forwarder's only for a while: its Service is gone, so a connection that has gone
// quiet is most likely one whose endpoint went away without a word, and none may hold the address for long.
import type { Logger } from 'pino';
import type { EndpointPicker } from './endpoint-picker.js';
import type { ProxyMetrics } from './proxy-metrics.js';

export interface Forwarder {
  /** "TCP 10.96.0.10:80", also the data plane's key for it. */
  readonly address: string;
  picker: EndpointPicker;
  /**
   * Stops accepting and resolves once the connections in flight have ended: on their own, or reset by the
   * forwarder once idle for `limits.idleMs` or still open after `limits.maxMs`.
   */
  drain(limits: DrainLimits): Promise<void>;
  /** Connections (TCP) or flows (UDP) relayed now. */
  inFlight(): number;
  /** Stops accepting and cuts every connection now. */
  destroy(): Promise<void>;
}

export interface DrainLimits {
  /** A connection with no bytes either way for this long is reset. */
  idleMs: number;
  /** Every connection still open this long after the drain began is reset. */
  maxMs: number;
}

export interface ForwarderContext {
  log: Logger;
  metrics?: ProxyMetrics | undefined;
}

export function forwarderAddress(protocol: string, ip: string, port: number): string {
  return `${protocol} ${ip}:${port}`;
}
