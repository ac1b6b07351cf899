// Waiting for a run-to-completion pod through kubectl, as the suites' volume proofs do: its log once it succeeded,
// and, while it has not, what is holding it (its phase, node and Events, plus what the caller adds) as the reason.
import { kubectl } from '../../localcloud/kubectl.js';
import { waitFor } from '../../localcloud/wait.js';

interface PodPhase {
  spec?: { nodeName?: string };
  status?: { phase?: string };
}

export interface CompletionOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** More to show while the pod is not done yet: the logs of whatever should be making progress. */
  diagnostics?: () => string | Promise<string>;
}

/** The log of pod `name` (namespace default) once it Succeeded; it failing ends the wait at once. */
export async function completedPodLog(kubeconfig: string, name: string, opts: CompletionOptions): Promise<string> {
  await waitFor(
    async () => {
      const p = JSON.parse(await kubectl(kubeconfig, ['get', 'pod', name, '-o', 'json'])) as PodPhase;
      if (p.status?.phase === 'Succeeded') return true;
      if (p.status?.phase === 'Failed') throw new Error(`pod ${name} failed: ${await kubectl(kubeconfig, ['logs', name]).catch(() => '')}`);
      const events = await kubectl(kubeconfig, ['get', 'events', '--field-selector', `involvedObject.name=${name}`, '-o', 'custom-columns=R:.reason,M:.message', '--no-headers']).catch(() => '');
      throw new Error(`pod ${name} ${p.status?.phase ?? 'Pending'} on ${p.spec?.nodeName ?? '-'}\n${events}\n${(await opts.diagnostics?.()) ?? ''}`);
    },
    { timeoutMs: opts.timeoutMs, intervalMs: opts.intervalMs, what: `pod ${name} to complete` },
  );
  return kubectl(kubeconfig, ['logs', name]);
}
