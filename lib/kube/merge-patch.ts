// JSON merge patches (RFC 7386) computed from two versions of a document: only changed fields are sent, removed
// fields become null, and arrays travel whole because merge patch cannot address their elements.
import { isDeepStrictEqual } from 'node:util';

export type JsonObject = Record<string, unknown>;

function isPlainObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Returns the patch turning `before` into `after`, or undefined when they are equal. */
export function createMergePatch(before: JsonObject, after: JsonObject): JsonObject | undefined {
  const patch: JsonObject = {};
  for (const key of Object.keys(before)) {
    if (before[key] !== undefined && (!Object.hasOwn(after, key) || after[key] === undefined)) patch[key] = null;
  }
  for (const [key, value] of Object.entries(after)) {
    if (value === undefined) continue;
    const old = before[key];
    if (isPlainObject(value) && isPlainObject(old)) {
      const nested = createMergePatch(old, value);
      if (nested !== undefined) patch[key] = nested;
    } else if (!isDeepStrictEqual(old, value)) {
      patch[key] = value;
    }
  }
  return Object.keys(patch).length === 0 ? undefined : patch;
}

/** Applies a merge patch to a document (returns a new one); used by fakes and by conflict re-application. */
export function applyMergePatch(target: unknown, patch: unknown): unknown {
  if (!isPlainObject(patch)) return patch;
  const result: JsonObject = isPlainObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) Reflect.deleteProperty(result, key);
    else result[key] = applyMergePatch(result[key], value);
  }
  return result;
}
