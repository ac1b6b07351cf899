import { expect } from 'chai';
import { Client } from '../kube/client.js';
import { FakeApiServer } from '../testing/fake-apiserver.js';
import { RestMapper } from '../kube/rest-mapper.js';
import { markFalse, markTrue, getCondition, type Condition, type ObjectWithConditions } from './conditions.js';
import { addFinalizer, removeFinalizer } from './finalizers.js';
import { PatchHelper } from './patch-helper.js';

interface Widget extends ObjectWithConditions {
  spec?: { size?: number };
  status?: { conditions?: Condition[]; observed?: number } & Record<string, unknown>;
}

const WIDGET = { apiVersion: 'toolkit.kvcloud.test/v1', kind: 'Widget' };

function setup(): { api: FakeApiServer; client: Client; widget: Widget } {
  const api = new FakeApiServer().serve({ ...WIDGET, resource: 'widgets', namespaced: true, statusSubresource: true });
  const client = new Client({ transport: api, mapper: new RestMapper(api), fieldManager: 'test' });
  const widget = api.seed<Widget>({ ...WIDGET, metadata: { namespace: 'ns', name: 'w' }, spec: { size: 1 }, status: { observed: 0 } });
  api.requests.length = 0;
  return { api, client, widget };
}

describe('lib/controller/patch-helper', () => {
  it('makes zero requests when the reconcile changed nothing', async () => {
    const { api, client, widget } = setup();
    const helper = PatchHelper.snapshot(client, widget);
    const outcome = await helper.patch(widget);
    expect(outcome.writes).to.equal(0);
    expect(api.requests).to.have.length(0);
  });

  it('writes a status-only change once, to the status subresource, with only the changed field', async () => {
    const { api, client, widget } = setup();
    const helper = PatchHelper.snapshot(client, widget);
    widget.status = { ...widget.status, observed: 1 };
    expect((await helper.patch(widget)).writes).to.equal(1);
    expect(api.writes()).to.deep.equal([
      { method: 'PATCH', path: '/apis/toolkit.kvcloud.test/v1/namespaces/ns/widgets/w/status', contentType: 'application/merge-patch+json', body: { status: { observed: 1 } } },
    ]);
  });

  it('patches metadata+spec, then conditions and the rest of status together, when all three changed', async () => {
    const { api, client, widget } = setup();
    const helper = PatchHelper.snapshot(client, widget);
    widget.metadata.labels = { a: 'b' };
    widget.spec = { size: 2 };
    markTrue(widget, 'Ready', 'Ready');
    widget.status = { ...widget.status, observed: 2 };
    expect((await helper.patch(widget)).writes).to.equal(2);
    const stored = api.peek(WIDGET.apiVersion, WIDGET.kind, 'ns/w') as Widget;
    expect(stored.metadata.labels).to.deep.equal({ a: 'b' });
    expect(stored.spec).to.deep.equal({ size: 2 });
    expect(stored.status?.observed).to.equal(2);
    expect(getCondition(stored, 'Ready')?.status).to.equal('True');
    const [main, status] = api.writes();
    expect(main?.body).to.deep.equal({ metadata: { labels: { a: 'b' } }, spec: { size: 2 } });
    // The status patch is locked to the version the metadata patch produced, not the stale snapshot's.
    expect((status?.body as { metadata: { resourceVersion: string } }).metadata.resourceVersion).to.not.equal(widget.metadata.resourceVersion);
  });

  it('never lets a reader see the new conditions without the rest of the new status', async () => {
    const { api, client, widget } = setup();
    const seen: Widget[] = [];
    api.afterWrite = (obj) => {
      seen.push(obj);
    };
    const helper = PatchHelper.snapshot(client, widget);
    markTrue(widget, 'Ready', 'Ready');
    widget.status = { ...widget.status, observed: 3 };
    await helper.patch(widget);
    expect(seen.map((w) => [w.status?.observed, getCondition(w, 'Ready')?.status])).to.deep.equal([[3, 'True']]);
  });

  describe('after another writer changed the status since the snapshot', () => {
    const theirCheck = (w: Widget): void => {
      markFalse(w, 'ExternalCheck', 'Failing', 'from another controller');
    };
    const cases: { name: string; theirs: (w: Widget) => void; observed?: number; want: string[] }[] = [
      { name: 'keeps a condition another writer added meanwhile: re-reads on conflict and re-applies only its own changes', theirs: theirCheck, want: ['ExternalCheck', 'Ready'] },
      { name: 're-sends its other status changes with the rebased conditions', theirs: theirCheck, observed: 4, want: ['ExternalCheck', 'Ready'] },
      { name: 'still writes its other status changes when the other writer set the same conditions', theirs: (w) => markTrue(w, 'Ready', 'Ready'), observed: 5, want: ['Ready'] },
    ];
    for (const tc of cases) {
      it(tc.name, async () => {
        const { api, client, widget } = setup();
        const helper = PatchHelper.snapshot(client, widget);
        const other = structuredClone(widget);
        tc.theirs(other);
        await client.update(other, { subresource: 'status' });
        markTrue(widget, 'Ready', 'Ready');
        if (tc.observed !== undefined) widget.status = { ...widget.status, observed: tc.observed };
        // The conflicted attempt, then the retry (or, with nothing left to rebase, the rest of status alone).
        expect((await helper.patch(widget)).writes).to.equal(2);
        const stored = api.peek(WIDGET.apiVersion, WIDGET.kind, 'ns/w') as Widget;
        expect(stored.status?.observed).to.equal(tc.observed ?? 0);
        expect(stored.status?.conditions?.map((c) => c.type)).to.deep.equal(tc.want);
      });
    }
  });

  it('locks finalizer changes to the version it read, because a merge patch replaces the whole list', async () => {
    const { api, client, widget } = setup();
    const helper = PatchHelper.snapshot(client, widget);
    await client.mergePatch(WIDGET, { namespace: 'ns', name: 'w' }, { metadata: { finalizers: ['someone.else/cleanup'] } });
    addFinalizer(widget, 'kvcloud.io/widget');
    let error: unknown;
    try {
      await helper.patch(widget);
    } catch (err) {
      error = err;
    }
    expect(String(error)).to.match(/409/);
    expect(api.peek(WIDGET.apiVersion, WIDGET.kind, 'ns/w')?.metadata.finalizers).to.deep.equal(['someone.else/cleanup']);
  });

  it('stops after removing the last finalizer of a deleting object, which is then gone', async () => {
    const { api, client } = setup();
    const w = api.seed<Widget>({ ...WIDGET, metadata: { namespace: 'ns', name: 'd', finalizers: ['kvcloud.io/widget'] } });
    await client.delete(WIDGET, { namespace: 'ns', name: 'd' });
    const deleting = await client.get<Widget>(WIDGET, { namespace: 'ns', name: 'd' });
    if (!deleting) throw new Error('the deleting widget vanished early');
    expect(deleting.metadata.deletionTimestamp).to.be.a('string');
    const helper = PatchHelper.snapshot(client, deleting);
    removeFinalizer(deleting, 'kvcloud.io/widget');
    markFalse(deleting, 'Ready', 'Deleted');
    const outcome = await helper.patch(deleting);
    expect(outcome).to.deep.equal({ writes: 1, gone: true });
    expect(api.peek(WIDGET.apiVersion, WIDGET.kind, 'ns/d')).to.equal(undefined);
    expect(w.metadata.name).to.equal('d');
  });

  it('sends status with spec for kinds without a status subresource', async () => {
    const api = new FakeApiServer().serve({ apiVersion: 'v1', kind: 'ConfigMap', resource: 'configmaps', namespaced: true });
    const client = new Client({ transport: api, mapper: new RestMapper(api), fieldManager: 'test' });
    const cm = api.seed({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { namespace: 'ns', name: 'c' }, data: { a: '1' } });
    const helper = PatchHelper.snapshot(client, cm, { statusSubresource: false });
    cm.data = { a: '2' };
    expect((await helper.patch(cm)).writes).to.equal(1);
    expect(api.writes()[0]?.body).to.deep.equal({ data: { a: '2' } });
  });
});
