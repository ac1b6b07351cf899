// What an operator scrapes and what the kubelet probes: controller-runtime's metric names on /metrics after a
// few reconciles, and /readyz refusing readiness until the caches have synced.
import { expect } from 'chai';
import { waitFor } from '../../../localcloud/wait.js';
import { WidgetReconciler } from './fixtures/widget-reconciler.js';
import { kubeConfigFor, testManager, WIDGET, type Widget, widgetSuite } from './support.js';
import { TcpProxy } from './tcp-proxy.js';

const EXPECTED_SAMPLES = [
  /^controller_runtime_reconcile_total\{controller="widget",result="success"\} [1-9]/m,
  /^controller_runtime_reconcile_errors_total\{controller="widget"\} 0/m,
  /^controller_runtime_reconcile_time_seconds_bucket\{le="0\.005",controller="widget"\}/m,
  /^controller_runtime_max_concurrent_reconciles\{controller="widget"\} 2/m,
  /^controller_runtime_active_workers\{controller="widget"\}/m,
  /^workqueue_depth\{name="widget",controller="widget"\}/m,
  /^workqueue_adds_total\{name="widget",controller="widget"\} [1-9]/m,
  /^workqueue_queue_duration_seconds_bucket\{le="[^"]+",name="widget",controller="widget"\}/m,
  /^workqueue_work_duration_seconds_bucket\{le="[^"]+",name="widget",controller="widget"\}/m,
  /^workqueue_retries_total\{name="widget",controller="widget"\}/m,
  /^workqueue_unfinished_work_seconds\{name="widget",controller="widget"\}/m,
  /^workqueue_longest_running_processor_seconds\{name="widget",controller="widget"\}/m,
  /^rest_client_requests_total\{code="200",method="GET",host="127\.0\.0\.1:\d+"\} [1-9]/m,
  /^rest_client_requests_total\{code="20[01]",method="PATCH",host="127\.0\.0\.1:\d+"\} [1-9]/m,
  /^leader_election_master_status\{name="[^"]+"\} 1/m,
  /^process_resident_memory_bytes \d/m,
  /^nodejs_heap_size_used_bytes \d/m,
  /^nodejs_eventloop_lag_seconds \d/m,
];

describe('toolkit: /metrics and probes', function () {
  this.timeout(5 * 60_000);
  const suite = widgetSuite('observe');


  it('exposes controller-runtime metric names and Node process metrics after a few reconciles', async () => {
    const { plane, api, ns, managers } = suite;
    for (const name of ['a', 'b', 'c']) await api.client.create<Widget>({ ...WIDGET, metadata: { namespace: ns, name }, spec: { size: 1 } });
    const manager = await testManager(plane, [`--namespace=${ns}`, '--concurrency=2', '--leader-elect', `--leader-election-namespace=${ns}`]);
    managers.push(manager);
    const reconciler = new WidgetReconciler();
    manager.controller<Widget>('widget').for(WIDGET).complete(reconciler);
    await manager.start();
    await waitFor(() => (reconciler.reconciles >= 3 ? true : undefined), { timeoutMs: 60_000, what: 'three reconciles' });

    const body = await waitFor(
      async () => {
        const text = await (await fetch(`${manager.metricsUrl ?? ''}/metrics`)).text();
        const missing = EXPECTED_SAMPLES.filter((re) => !re.test(text));
        if (missing.length > 0) throw new Error(`missing ${missing.map(String).join(', ')}`);
        return text;
      },
      { timeoutMs: 30_000, what: 'every expected metric on /metrics' },
    );
    expect(body).to.include('# TYPE controller_runtime_reconcile_time_seconds histogram');
  });

  it('answers /readyz with 500 until the caches have synced, while /healthz stays 200', async () => {
    const { plane, ns, managers } = suite;
    const proxy = await TcpProxy.start(plane.server);
    try {
      proxy.cut();
      const manager = await testManager(plane, [`--namespace=${ns}`], { kubeConfig: kubeConfigFor(plane, proxy.url) });
      managers.push(manager);
      manager.controller<Widget>('widget-probe').for(WIDGET).complete(new WidgetReconciler());
      await manager.start();
      const health = manager.healthUrl ?? '';

      const notReady = await fetch(`${health}/readyz`);
      expect(notReady.status).to.equal(500);
      expect(await notReady.text()).to.include('[-]informers-synced failed');
      expect((await fetch(`${health}/healthz`)).status).to.equal(200);

      proxy.open();
      await waitFor(
        async () => {
          const res = await fetch(`${health}/readyz?verbose`);
          if (res.status !== 200) throw new Error(await res.text());
          return true;
        },
        { timeoutMs: 60_000, what: '/readyz to turn ready once the apiserver is reachable' },
      );
      expect(manager.isReady()).to.be.true;
    } finally {
      await proxy.close();
    }
  });
});
