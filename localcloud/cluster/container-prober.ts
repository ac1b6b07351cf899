// A running container's startup, readiness and liveness probes with the kubelet's rules: readiness and liveness
// wait for the startup probe; thresholds count consecutive results; a failed startup or liveness probe gets
// the container killed. One difference: until a readiness probe first succeeds it is retried every half second
// instead of every period, so pods become Ready when they are, not up to a period later (a real cluster hides
// that period behind image pulls; here it would dominate every start).
import type { Container, Probe } from './pod-api.js';
import { runProbe, type ProbeTarget } from './probe-actions.js';

export type ProbeKind = 'Startup' | 'Readiness' | 'Liveness';

export interface ProberListener {
  /** `started` or `ready` changed. */
  changed(): void;
  /** A probe attempt failed (the kubelet's Unhealthy event). */
  unhealthy(kind: ProbeKind, message: string): void;
  /** The startup or liveness probe failed for good: the container must be killed. */
  failed(kind: 'Startup' | 'Liveness', message: string, probe: Probe): void;
}

const FIRST_READINESS_RETRY_MS = 500;

export class ContainerProber {
  started: boolean;
  ready = false;
  private stopped = false;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly container: Container,
    private readonly target: ProbeTarget,
    private readonly listener: ProberListener,
  ) {
    this.started = !container.startupProbe;
  }

  start(): void {
    if (this.container.startupProbe) this.run('Startup', this.container.startupProbe);
    else this.startAfterStartup();
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private startAfterStartup(): void {
    if (this.container.readinessProbe) this.run('Readiness', this.container.readinessProbe);
    else this.ready = true;
    if (this.container.livenessProbe) this.run('Liveness', this.container.livenessProbe);
  }

  private run(kind: ProbeKind, probe: Probe): void {
    const periodMs = (probe.periodSeconds ?? 10) * 1000;
    const failureThreshold = probe.failureThreshold ?? 3;
    const successThreshold = probe.successThreshold ?? 1;
    let successes = 0;
    let failures = 0;
    let everReady = false;
    const attempt = async (): Promise<void> => {
      const result = await runProbe(probe, this.target);
      if (this.stopped) return;
      if (result.ok) {
        successes++;
        failures = 0;
      } else {
        failures++;
        successes = 0;
        this.listener.unhealthy(kind, result.message);
      }
      if (kind === 'Startup') {
        if (result.ok) {
          this.started = true;
          this.startAfterStartup();
          this.listener.changed();
          return;
        }
        if (failures >= failureThreshold) {
          this.listener.failed(kind, result.message, probe);
          return;
        }
      } else if (kind === 'Liveness') {
        if (failures >= failureThreshold) {
          this.listener.failed(kind, result.message, probe);
          return;
        }
      } else if (!this.ready && successes >= successThreshold) {
        this.ready = everReady = true;
        this.listener.changed();
      } else if (this.ready && failures >= failureThreshold) {
        this.ready = false;
        this.listener.changed();
      }
      this.schedule(attempt, kind === 'Readiness' && !everReady ? Math.min(periodMs, FIRST_READINESS_RETRY_MS) : periodMs);
    };
    this.schedule(attempt, (probe.initialDelaySeconds ?? 0) * 1000);
  }

  private schedule(attempt: () => Promise<void>, delayMs: number): void {
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      void attempt();
    }, delayMs);
    this.timers.add(timer);
  }
}
