// Chooses the endpoint for each new connection of one Service port: round-robin, or with sessionAffinity
// ClientIP the endpoint the client used last while it stays usable and the affinity has not timed out. Endpoint
// updates keep the rotation position and every affinity whose endpoint survives.
import { endpointKey, type Endpoint } from './endpoint-selection.js';

interface Affinity {
  endpoint: string;
  expiresAt: number;
}

export class EndpointPicker {
  private endpoints: Endpoint[] = [];
  private next = 0;
  private affinityTimeoutMs: number | undefined;
  private readonly affinities = new Map<string, Affinity>();

  constructor(private readonly now: () => number = Date.now) {}

  get size(): number {
    return this.endpoints.length;
  }

  /** `affinityTimeoutMs` set means sessionAffinity ClientIP with that timeout. */
  update(endpoints: readonly Endpoint[], affinityTimeoutMs?: number): void {
    this.endpoints = [...endpoints];
    this.affinityTimeoutMs = affinityTimeoutMs;
    if (affinityTimeoutMs === undefined) {
      this.affinities.clear();
      return;
    }
    const present = new Set(endpoints.map(endpointKey));
    for (const [client, affinity] of this.affinities) if (!present.has(affinity.endpoint)) this.affinities.delete(client);
  }

  pick(clientIP: string | undefined): Endpoint | undefined {
    if (this.endpoints.length === 0) return undefined;
    const timeout = this.affinityTimeoutMs;
    if (timeout === undefined || clientIP === undefined) return this.rotate();
    const now = this.now();
    const known = this.affinities.get(clientIP);
    const sticky = known && known.expiresAt > now ? this.endpoints.find((e) => endpointKey(e) === known.endpoint) : undefined;
    const chosen = sticky ?? this.rotate();
    // Each connection refreshes the affinity, as kube-proxy's "recent" match does: the timeout counts from the
    // client's last connection, not its first.
    this.affinities.set(clientIP, { endpoint: endpointKey(chosen), expiresAt: now + timeout });
    return chosen;
  }

  private rotate(): Endpoint {
    const chosen = this.endpoints[this.next % this.endpoints.length];
    this.next = (this.next + 1) % this.endpoints.length;
    if (!chosen) throw new Error('endpoint picker: rotate() with no endpoints');
    return chosen;
  }
}
