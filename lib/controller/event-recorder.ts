// Kubernetes Events (events.k8s.io/v1) for what users should see in `kubectl describe`. Repeats of the same
// event within the series window become one Event whose series count grows, flushed periodically, so a
// reconcile loop that hits the same problem every few seconds writes a handful of requests, not thousands.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { isNotFound } from '../kube/api-error.js';
import type { Client } from '../kube/client.js';
import { microTime } from '../kube/meta-time.js';
import type { KubeObject } from '../kube/object.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';

export type EventType = 'Normal' | 'Warning';

export interface EventInput {
  type: EventType;
  /** Why the action happened, CamelCase: `WaitingForBootstrapData`. */
  reason: string;
  /** What was done or failed, CamelCase: `CreateVirtualMachine`. */
  action: string;
  note: string;
  related?: KubeObject | undefined;
}

export interface EventRecorderOptions {
  client: Client;
  /** e.g. "kvcloud.io/infrastructure-provider". */
  reportingController: string;
  /** This process: e.g. "<controller>-<pod name>". */
  reportingInstance: string;
  log?: Logger | undefined;
  clock?: Clock;
  /** How often growing series are written; client-go uses 30s. */
  seriesFlushMs?: number;
  /** Repeats further apart than this start a new Event; client-go uses 6 minutes. */
  seriesWindowMs?: number;
}

interface ObjectReference {
  apiVersion?: string;
  kind?: string;
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
}

interface Series {
  namespace: string;
  name: string;
  created: Promise<boolean>;
  count: number;
  lastObserved: number;
  dirty: boolean;
  body: KubeObject & Record<string, unknown>;
}

const EVENT_TYPE = { apiVersion: 'events.k8s.io/v1', kind: 'Event' };
const NOTE_LIMIT = 1024;

function referenceTo(obj: KubeObject): ObjectReference {
  const m = obj.metadata;
  return {
    ...(obj.apiVersion ? { apiVersion: obj.apiVersion } : {}),
    ...(obj.kind ? { kind: obj.kind } : {}),
    ...(m.name ? { name: m.name } : {}),
    ...(m.namespace ? { namespace: m.namespace } : {}),
    ...(m.uid ? { uid: m.uid } : {}),
    ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
  };
}

export class EventRecorder {
  private readonly series = new Map<string, Series>();
  private readonly clock: Clock;
  private flushTimer: TimerHandle | undefined;
  private inFlight = new Set<Promise<unknown>>();
  private closed = false;

  constructor(private readonly opts: EventRecorderOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  /** Records an event about `regarding`; never throws and never waits (failures are logged). */
  event(regarding: KubeObject, input: EventInput): void {
    if (this.closed) return;
    const now = this.clock.now();
    const note = input.note.length > NOTE_LIMIT ? `${input.note.slice(0, NOTE_LIMIT - 3)}...` : input.note;
    const key = JSON.stringify([
      regarding.kind,
      regarding.metadata.namespace,
      regarding.metadata.name,
      regarding.metadata.uid,
      input.related?.metadata.uid,
      input.type,
      input.reason,
      input.action,
      note,
    ]);
    this.expireOld(now);
    const existing = this.series.get(key);
    if (existing) {
      existing.count++;
      existing.lastObserved = now;
      existing.dirty = true;
      this.scheduleFlush();
      return;
    }
    const namespace = regarding.metadata.namespace ?? 'default';
    const name = `${regarding.metadata.name ?? 'object'}.${randomBytes(8).toString('hex')}`;
    const body = {
      ...EVENT_TYPE,
      metadata: { name, namespace },
      eventTime: microTime(now),
      reportingController: this.opts.reportingController,
      reportingInstance: this.opts.reportingInstance.slice(0, 128),
      action: input.action,
      reason: input.reason,
      note,
      type: input.type,
      regarding: referenceTo(regarding),
      ...(input.related ? { related: referenceTo(input.related) } : {}),
    };
    const created = this.track(
      this.opts.client.create(body).then(
        () => true,
        (err: unknown) => {
          this.opts.log?.warn({ err, reason: input.reason, object: `${namespace}/${regarding.metadata.name ?? ''}` }, 'could not record event');
          return false;
        },
      ),
    );
    this.series.set(key, { namespace, name, created, count: 1, lastObserved: now, dirty: false, body });
  }

  /** Writes every grown series now, and waits for those writes and every Event creation still in flight. */
  async flush(): Promise<void> {
    this.flushTimer?.cancel();
    this.flushTimer = undefined;
    for (const s of this.series.values()) {
      if (!s.dirty) continue;
      s.dirty = false;
      void this.track(this.writeSeries(s));
    }
    await Promise.all([...this.inFlight]);
  }

  /** Flushes pending series and waits for every write in flight; later events are dropped. */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private async writeSeries(s: Series): Promise<void> {
    if (!(await s.created)) return;
    const series = { count: s.count, lastObservedTime: microTime(s.lastObserved) };
    try {
      await this.opts.client.mergePatch(EVENT_TYPE, { namespace: s.namespace, name: s.name }, { series });
    } catch (err) {
      if (isNotFound(err)) {
        // The Event outlived its TTL while the problem persisted: write it again with the series so far.
        const again: KubeObject & Record<string, unknown> = { ...s.body, series };
        await this.opts.client.create(again).catch(() => undefined);
        return;
      }
      this.opts.log?.warn({ err, event: `${s.namespace}/${s.name}` }, 'could not update event series');
    }
  }

  private scheduleFlush(): void {
    if (this.flushTimer) return;
    this.flushTimer = this.clock.setTimer(() => {
      this.flushTimer = undefined;
      void this.flush();
    }, this.opts.seriesFlushMs ?? 30_000);
  }

  private expireOld(now: number): void {
    const window = this.opts.seriesWindowMs ?? 6 * 60_000;
    for (const [key, s] of this.series) if (!s.dirty && now - s.lastObserved > window) this.series.delete(key);
  }

  private track<P>(p: Promise<P>): Promise<P> {
    this.inFlight.add(p);
    void p.finally(() => this.inFlight.delete(p));
    return p;
  }
}
