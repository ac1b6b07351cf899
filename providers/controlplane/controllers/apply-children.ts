// Writes a child object only when the live one (from the informer cache) lacks something we want: the
// apiserver adds defaults and other managers add fields, so "everything we send is already there" is the test,
// which keeps a steady TenantControlPlane at zero writes. Writes are server-side apply under our field manager.
import { isDeepStrictEqual } from 'node:util';
import type { Client } from '../../../lib/kube/client.js';
import { typeMetaOf, type KubeObject } from '../../../lib/kube/object.js';

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

/** Applies `desired` unless the cached object already holds it; returns the live object and whether it wrote. */
export async function applyIfChanged<T extends KubeObject>(client: Client, desired: T): Promise<{ object: T; wrote: boolean }> {
  const live = await client.get<T>(typeMetaOf(desired), { namespace: desired.metadata.namespace, name: desired.metadata.name ?? '' });
  const { apiVersion: _a, kind: _k, ...wanted } = desired;
  if (live && contains(live, wanted)) return { object: live, wrote: false };
  return { object: await client.apply(desired), wrote: true };
}
