// Waiting on a condition with a deadline, reporting what was last seen when it never came true. Suites and the
// harness use this instead of sleeps.
import { setTimeout as delay } from 'node:timers/promises';

export interface WaitOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Shown in the timeout error: what we were waiting for. */
  what: string;
}

/**
 * Calls `probe` until it returns a value other than undefined. A thrown error counts as "not yet" and is kept
 * as the last observation, so a timeout says why the condition never held.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let interval = opts.intervalMs ?? 50;
  let last: string;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
      last = 'condition not met';
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}; last seen: ${last}`);
    }
    await delay(interval);
    interval = Math.min(interval * 2, 1000);
  }
}
