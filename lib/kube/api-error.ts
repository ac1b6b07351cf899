// Errors from the apiserver, carrying the HTTP status and metav1.Status reason so callers branch on meaning
// (not found, conflict, gone) instead of parsing messages.
import type { ApiStatus } from './object.js';

export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly method: string,
    readonly path: string,
    readonly body: ApiStatus | undefined,
  ) {
    super(`${method} ${path}: ${status} ${body?.reason ?? ''} ${body?.message ?? ''}`.trim());
  }
  get reason(): string | undefined {
    return this.body?.reason;
  }
}

function statusOf(err: unknown): number | undefined {
  return err instanceof ApiError ? err.status : undefined;
}

export const isNotFound = (err: unknown): boolean => statusOf(err) === 404;
export const isConflict = (err: unknown): boolean => statusOf(err) === 409 && (err as ApiError).reason !== 'AlreadyExists';
export const isAlreadyExists = (err: unknown): boolean => statusOf(err) === 409 && (err as ApiError).reason === 'AlreadyExists';
/** The error or one of its causes satisfies the check: callers wrap API errors with context. */
export function inCauseChain(err: unknown, check: (e: unknown) => boolean): boolean {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (check(e)) return true;
    if (!(e instanceof Error)) return false;
  }
  return false;
}
/** 410: the resourceVersion asked for has been compacted away (reason Expired or Gone). */
export const isGone = (err: unknown): boolean => statusOf(err) === 410;
export const isForbidden = (err: unknown): boolean => statusOf(err) === 403;
