// A running container's startup, readiness and liveness probes with the kubelet's rules: readiness and liveness
// wait for the startup probe; thresholds count consecutive results; a failed startup or liveness probe gets
// the container killed; once the pod is being deleted only readiness goes on, so a container that stops serving
// while it shuts down leaves its Services, and a slow shutdown is never killed for it. One difference: until a
// readiness probe first succeeds it is retried every half second instead of every period, so pods become Ready
// when they are, not up to a period later (a real cluster hides that period behind image pulls; here it would
// dominate every start).
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
  private podTerminating = false;
  /** Probes that run no more; the others go on until stop(). */
  private readonly halted = new Set<ProbeKind>();
  private readonly timers = new Map<ProbeKind, NodeJS.Timeout>();
  /** Ends the attempts under way when the prober stops. */
  private readonly attempts = new AbortController();

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
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.attempts.abort();
  }

  /**
   * The pod is being deleted: the startup and liveness probes stop, as the kubelet's do (a startup still pending
   * counts as passed, so readiness begins), and readiness goes on until stop().
   */
  terminating(): void {
    if (this.podTerminating || this.stopped) return;
    this.podTerminating = true;
    for (const kind of ['Startup', 'Liveness'] as const) {
      this.halted.add(kind);
      clearTimeout(this.timers.get(kind));
      this.timers.delete(kind);
    }
    if (this.started) return;
    this.started = true;
    this.startAfterStartup();
    this.listener.changed();
  }

  private startAfterStartup(): void {
    if (this.container.readinessProbe) this.run('Readiness', this.container.readinessProbe);
    else this.ready = true;
    if (this.container.livenessProbe && !this.podTerminating) this.run('Liveness', this.container.livenessProbe);
  }

  private run(kind: ProbeKind, probe: Probe): void {
    const periodMs = (probe.periodSeconds ?? 10) * 1000;
    const failureThreshold = probe.failureThreshold ?? 3;
    const successThreshold = probe.successThreshold ?? 1;
    let successes = 0;
    let failures = 0;
    let everReady = false;
    const attempt = async (): Promise<void> => {
      const result = await runProbe(probe, this.target, this.attempts.signal);
      if (this.stopped || this.halted.has(kind)) return;
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
      this.schedule(kind, attempt, kind === 'Readiness' && !everReady ? Math.min(periodMs, FIRST_READINESS_RETRY_MS) : periodMs);
    };
    this.schedule(kind, attempt, (probe.initialDelaySeconds ?? 0) * 1000);
  }

  /** One timer per probe: each attempt schedules the next once it has its result. */
  private schedule(kind: ProbeKind, attempt: () => Promise<void>, delayMs: number): void {
    if (this.stopped || this.halted.has(kind)) return;
    const timer = setTimeout(() => {
      this.timers.delete(kind);
      void attempt();
    }, delayMs);
    this.timers.set(kind, timer);
  }
}
