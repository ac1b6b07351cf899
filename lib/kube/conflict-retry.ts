// Read-modify-write loops for writes that may race other writers: each attempt re-reads, so a retry never
// overwrites what someone else wrote in between. Only safe when `attempt` recomputes its write from fresh data.
import { isConflict } from './api-error.js';

export interface ConflictRetryOptions {
  attempts?: number;
  /** First pause between attempts; doubles each time with jitter, so racing writers spread out. */
  initialDelayMs?: number;
}

export async function retryOnConflict<T>(attempt: () => Promise<T>, opts: ConflictRetryOptions = {}): Promise<T> {
  const attempts = opts.attempts ?? 5;
  let delay = opts.initialDelayMs ?? 10;
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!isConflict(err) || i >= attempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, delay * (1 + Math.random())));
      delay *= 2;
    }
  }
}
