// Whether a tenant apiserver kept answering while something happened around it (a clusterctl move): /readyz asked
// at a steady pace with the admin kubeconfig, counting the failed answers and the longest stretch without an "ok".
import { probeTenant } from '../../providers/controlplane/controllers/tenant-probe.js';

export interface Availability {
  probes: number;
  failures: number;
  /** From the first failed probe of a stretch to the next "ok" (or to the end of the watch). */
  longestOutageMs: number;
  lastError: string | undefined;
}

export interface AvailabilityWatch {
  stop(): Promise<Availability>;
}

/** Asks `/readyz` every `intervalMs` (each probe waits at most that long for its answer) until stop(). */
export function watchAvailability(kubeconfig: string, intervalMs = 500): AvailabilityWatch {
  const seen: Availability = { probes: 0, failures: 0, longestOutageMs: 0, lastError: undefined };
  let outageSince: number | undefined;
  const state = { stopped: false };
  const closeOutage = (at: number) => {
    if (outageSince !== undefined) seen.longestOutageMs = Math.max(seen.longestOutageMs, at - outageSince);
    outageSince = undefined;
  };
  const loop = (async () => {
    while (!state.stopped) {
      const asked = Date.now();
      const answer = await probeTenant(kubeconfig, intervalMs * 4);
      seen.probes++;
      if (answer.ready) closeOutage(asked);
      else {
        seen.failures++;
        seen.lastError = answer.message;
        outageSince ??= asked;
      }
      // The pace of the samples, not a wait for anything.
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - (Date.now() - asked))));
    }
  })();
  return {
    async stop() {
      state.stopped = true;
      await loop;
      closeOutage(Date.now());
      return seen;
    },
  };
}
