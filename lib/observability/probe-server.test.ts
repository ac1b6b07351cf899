import { expect } from 'chai';
import { ToolkitMetrics } from './metrics.js';
import { startProbeServer, type Check } from './probe-server.js';

describe('lib/observability/probe-server', () => {
  it('serves /metrics, and /healthz and /readyz that fail naming the failing check', async () => {
    const metrics = new ToolkitMetrics({ defaultMetrics: false });
    metrics.reconcileTotal.inc({ controller: 'x', result: 'success' });
    let synced = false;
    const ready: Check[] = [{ name: 'informers-synced', check: () => (synced ? undefined : 'waiting for Widget.v1') }];
    const server = await startProbeServer({
      metrics: { host: '127.0.0.1', port: 0 },
      health: { host: '127.0.0.1', port: 0 },
      registry: metrics.registry,
      healthz: () => [{ name: 'ping', check: () => undefined }],
      readyz: () => ready,
    });
    try {
      const body = await (await fetch(`${server.metricsUrl ?? ''}/metrics`)).text();
      expect(body).to.include('controller_runtime_reconcile_total{controller="x",result="success"} 1');
      expect((await fetch(`${server.healthUrl ?? ''}/healthz`)).status).to.equal(200);
      const notReady = await fetch(`${server.healthUrl ?? ''}/readyz`);
      expect(notReady.status).to.equal(500);
      expect(await notReady.text()).to.include('[-]informers-synced failed: waiting for Widget.v1');
      synced = true;
      expect((await fetch(`${server.healthUrl ?? ''}/readyz`)).status).to.equal(200);
    } finally {
      await server.close();
    }
  });
});
