// Waiting for what another controller does (KubeVirt moving a hot-plugged volume to Ready, udev naming a disk):
// polls until `probe` returns a value, and on the deadline fails with DEADLINE_EXCEEDED naming what it last saw,
// so the CO retries the RPC (every RPC here is idempotent) rather than failing the volume.
import { setTimeout as sleep } from 'node:timers/promises';
import { deadlineExceeded } from './status.js';

export interface PollOptions {
  timeoutMs: number;
  intervalMs: number;
  what: string;
}

export async function pollUntil<T>(probe: () => Promise<{ done: true; value: T } | { done: false; seen: string }>, opts: PollOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    const r = await probe();
    if (r.done) return r.value;
    if (Date.now() >= deadline) throw deadlineExceeded(`timed out after ${String(opts.timeoutMs)} ms waiting for ${opts.what}; last seen: ${r.seen}`);
    await sleep(opts.intervalMs);
  }
}
