// Server-side apply of a child object only when it needs it. A child carries a hash of the object we last applied,
// so a field dropped from the desired object changes the hash and is applied away (server-side apply releases the
// fields we stop sending); the live object must also still contain everything we want, so another writer's drift
// is repaired. Fields the apiserver defaults or other managers add are ignored, so steady state writes nothing.
import { createHash } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { ApplyOptions, Client } from './client.js';
import { typeMetaOf, type KubeObject } from './object.js';

/** The hash of the object our field manager last applied, on the child itself so a restart remembers it. */
export const APPLIED_HASH_ANNOTATION = 'kvcloud.io/applied-hash';

function sortedKeys(_key: string, value: unknown): unknown {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return value;
  return Object.fromEntries(Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** A stable hash of a JSON value: independent of key order, undefined fields left out as on the wire. */
export function appliedHash(value: unknown): string {
  return createHash('sha256').update(JSON.stringify(value, sortedKeys)).digest('hex').slice(0, 32);
}

/** True when every field of `want` is present with the same value in `have` (arrays element by element). */
export function contains(have: unknown, want: unknown): boolean {
  if (want === undefined) return true;
  if (Array.isArray(want)) {
    return Array.isArray(have) && have.length === want.length && want.every((w, i) => contains(have[i], w));
  }
  if (want !== null && typeof want === 'object') {
    if (have === null || typeof have !== 'object' || Array.isArray(have)) return false;
    const h = have as Record<string, unknown>;
    return Object.entries(want).every(([k, v]) => contains(h[k], v));
  }
  return isDeepStrictEqual(have, want);
}

/** `desired` with the hash of its content in APPLIED_HASH_ANNOTATION. */
export function withAppliedHash<T extends KubeObject>(desired: T): T {
  const { [APPLIED_HASH_ANNOTATION]: _previous, ...annotations } = desired.metadata.annotations ?? {};
  const content = { ...desired, metadata: { ...desired.metadata, annotations: Object.keys(annotations).length > 0 ? annotations : undefined } };
  return { ...desired, metadata: { ...desired.metadata, annotations: { ...annotations, [APPLIED_HASH_ANNOTATION]: appliedHash(content) } } };
}

export interface ApplyOutcome<T> {
  /** The live object: what the apply returned, or the cached one when nothing was sent. */
  object: T;
  wrote: boolean;
  /** The object did not exist before this apply. */
  created: boolean;
}

/**
 * Applies `desired` (with its hash) unless the live object, read through the client's cache, already carries that
 * hash and every field we want; `desired` holds exactly the fields our field manager owns. `opts` go to the apply
 * (`force: false` leaves a field another manager took over to it, with a 409 to the caller).
 */
export async function applyIfChanged<T extends KubeObject>(client: Client, desired: T, opts: ApplyOptions = {}): Promise<ApplyOutcome<T>> {
  const stamped = withAppliedHash(desired);
  const live = await client.get<T>(typeMetaOf(stamped), { namespace: stamped.metadata.namespace, name: stamped.metadata.name ?? '' });
  const { apiVersion: _a, kind: _k, ...wanted } = stamped;
  // The hash is among the wanted annotations: one test sees both a changed desired object and a drifted child.
  if (live && contains(live, wanted)) return { object: live, wrote: false, created: false };
  // An apiserver error already names the method and the object's path; callers branch on its status.
  return { object: await client.apply(stamped, opts), wrote: true, created: !live };
}
