// Chooses the endpoint for each new connection of one Service port: in rounds that serve every endpoint once, each
// round in a fresh random order, or with sessionAffinity ClientIP the endpoint the client used last while it stays
// usable and the affinity has not timed out.
//
// Why rounds in random order, not a fixed rotation: clients that connect periodically, in turn, would each see
// the same position of a fixed rotation every time. Two Konnectivity agents re-dialling every few seconds each
// reached only one of two servers for as long as they ran, so every other apiserver had no agent. kube-proxy picks
// at random; rounds keep that from aliasing with the clients' rhythm and still spread any N connections over the N
// endpoints evenly.
import { endpointKey, type Endpoint } from './endpoint-selection.js';

interface Affinity {
  endpoint: string;
  expiresAt: number;
}

export class EndpointPicker {
  private endpoints: Endpoint[] = [];
  /** What the current round has still to serve, taken from the end. */
  private round: Endpoint[] = [];
  private affinityTimeoutMs: number | undefined;
  private readonly affinities = new Map<string, Affinity>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {}

  get size(): number {
    return this.endpoints.length;
  }

  /** `affinityTimeoutMs` set means sessionAffinity ClientIP with that timeout. */
  update(endpoints: readonly Endpoint[], affinityTimeoutMs?: number): void {
    this.endpoints = [...endpoints];
    // The current round goes on with the endpoints that are still there, so an update in the middle of a round
    // never serves one endpoint twice before another once; new endpoints join with the next round.
    const current = new Map(endpoints.map((e) => [endpointKey(e), e]));
    this.round = this.round.flatMap((e) => current.get(endpointKey(e)) ?? []);
    this.affinityTimeoutMs = affinityTimeoutMs;
    if (affinityTimeoutMs === undefined) {
      this.affinities.clear();
      return;
    }
    for (const [client, affinity] of this.affinities) if (!current.has(affinity.endpoint)) this.affinities.delete(client);
  }

  pick(clientIP: string | undefined): Endpoint | undefined {
    if (this.endpoints.length === 0) return undefined;
    const timeout = this.affinityTimeoutMs;
    if (timeout === undefined || clientIP === undefined) return this.next();
    const now = this.now();
    const known = this.affinities.get(clientIP);
    const sticky = known && known.expiresAt > now ? this.endpoints.find((e) => endpointKey(e) === known.endpoint) : undefined;
    const chosen = sticky ?? this.next();
    // Each connection refreshes the affinity, as kube-proxy's "recent" match does: the timeout counts from the
    // client's last connection, not its first.
    this.affinities.set(clientIP, { endpoint: endpointKey(chosen), expiresAt: now + timeout });
    return chosen;
  }

  private next(): Endpoint {
    if (this.round.length === 0) this.round = this.shuffled(this.endpoints);
    const chosen = this.round.pop();
    if (!chosen) throw new Error('endpoint picker: next() with no endpoints');
    return chosen;
  }

  /** Sorted by a random key each: every order equally likely. */
  private shuffled(endpoints: readonly Endpoint[]): Endpoint[] {
    return endpoints
      .map((endpoint) => ({ endpoint, key: this.random() }))
      .sort((a, b) => a.key - b.key)
      .map((e) => e.endpoint);
  }
}
