// A reconciler that owns one status field and one condition converges while other writers race it on the same
// object: spec changes, status overwrites and conditions of their own, all with optimistic locking.
import { expect } from 'chai';
import { getCondition, setCondition } from '../../../lib/controller/conditions.js';
import { retryOnConflict } from '../../../lib/kube/conflict-retry.js';
import { waitFor } from '../../../localcloud/wait.js';
import { WidgetReconciler } from './fixtures/widget-reconciler.js';
import { testManager, WIDGET, type Widget, widgetSuite } from './support.js';

const SPEC_WRITES = 30;
const STATUS_WRITES = 15;
const STATUS_WRITERS = 3;

describe('toolkit: a status-flipping reconciler under conflicting writers', function () {
  this.timeout(5 * 60_000);
  const suite = widgetSuite('conflicts');


  it('ends with the latest spec mirrored, its condition current, and every other writer’s condition kept', async () => {
    const { plane, api, ns, managers } = suite;
    const ref = { namespace: ns, name: 'contested' };
    await api.client.create<Widget>({ ...WIDGET, metadata: { ...ref }, spec: { size: 0 } });
    const m = await testManager(plane, [`--namespace=${ns}`, '--concurrency=2']);
    managers.push(m);
    m.controller<Widget>('widget').for(WIDGET).complete(new WidgetReconciler());
    await m.start();

    const specWriter = (async () => {
      for (let i = 1; i <= SPEC_WRITES; i++) await api.client.mergePatch(WIDGET, ref, { spec: { size: i } });
    })();
    // Each status writer overwrites our field and maintains a condition of its own, read-modify-write with the
    // resourceVersion, so it conflicts with us and with the others.
    const statusWriters = Array.from({ length: STATUS_WRITERS }, (_, k) =>
      (async () => {
        for (let j = 1; j <= STATUS_WRITES; j++) {
          await retryOnConflict(
            async () => {
              const w = await api.client.get<Widget>(WIDGET, ref, { direct: true });
              if (!w) throw new Error('widget vanished');
              w.status = { ...w.status, observedSize: -1 };
              setCondition(w, { type: `Writer${k}`, status: 'True', reason: 'Tick', message: String(j) });
              await api.client.update(w, { subresource: 'status' });
            },
            { attempts: 50 },
          );
        }
      })(),
    );
    await Promise.all([specWriter, ...statusWriters]);

    const converged = await waitFor(
      async () => {
        const w = await api.client.get<Widget>(WIDGET, ref, { direct: true });
        const synced = w && getCondition(w, 'Synced');
        const state = JSON.stringify({ gen: w?.metadata.generation, status: w?.status });
        if (w?.status?.observedSize !== SPEC_WRITES) throw new Error(`not converged: ${state}`);
        if (synced?.observedGeneration !== w.metadata.generation) throw new Error(`Synced is stale: ${state}`);
        return w;
      },
      { timeoutMs: 60_000, what: 'the reconciler to converge after the writers stopped' },
    );
    expect(getCondition(converged, 'Ready')?.status).to.equal('True');
    for (let k = 0; k < STATUS_WRITERS; k++) {
      expect(getCondition(converged, `Writer${k}`)?.message, `Writer${k}'s condition`).to.equal(String(STATUS_WRITES));
    }
    const conflicts =
      (await api.metrics.counterValue('rest_client_requests_total', { code: '409' })) +
      (await m.metrics.counterValue('rest_client_requests_total', { code: '409' }));
    expect(conflicts, 'the writers must actually have collided').to.be.greaterThan(0);
  });
});
