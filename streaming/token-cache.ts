// One-shot tokens for streaming requests, as a CRI runtime hands them out: Exec, Attach and PortForward return a
// URL holding a token, and the client must use it within the TTL, once. Tokens are 6 random bytes in URL-safe
// base64 (8 characters); at most `maxInFlight` wait at a time, so a caller that never connects cannot fill memory.
import { randomBytes } from 'node:crypto';

export const TOKEN_TTL_MS = 60_000;
export const MAX_IN_FLIGHT = 1000;

export class TooManyInFlightError extends Error {
  constructor(readonly retryAfterSeconds: number) {
    super(`too many streaming requests in flight (${String(MAX_IN_FLIGHT)}); retry after ${String(retryAfterSeconds)}s`);
  }
}

export interface TokenCacheOptions {
  ttlMs?: number;
  maxInFlight?: number;
  now?: () => number;
  random?: (n: number) => Buffer;
}

export class TokenCache<T> {
  // Map keeps insertion order, which is expiry order since every entry gets the same TTL.
  private readonly entries = new Map<string, { value: T; expires: number }>();
  private readonly ttlMs: number;
  private readonly maxInFlight: number;
  private readonly now: () => number;
  private readonly random: (n: number) => Buffer;

  constructor(opts: TokenCacheOptions = {}) {
    this.ttlMs = opts.ttlMs ?? TOKEN_TTL_MS;
    this.maxInFlight = opts.maxInFlight ?? MAX_IN_FLIGHT;
    this.now = opts.now ?? Date.now;
    this.random = opts.random ?? randomBytes;
  }

  /** A fresh token for `value`; throws TooManyInFlightError when the cache is full of unexpired tokens. */
  insert(value: T): string {
    this.evictExpired();
    if (this.entries.size >= this.maxInFlight) {
      const oldest = this.entries.values().next().value;
      const wait = oldest ? oldest.expires - this.now() : this.ttlMs;
      throw new TooManyInFlightError(Math.max(1, Math.ceil(wait / 1000)));
    }
    for (;;) {
      const token = this.random(6).toString('base64url');
      if (this.entries.has(token)) continue;
      this.entries.set(token, { value, expires: this.now() + this.ttlMs });
      return token;
    }
  }

  /** The value of a live token, which is used up by this call; undefined for unknown, used or expired tokens. */
  consume(token: string): T | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    this.entries.delete(token);
    return entry.expires > this.now() ? entry.value : undefined;
  }

  get size(): number {
    this.evictExpired();
    return this.entries.size;
  }

  private evictExpired(): void {
    const now = this.now();
    for (const [token, entry] of this.entries) {
      if (entry.expires > now) break;
      this.entries.delete(token);
    }
  }
}
