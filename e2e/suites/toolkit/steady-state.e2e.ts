// Once every object is reconciled, reconciling them again must not write anything: the proof that the patch
// helper sends only differences, counted where an operator would count it, in rest_client_requests_total.
import { expect } from 'chai';
import { getCondition } from '../../../lib/controller/conditions.js';
import { waitFor } from '../../../localcloud/wait.js';
import { WidgetReconciler } from './fixtures/widget-reconciler.js';
import { testManager, WIDGET, writeRequests, type Widget, widgetSuite } from './support.js';

const WIDGETS = 10;

describe('toolkit: steady state', function () {
  this.timeout(5 * 60_000);
  const suite = widgetSuite('steady');


  it('makes zero write requests while reconciling converged objects again and again', async () => {
    const { plane, api, ns, managers } = suite;
    for (let i = 0; i < WIDGETS; i++) await api.client.create<Widget>({ ...WIDGET, metadata: { namespace: ns, name: `w${i}` }, spec: { size: i } });
    // A short resync makes the informer hand every object back to the controller a few times a second.
    const manager = await testManager(plane, [`--namespace=${ns}`], { cacheResyncMs: 300 });
    managers.push(manager);
    const reconciler = new WidgetReconciler();
    manager.controller<Widget>('widget').for(WIDGET).complete(reconciler);
    await manager.start();
    const m = manager;

    await waitFor(
      async () => {
        const all = await api.client.list<Widget>(WIDGET, { namespace: ns });
        const pending = all.filter((w) => getCondition(w, 'Ready')?.status !== 'True' || w.status?.observedSize !== w.spec?.size);
        if (pending.length > 0 || all.length !== WIDGETS) throw new Error(`${pending.length} of ${all.length} not converged`);
        return true;
      },
      { timeoutMs: 60_000, what: 'every widget to converge' },
    );
    // The informer must have seen our own last writes too, or the next pass would be working from stale state.
    await waitFor(
      async () => {
        const cached = await m.cache.list<Widget>(WIDGET, { namespace: ns });
        return cached.every((w) => getCondition(w, 'Ready')?.status === 'True' && w.status?.observedSize === w.spec?.size) ? true : undefined;
      },
      { timeoutMs: 30_000, what: 'the cache to reflect the converged state' },
    );
    // Reconciles already running, or queued with the copy from before our last writes, may still patch (their write
    // conflicts, or repeats one). One more round of every widget lets them finish; the Events of the convergence (a
    // reconcile on a stale copy repeats one, growing its series) are then written, and their creations awaited, now
    // rather than during the count below.
    const settledFrom = reconciler.reconciles;
    await waitFor(() => (reconciler.reconciles >= settledFrom + 2 * WIDGETS ? true : undefined), {
      timeoutMs: 30_000,
      what: 'a round of reconciles after convergence',
    });
    await m.recorder.flush();

    const writesBefore = await writeRequests(m.metrics);
    const reconcilesBefore = reconciler.reconciles;
    await waitFor(() => (reconciler.reconciles >= reconcilesBefore + 3 * WIDGETS ? true : undefined), {
      timeoutMs: 30_000,
      what: 'three more reconciles of every widget',
    });
    const writesAfter = await writeRequests(m.metrics);
    expect(writesAfter - writesBefore, 'write requests during steady-state reconciles').to.equal(0);
    expect(writesBefore, 'the convergence itself did write').to.be.greaterThan(0);
  });
});
