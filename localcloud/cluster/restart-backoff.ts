// The kubelet's container restart backoff: the first restart is immediate, then each one waits twice as long as
// the previous, from initialMs up to maxMs (the pod shows CrashLoopBackOff meanwhile). A container that ran for
// longer than twice the cap before exiting counts as healthy again and restarts immediately.

export interface RestartBackoffOptions {
  /** Kubelet: 10s. */
  initialMs?: number;
  /** Kubelet: 5 minutes. */
  maxMs?: number;
}

export class RestartBackoff {
  private readonly initialMs: number;
  private readonly maxMs: number;
  /** Per container: the delay the next restart will wait. */
  private readonly next = new Map<string, number>();

  constructor(opts: RestartBackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 10_000;
    this.maxMs = opts.maxMs ?? 300_000;
  }

  /** How long to wait before restarting the container `key` that just exited after running `ranForMs`. */
  delayAfterExit(key: string, ranForMs: number): number {
    const pending = ranForMs > 2 * this.maxMs ? undefined : this.next.get(key);
    this.next.set(key, pending === undefined ? this.initialMs : Math.min(2 * pending, this.maxMs));
    return pending ?? 0;
  }

  forget(keyPrefix: string): void {
    for (const key of this.next.keys()) if (key.startsWith(keyPrefix)) this.next.delete(key);
  }
}
