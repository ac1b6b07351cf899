// Parses controller-runtime style bind addresses (":8080", "127.0.0.1:0", "[::1]:9443", "0" to disable), so
// our flags accept exactly what operators already pass to Go managers.

export interface BindAddress {
  host: string;
  port: number;
}

/** Returns undefined for "0" or "", which disable the server. */
export function parseBindAddress(value: string): BindAddress | undefined {
  if (value === '' || value === '0') return undefined;
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(value);
  if (!match) throw new Error(`bind address "${value}": want host:port, :port or 0`);
  const host = match[1] ?? match[2] ?? '';
  const port = Number(match[3]);
  if (port > 65_535) throw new Error(`bind address "${value}": port out of range`);
  // An empty host means every interface, as in Go's net.Listen.
  return { host: host === '' ? '::' : host, port };
}
