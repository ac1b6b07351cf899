// The contract between a controller and its reconciler: the toolkit hands over the cached object (a private
// copy), the reconciler mutates it and returns when to look again; the toolkit patches what changed.
import type { Logger } from 'pino';
import type { Client } from '../kube/client.js';
import type { KubeObject, ObjectRef } from '../kube/object.js';
import type { EventInput } from './event-recorder.js';
import type { InformerCache } from './informer-cache.js';

export interface Result {
  /** Look again after this many ms, for what no watch can tell us (e.g. polling an external system). */
  requeueAfter?: number;
  /** Look again soon, with rate-limited backoff, without counting as an error. */
  requeue?: boolean;
}

export const done = (): Result => ({});
export const requeueAfter = (ms: number): Result => ({ requeueAfter: ms });

/** An error retrying cannot fix (bad input admission could not catch): logged and counted, not requeued. */
export class TerminalError extends Error {
  override readonly name = 'TerminalError';
}

export interface ObjectEvents {
  normal(reason: string, action: string, note: string): void;
  warning(reason: string, action: string, note: string): void;
  record(input: EventInput): void;
}

export interface ReconcileContext {
  readonly controller: string;
  readonly reconcileID: string;
  /** "namespace/name" of the object being reconciled. */
  readonly key: string;
  readonly log: Logger;
  /** Events about the reconciled object. */
  readonly events: ObjectEvents;
  readonly client: Client;
  readonly cache: InformerCache;
}

export interface Reconciler<T extends KubeObject> {
  reconcile(obj: T, ctx: ReconcileContext): Promise<Result>;
  /** Called when the key's object is gone from the cache; most reconcilers rely on finalizers and omit it. */
  reconcileMissing?(ref: ObjectRef, ctx: ReconcileContext): Promise<Result>;
}
