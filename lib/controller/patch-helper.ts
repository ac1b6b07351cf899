// Writes back what a reconcile changed, and nothing else: metadata+spec, then the whole status change in one
// patch, each sent only when its part differs from the snapshot. An unchanged object costs zero writes, which is
// what keeps a steady-state controller silent.
import { isDeepStrictEqual } from 'node:util';
import { isConflict, isNotFound } from '../kube/api-error.js';
import type { Client } from '../kube/client.js';
import { createMergePatch, type JsonObject } from '../kube/merge-patch.js';
import { typeMetaOf, type KubeObject, type ObjectRef } from '../kube/object.js';
import type { Condition } from './conditions.js';

export interface PatchHelperOptions {
  /** False for kinds without a status subresource: status then travels with metadata and spec. */
  statusSubresource?: boolean;
  /** Attempts for a status patch that changes conditions, when someone else wrote the object in between. */
  conflictAttempts?: number;
}

export interface PatchOutcome {
  /** Requests sent: 0 when the reconcile changed nothing. */
  writes: number;
  /** True when the object disappeared (its last finalizer was removed while it was deleting). */
  gone: boolean;
}

type Status = (Record<string, unknown> & { conditions?: Condition[] }) | undefined;
type WithStatus = KubeObject & { status?: Status };

function withoutStatus(obj: WithStatus): JsonObject {
  const { status: _status, ...rest } = obj;
  return rest;
}

function statusWithoutConditions(obj: WithStatus): JsonObject {
  const { conditions: _conditions, ...rest } = obj.status ?? {};
  return rest;
}

// Applies our condition changes (before -> after) onto someone else's fresher list, so their conditions survive.
function rebaseConditions(before: Condition[], after: Condition[], fresh: Condition[]): Condition[] {
  const result = [...fresh];
  for (const c of after) {
    const old = before.find((b) => b.type === c.type);
    if (old && isDeepStrictEqual(old, c)) continue;
    const i = result.findIndex((f) => f.type === c.type);
    if (i >= 0) result[i] = c;
    else result.push(c);
  }
  for (const b of before) {
    if (after.some((a) => a.type === b.type)) continue;
    const i = result.findIndex((f) => f.type === b.type);
    if (i >= 0) result.splice(i, 1);
  }
  return result;
}

export class PatchHelper<T extends WithStatus> {
  private readonly before: T;

  private constructor(
    private readonly client: Client,
    before: T,
    private readonly opts: PatchHelperOptions,
  ) {
    this.before = before;
  }

  /** Snapshot the object before the reconcile mutates it. */
  static snapshot<T extends WithStatus>(client: Client, obj: T, opts: PatchHelperOptions = {}): PatchHelper<T> {
    return new PatchHelper(client, structuredClone(obj), opts);
  }

  /**
   * Uses `before` as the snapshot without copying it: for callers holding an object nobody mutates, such as the
   * informer cache's copy, which saves a deep copy per reconcile.
   */
  static fromUnchanging<T extends WithStatus>(client: Client, before: T, opts: PatchHelperOptions = {}): PatchHelper<T> {
    return new PatchHelper(client, before, opts);
  }

  /** Patches the differences between the snapshot and `after`. */
  async patch(after: T): Promise<PatchOutcome> {
    const outcome: PatchOutcome = { writes: 0, gone: false };
    const type = typeMetaOf(this.before.apiVersion ? this.before : after);
    const ref: ObjectRef = { namespace: this.before.metadata.namespace, name: this.before.metadata.name ?? '' };
    const subresource = this.opts.statusSubresource ?? true;
    let resourceVersion = this.before.metadata.resourceVersion;

    const main = subresource
      ? createMergePatch(withoutStatus(this.before), withoutStatus(after))
      : createMergePatch(this.before as unknown as JsonObject, after as unknown as JsonObject);
    if (main) {
      const metadata = (main.metadata ?? {}) as JsonObject;
      delete metadata.resourceVersion;
      // Merge patch replaces lists whole; lock on the version we read so a finalizer or owner someone else
      // added meanwhile is not silently dropped (the conflict requeues the reconcile with fresh data).
      if (metadata.finalizers !== undefined || metadata.ownerReferences !== undefined) metadata.resourceVersion = resourceVersion;
      if (Object.keys(metadata).length > 0) main.metadata = metadata;
      else delete main.metadata;
      if (Object.keys(main).length > 0) {
        const written = await this.client.mergePatch<T>(type, ref, main);
        outcome.writes++;
        resourceVersion = written.metadata.resourceVersion;
        const lastFinalizerGone = (written.metadata.finalizers ?? []).length === 0;
        if (written.metadata.deletionTimestamp && lastFinalizerGone) {
          outcome.gone = true; // the apiserver deletes it now; there is no status left to write
          return outcome;
        }
      }
    }
    if (!subresource) return outcome;

    try {
      const beforeConditions = this.before.status?.conditions ?? [];
      const afterConditions = after.status?.conditions ?? [];
      const rest = createMergePatch(statusWithoutConditions(this.before), statusWithoutConditions(after));
      // Conditions and the rest of status travel in one request: a reader between two requests would see half a
      // status, and a CRD default (KubeVirt's printableStatus: Stopped) would fill the other half in.
      if (!isDeepStrictEqual(beforeConditions, afterConditions)) {
        await this.patchStatusWithConditions(type, ref, rest ?? {}, beforeConditions, afterConditions, resourceVersion, outcome);
      } else if (rest) {
        await this.patchStatus(type, ref, rest, outcome);
      }
    } catch (err) {
      if (isNotFound(err) && after.metadata.deletionTimestamp) outcome.gone = true;
      else throw err;
    }
    return outcome;
  }

  private async patchStatus(type: ReturnType<typeof typeMetaOf>, ref: ObjectRef, status: JsonObject, outcome: PatchOutcome): Promise<void> {
    outcome.writes++;
    await this.client.mergePatch(type, ref, { status }, { subresource: 'status' });
  }

  // Conditions are a list shared with other writers, so a status change that touches them goes with optimistic
  // locking; on conflict we re-read and re-apply only the conditions this reconcile changed, with the same changes
  // to the rest of status.
  private async patchStatusWithConditions(
    type: ReturnType<typeof typeMetaOf>,
    ref: ObjectRef,
    rest: JsonObject,
    before: Condition[],
    after: Condition[],
    resourceVersion: string | undefined,
    outcome: PatchOutcome,
  ): Promise<void> {
    let conditions = after;
    let version = resourceVersion;
    const attempts = this.opts.conflictAttempts ?? 5;
    for (let attempt = 1; ; attempt++) {
      try {
        outcome.writes++;
        await this.client.mergePatch<T>(type, ref, { metadata: { resourceVersion: version }, status: { ...rest, conditions } }, { subresource: 'status' });
        return;
      } catch (err) {
        if (!isConflict(err) || attempt >= attempts) throw err;
        const fresh = await this.client.get<T>(type, ref, { direct: true });
        if (!fresh) throw err;
        conditions = rebaseConditions(before, after, fresh.status?.conditions ?? []);
        version = fresh.metadata.resourceVersion;
        if (isDeepStrictEqual(conditions, fresh.status?.conditions ?? [])) {
          if (Object.keys(rest).length > 0) await this.patchStatus(type, ref, rest, outcome);
          return;
        }
      }
    }
  }
}
