// One socket listening on one Service address (protocol, IP, port) and relaying what arrives to the endpoint its
// picker chooses. The data plane swaps the picker when the Service changes and retires forwarders whose address
// is no longer wanted; TCP connections already relayed outlive both, as conntrack entries outlive kube-proxy's
// rule changes.
import type { Logger } from 'pino';
import type { EndpointPicker } from './endpoint-picker.js';
import type { ProxyMetrics } from './proxy-metrics.js';

export interface Forwarder {
  /** "TCP 10.96.0.10:80", also the data plane's key for it. */
  readonly address: string;
  picker: EndpointPicker;
  /** Stops accepting; resolves once the connections in flight have ended on their own. */
  close(): Promise<void>;
  /** Stops accepting and cuts every connection now. */
  destroy(): Promise<void>;
}

export interface ForwarderContext {
  log: Logger;
  metrics?: ProxyMetrics | undefined;
}

export function forwarderAddress(protocol: string, ip: string, port: number): string {
  return `${protocol} ${ip}:${port}`;
}
