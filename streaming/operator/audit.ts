// The audit trail of operator sessions: each exec, attach and port-forward is logged when it starts and when it
// ends, and its end becomes a Kubernetes Event on the VM (who, what, how long, the exit code or the error), so
// `kubectl describe vm` shows who was in it. Sessions are counted in metrics, and shutdown waits for the running
// ones to be recorded.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { Logger } from 'pino';
import type { EventInput } from '../../lib/controller/event-recorder.js';
import type { KubeObject } from '../../lib/kube/object.js';
import type { Caller } from './caller.js';
import type { VmTarget } from './vm-sandboxes.js';

export type SessionKind = 'exec' | 'exec-sync' | 'attach' | 'port-forward';

const EVENT_REASON: Record<SessionKind, string> = { exec: 'OperatorExec', 'exec-sync': 'OperatorExec', attach: 'OperatorAttach', 'port-forward': 'OperatorPortForward' };
const EVENT_ACTION: Record<SessionKind, string> = { exec: 'Exec', 'exec-sync': 'ExecSync', attach: 'Attach', 'port-forward': 'PortForward' };

export interface SessionRecord {
  kind: SessionKind;
  caller: Caller;
  vm: VmTarget;
  /** What was done, for people: `ran "sh -c 'exit 3'"`, `attached to the serial console`, `forwarded port 22`. */
  what: string;
}

export interface SessionOutcome {
  exitCode?: number | undefined;
  /** Extra facts for the record (bytes moved, the VM's SSH host key). */
  detail?: string | undefined;
}

export interface AuditOptions {
  log: Logger;
  recorder: { event(regarding: KubeObject, input: EventInput): void };
  registry?: Registry | undefined;
  now?: () => number;
}

class AuditMetrics {
  readonly sessions: Counter<'kind' | 'result'>;
  readonly active: Gauge<'kind'>;
  readonly duration: Histogram<'kind'>;

  constructor(registry: Registry | undefined) {
    const registers = registry ? [registry] : [];
    this.sessions = new Counter({ name: 'kvcloud_streaming_operator_sessions_total', help: 'Operator sessions that ended, by kind and result (ok, error)', labelNames: ['kind', 'result'], registers });
    this.active = new Gauge({ name: 'kvcloud_streaming_operator_active_sessions', help: 'Operator sessions running now, by kind', labelNames: ['kind'], registers });
    this.duration = new Histogram({
      name: 'kvcloud_streaming_operator_session_duration_seconds',
      help: 'How long operator sessions lasted, by kind',
      labelNames: ['kind'],
      buckets: [0.1, 0.5, 1, 5, 30, 120, 600, 3600, 14_400],
      registers,
    });
  }
}

export class Audit {
  private readonly running = new Set<Promise<unknown>>();
  private readonly metrics: AuditMetrics;
  private readonly now: () => number;
  private sequence = 0;

  constructor(private readonly opts: AuditOptions) {
    this.metrics = new AuditMetrics(opts.registry);
    this.now = opts.now ?? Date.now;
  }

  /** Runs one session under audit; `outcome` reads the exit code and details from its result. */
  session<T>(record: SessionRecord, run: () => Promise<T>, outcome: (result: T) => SessionOutcome): Promise<T> {
    const p = this.audited(record, run, outcome);
    this.running.add(p);
    void p.then(
      () => this.running.delete(p),
      () => this.running.delete(p),
    );
    return p;
  }

  /** Sessions being run now. */
  get active(): number {
    return this.running.size;
  }

  /** Waits (at most `timeoutMs`) for running sessions to end and be recorded. */
  async drain(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.allSettled([...this.running]), deadline]);
    clearTimeout(timer);
  }

  private async audited<T>(record: SessionRecord, run: () => Promise<T>, outcome: (result: T) => SessionOutcome): Promise<T> {
    const session = ++this.sequence;
    const started = this.now();
    const vm = `${record.vm.namespace}/${record.vm.name}`;
    const fields = { session, kind: record.kind, caller: record.caller.name, vm };
    this.opts.log.info({ ...fields, what: record.what }, 'operator session started');
    this.metrics.active.inc({ kind: record.kind });
    const finish = (result: 'ok' | 'error', ended: SessionOutcome & { error?: string }) => {
      const seconds = (this.now() - started) / 1000;
      this.metrics.active.dec({ kind: record.kind });
      this.metrics.sessions.inc({ kind: record.kind, result });
      this.metrics.duration.observe({ kind: record.kind }, seconds);
      const tail = [
        ended.exitCode === undefined ? undefined : `exit code ${String(ended.exitCode)}`,
        ended.error === undefined ? undefined : `failed: ${ended.error}`,
        ended.detail,
      ].filter((s) => s !== undefined);
      const note = `${record.caller.name} ${record.what} for ${seconds.toFixed(2)}s${tail.length > 0 ? `: ${tail.join('; ')}` : ''}`;
      const line = { ...fields, seconds, exitCode: ended.exitCode, error: ended.error, detail: ended.detail };
      if (result === 'ok') this.opts.log.info(line, 'operator session ended');
      else this.opts.log.warn(line, 'operator session failed');
      this.opts.recorder.event(record.vm.subject, { type: result === 'ok' ? 'Normal' : 'Warning', reason: EVENT_REASON[record.kind], action: EVENT_ACTION[record.kind], note });
    };
    try {
      const result = await run();
      finish('ok', outcome(result));
      return result;
    } catch (err) {
      finish('error', { error: (err as Error).message });
      throw err;
    }
  }
}
