// Leader election on a coordination.k8s.io/v1 Lease, with client-go's rules: a candidate takes the Lease only
// after it has seen the holder's record unchanged for a full lease duration (local clock, so clock skew between
// replicas does not matter), the leader renews every retry period and gives up when it cannot renew within the
// renew deadline, and a graceful stop releases the Lease so the next leader need not wait for it to expire.
import type { Logger } from 'pino';
import { isDeepStrictEqual } from 'node:util';
import { isAlreadyExists, isConflict } from '../kube/api-error.js';
import type { Client } from '../kube/client.js';
import { microTime } from '../kube/meta-time.js';
import type { KubeObject } from '../kube/object.js';
import type { ToolkitMetrics } from '../observability/metrics.js';
import { pause } from './backoff.js';

export const LEASE_TYPE = { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease' };

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

export interface Lease extends KubeObject {
  spec?: LeaseSpec;
}

export interface LeaderElectionOptions {
  client: Client;
  namespace: string;
  name: string;
  /** Unique per process: hostname plus a random suffix. */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log?: Logger | undefined;
  metrics?: ToolkitMetrics | undefined;
}

export interface LeaderCallbacks {
  onStartedLeading(): void;
  /** Called when renewal failed past the deadline (not after a graceful stop). */
  onLostLeadership(): void;
}

export class LeaderElector {
  readonly identity: string;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private readonly abort = new AbortController();
  private leading = false;
  private lastRenew = 0;
  private observed: LeaseSpec | undefined;
  private observedAt = 0;
  private loop: Promise<void> | undefined;

  constructor(private readonly opts: LeaderElectionOptions) {
    this.identity = opts.identity;
    this.leaseDurationMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = opts.retryPeriodMs ?? 2_000;
    if (this.leaseDurationMs <= this.renewDeadlineMs) throw new Error('lease duration must exceed the renew deadline');
    if (this.renewDeadlineMs <= this.retryPeriodMs * 1.2) throw new Error('renew deadline must exceed the retry period (with jitter)');
  }

  isLeader(): boolean {
    return this.leading;
  }

  /** For health checks: true while leading and the last renewal is older than the deadline (a stuck renew loop). */
  renewOverdue(): boolean {
    return this.leading && Date.now() - this.lastRenew > this.renewDeadlineMs + this.retryPeriodMs;
  }

  start(callbacks: LeaderCallbacks): void {
    this.loop ??= this.run(callbacks);
  }

  /** Stops campaigning; a leader releases the Lease (unless the caller already lost it). */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.loop;
    if (this.leading) await this.release();
    this.setLeading(false);
  }

  private async run(callbacks: LeaderCallbacks): Promise<void> {
    const signal = this.abort.signal;
    while (!signal.aborted && !this.leading) {
      if (await this.tryAcquireOrRenew()) break;
      await pause(this.retryPeriodMs * (1 + Math.random() * 0.2), signal);
    }
    if (signal.aborted) return;
    this.setLeading(true);
    this.opts.log?.info({ lease: `${this.opts.namespace}/${this.opts.name}`, identity: this.identity }, 'acquired leadership');
    callbacks.onStartedLeading();
    while (!this.stopped()) {
      await pause(this.retryPeriodMs, signal);
      if (this.stopped()) return;
      if (await this.tryAcquireOrRenew()) continue;
      if (Date.now() - this.lastRenew >= this.renewDeadlineMs) {
        this.setLeading(false);
        this.opts.log?.error({ lease: `${this.opts.namespace}/${this.opts.name}` }, 'lost leadership: renew deadline passed');
        callbacks.onLostLeadership();
        return;
      }
    }
  }

  // A method rather than reading the signal inline: the abort happens during awaits, where flow analysis
  // would otherwise assume the earlier check still holds.
  private stopped(): boolean {
    return this.abort.signal.aborted;
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.opts.metrics?.leaderElectionMasterStatus.set({ name: this.opts.name }, leading ? 1 : 0);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, namespace, name } = this.opts;
    const now = Date.now();
    const spec: LeaseSpec = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    try {
      const lease = await client.get<Lease>(LEASE_TYPE, { namespace, name }, { direct: true });
      if (!lease) {
        await client.create<Lease>({ ...LEASE_TYPE, metadata: { namespace, name }, spec });
        return this.renewed(spec, now);
      }
      const current = lease.spec ?? {};
      if (!isDeepStrictEqual(current, this.observed)) {
        this.observed = current;
        this.observedAt = now;
      }
      const holder = current.holderIdentity ?? '';
      const durationMs = (current.leaseDurationSeconds ?? 0) * 1000;
      if (holder !== '' && holder !== this.identity && this.observedAt + durationMs > now) return false;
      if (holder === this.identity) {
        spec.acquireTime = current.acquireTime ?? spec.acquireTime;
        spec.leaseTransitions = current.leaseTransitions ?? 0;
      } else {
        spec.leaseTransitions = (current.leaseTransitions ?? 0) + 1;
      }
      await client.update<Lease>({ ...LEASE_TYPE, metadata: lease.metadata, spec });
      return this.renewed(spec, now);
    } catch (err) {
      // Losing a race for the Lease is the normal case for a standby; anything else is worth a line.
      if (!isConflict(err) && !isAlreadyExists(err)) {
        this.opts.log?.warn({ err, lease: `${namespace}/${name}` }, 'could not acquire or renew lease');
      }
      return false;
    }
  }

  private renewed(spec: LeaseSpec, now: number): boolean {
    this.observed = spec;
    this.observedAt = now;
    this.lastRenew = now;
    return true;
  }

  private async release(): Promise<void> {
    const { client, namespace, name } = this.opts;
    try {
      const lease = await client.get<Lease>(LEASE_TYPE, { namespace, name }, { direct: true });
      if (lease?.spec?.holderIdentity !== this.identity) return;
      const now = microTime(Date.now());
      // An empty holder with a one-second duration lets the next candidate take over on its next try.
      const spec: LeaseSpec = { leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: lease.spec.leaseTransitions ?? 0 };
      await client.update<Lease>({ ...LEASE_TYPE, metadata: lease.metadata, spec });
      this.opts.log?.info({ lease: `${namespace}/${name}` }, 'released leadership');
    } catch (err) {
      this.opts.log?.warn({ err, lease: `${namespace}/${name}` }, 'could not release lease; the next leader waits for it to expire');
    }
  }
}
