// Certificates renew ahead of expiry, and no watch fires when time passes: the reconciler asks to come back when
// the first leaf enters its renewal window, unless it already comes back sooner.
import type { Result } from '../../../lib/controller/reconciler.js';

/** setTimeout's ceiling; a renewal further away is looked at again by a later pass, which asks again. */
const MAX_DELAY_MS = 2_147_483_647;

export function untilRenewal(result: Result, renewAt: number | undefined, now: number): Result {
  if (renewAt === undefined) return result;
  const wait = Math.min(Math.max(renewAt - now, 1000), MAX_DELAY_MS);
  return result.requeueAfter !== undefined && result.requeueAfter <= wait ? result : { ...result, requeueAfter: wait };
}
