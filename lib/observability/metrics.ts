// One prom-client registry per process (or per manager in tests), carrying controller-runtime's metric names
// so the dashboards and alerts people already run against Go controllers keep working for ours.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

// controller-runtime's reconcile-time buckets: fine-grained below a second, where healthy reconciles live.
const RECONCILE_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.6, 0.7, 0.8, 0.9, 1, 1.25, 1.5, 1.75,
  2, 2.5, 3, 3.5, 4, 4.5, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40, 50, 60,
];
// client-go's workqueue buckets: 10ns to 1000s in decades.
const WORKQUEUE_BUCKETS = Array.from({ length: 12 }, (_, i) => 1e-8 * 10 ** i);

type QueueLabels = 'name' | 'controller';

/** Seconds of in-flight work, read at scrape time from each live queue. */
export interface QueueProgress {
  readonly name: string;
  unfinishedWorkSeconds(): number;
  longestRunningProcessorSeconds(): number;
}

export interface MetricsOptions {
  /** Node process metrics (heap, GC, event loop lag, RSS); off in unit tests that build many registries. */
  defaultMetrics?: boolean;
}

export class ToolkitMetrics {
  readonly registry = new Registry();
  private readonly queues = new Set<QueueProgress>();

  readonly reconcileTotal: Counter<'controller' | 'result'>;
  readonly reconcileErrors: Counter<'controller'>;
  readonly terminalReconcileErrors: Counter<'controller'>;
  readonly reconcileTime: Histogram<'controller'>;
  readonly maxConcurrentReconciles: Gauge<'controller'>;
  readonly activeWorkers: Gauge<'controller'>;

  readonly workqueueDepth: Gauge<QueueLabels>;
  readonly workqueueAdds: Counter<QueueLabels>;
  readonly workqueueQueueDuration: Histogram<QueueLabels>;
  readonly workqueueWorkDuration: Histogram<QueueLabels>;
  readonly workqueueRetries: Counter<QueueLabels>;

  readonly restClientRequests: Counter<'code' | 'method' | 'host'>;
  readonly leaderElectionMasterStatus: Gauge<'name'>;

  readonly informerLists: Counter<'resource' | 'reason'>;
  readonly informerWatchRestarts: Counter<'resource' | 'reason'>;
  readonly informerEvents: Counter<'resource' | 'type'>;

  constructor(opts: MetricsOptions = {}) {
    const registers = [this.registry];
    this.reconcileTotal = new Counter({
      name: 'controller_runtime_reconcile_total',
      help: 'Total number of reconciliations per controller',
      labelNames: ['controller', 'result'],
      registers,
    });
    this.reconcileErrors = new Counter({
      name: 'controller_runtime_reconcile_errors_total',
      help: 'Total number of reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.terminalReconcileErrors = new Counter({
      name: 'controller_runtime_terminal_reconcile_errors_total',
      help: 'Total number of terminal reconciliation errors per controller',
      labelNames: ['controller'],
      registers,
    });
    this.reconcileTime = new Histogram({
      name: 'controller_runtime_reconcile_time_seconds',
      help: 'Length of time per reconciliation per controller',
      labelNames: ['controller'],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.maxConcurrentReconciles = new Gauge({
      name: 'controller_runtime_max_concurrent_reconciles',
      help: 'Maximum number of concurrent reconciles per controller',
      labelNames: ['controller'],
      registers,
    });
    this.activeWorkers = new Gauge({
      name: 'controller_runtime_active_workers',
      help: 'Number of currently used workers per controller',
      labelNames: ['controller'],
      registers,
    });

    this.workqueueDepth = new Gauge({
      name: 'workqueue_depth',
      help: 'Current depth of workqueue',
      labelNames: ['name', 'controller'],
      registers,
    });
    this.workqueueAdds = new Counter({
      name: 'workqueue_adds_total',
      help: 'Total number of adds handled by workqueue',
      labelNames: ['name', 'controller'],
      registers,
    });
    this.workqueueQueueDuration = new Histogram({
      name: 'workqueue_queue_duration_seconds',
      help: 'How long in seconds an item stays in workqueue before being requested',
      labelNames: ['name', 'controller'],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.workqueueWorkDuration = new Histogram({
      name: 'workqueue_work_duration_seconds',
      help: 'How long in seconds processing an item from workqueue takes',
      labelNames: ['name', 'controller'],
      buckets: WORKQUEUE_BUCKETS,
      registers,
    });
    this.workqueueRetries = new Counter({
      name: 'workqueue_retries_total',
      help: 'Total number of retries handled by workqueue',
      labelNames: ['name', 'controller'],
      registers,
    });
    const queues = this.queues;
    new Gauge({
      name: 'workqueue_unfinished_work_seconds',
      help: 'How many seconds of work has been done that is in progress and has not been observed by work_duration',
      labelNames: ['name', 'controller'],
      registers,
      collect() {
        for (const q of queues) this.set({ name: q.name, controller: q.name }, q.unfinishedWorkSeconds());
      },
    });
    new Gauge({
      name: 'workqueue_longest_running_processor_seconds',
      help: 'How many seconds has the longest running processor for workqueue been running',
      labelNames: ['name', 'controller'],
      registers,
      collect() {
        for (const q of queues) this.set({ name: q.name, controller: q.name }, q.longestRunningProcessorSeconds());
      },
    });

    this.restClientRequests = new Counter({
      name: 'rest_client_requests_total',
      help: 'Number of HTTP requests, partitioned by status code, method, and host',
      labelNames: ['code', 'method', 'host'],
      registers,
    });
    this.leaderElectionMasterStatus = new Gauge({
      name: 'leader_election_master_status',
      help: 'Gauge of if the reporting system is master of the relevant lease, 0 indicates backup, 1 indicates master',
      labelNames: ['name'],
      registers,
    });

    this.informerLists = new Counter({
      name: 'kvcloud_informer_lists_total',
      help: 'Full lists an informer made, by reason (initial, gone, error)',
      labelNames: ['resource', 'reason'],
      registers,
    });
    this.informerWatchRestarts = new Counter({
      name: 'kvcloud_informer_watch_restarts_total',
      help: 'Watches an informer re-established, by reason (closed, error, watchdog, gone)',
      labelNames: ['resource', 'reason'],
      registers,
    });
    this.informerEvents = new Counter({
      name: 'kvcloud_informer_events_total',
      help: 'Watch events an informer received, by type',
      labelNames: ['resource', 'type'],
      registers,
    });

    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Registers a queue whose in-flight work is sampled at scrape time; returns the unregister function. */
  trackQueue(queue: QueueProgress): () => void {
    this.queues.add(queue);
    return () => this.queues.delete(queue);
  }

  /** Sum of a counter's samples matching every given label; what tests and benchmarks assert on. */
  async counterValue(name: string, labels: Record<string, string | ((value: string) => boolean)> = {}): Promise<number> {
    const metric = this.registry.getSingleMetric(name);
    if (!metric) return 0;
    const { values } = await metric.get();
    let sum = 0;
    for (const sample of values) {
      const matches = Object.entries(labels).every(([key, want]) => {
        const got = String(sample.labels[key] ?? '');
        return typeof want === 'function' ? want(got) : got === want;
      });
      if (matches) sum += sample.value;
    }
    return sum;
  }
}
