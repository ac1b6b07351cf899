// The small MetalLB's bookkeeping: which Service (by "namespace/name") holds which IP of the load-balancer pool.
// Pure state, no I/O: the reconciler feeds it Services and writes what it decides into their status.
import type { IPv4Range } from './ipv4-range.js';

export type AllocationFailure =
  | { reason: 'NotInPool'; ip: string }
  | { reason: 'InUse'; ip: string; holder: string }
  | { reason: 'PoolExhausted' };

export type Allocation =
  | { ok: true; ip: string; released?: string }
  | { ok: false; failure: AllocationFailure; released?: string };

export class LoadBalancerAllocator {
  private readonly ipByKey = new Map<string, string>();
  private readonly keyByIP = new Map<string, string>();

  constructor(readonly pool: IPv4Range) {}

  get allocatedCount(): number {
    return this.ipByKey.size;
  }

  ipOf(key: string): string | undefined {
    return this.ipByKey.get(key);
  }

  /**
   * Takes over an IP a Service already carries in its status, as a restarted proxy does before it allocates
   * anything new. False when the IP is outside the pool or another Service adopted it first.
   */
  adopt(key: string, ip: string): boolean {
    if (!this.pool.contains(ip)) return false;
    const holder = this.keyByIP.get(ip);
    if (holder !== undefined) return holder === key;
    if (this.ipByKey.has(key)) return false;
    this.assign(key, ip);
    return true;
  }

  /**
   * The IP for `key`: the requested one if it is in the pool and free, else (without a request) the one it holds
   * or the lowest free one. A failure releases what `key` held, because the Service now asks for something else;
   * `released` reports any IP this call freed, so Services waiting for one can try again.
   */
  allocate(key: string, requested?: string): Allocation {
    const current = this.ipByKey.get(key);
    if (requested !== undefined) {
      const failure = this.refuse(key, requested);
      if (failure) return { ok: false, failure, ...this.releaseForResult(key) };
      if (current === requested) return { ok: true, ip: requested };
      const released = this.releaseForResult(key);
      this.assign(key, requested);
      return { ok: true, ip: requested, ...released };
    }
    if (current !== undefined) return { ok: true, ip: current };
    for (const ip of this.pool.hosts()) {
      if (this.keyByIP.has(ip)) continue;
      this.assign(key, ip);
      return { ok: true, ip };
    }
    return { ok: false, failure: { reason: 'PoolExhausted' } };
  }

  /** Frees what `key` holds; returns the freed IP. */
  release(key: string): string | undefined {
    const ip = this.ipByKey.get(key);
    if (ip === undefined) return undefined;
    this.ipByKey.delete(key);
    this.keyByIP.delete(ip);
    return ip;
  }

  private refuse(key: string, requested: string): AllocationFailure | undefined {
    if (!this.pool.contains(requested)) return { reason: 'NotInPool', ip: requested };
    const holder = this.keyByIP.get(requested);
    if (holder !== undefined && holder !== key) return { reason: 'InUse', ip: requested, holder };
    return undefined;
  }

  private releaseForResult(key: string): { released?: string } {
    const released = this.release(key);
    return released === undefined ? {} : { released };
  }

  private assign(key: string, ip: string): void {
    this.ipByKey.set(key, ip);
    this.keyByIP.set(ip, key);
  }
}
