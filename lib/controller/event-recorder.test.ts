import { expect } from 'chai';
import { Client } from '../kube/client.js';
import { FakeApiServer } from '../testing/fake-apiserver.js';
import { RestMapper } from '../kube/rest-mapper.js';
import { FakeClock } from './clock.js';
import { EventRecorder } from './event-recorder.js';

interface EventObj {
  metadata: { name: string; namespace: string };
  eventTime: string;
  reason: string;
  action: string;
  note: string;
  type: string;
  reportingController: string;
  reportingInstance: string;
  regarding: { kind: string; name: string; uid: string };
  series?: { count: number; lastObservedTime: string };
}

function setup(): { api: FakeApiServer; clock: FakeClock; recorder: EventRecorder } {
  const api = new FakeApiServer().serve({ apiVersion: 'events.k8s.io/v1', kind: 'Event', resource: 'events', namespaced: true });
  const client = new Client({ transport: api, mapper: new RestMapper(api), fieldManager: 'test' });
  const clock = new FakeClock(Date.parse('2030-01-01T00:00:00Z'));
  const recorder = new EventRecorder({ client, reportingController: 'kvcloud.io/test', reportingInstance: 'test-host', clock, seriesFlushMs: 30_000 });
  return { api, clock, recorder };
}

const machine = { apiVersion: 'x/v1', kind: 'Machine', metadata: { namespace: 'ns', name: 'm1', uid: 'u1' } };

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('lib/controller/event-recorder', () => {
  it('creates an events.k8s.io/v1 Event with MicroTime, reporting fields and the regarding object', async () => {
    const { api, recorder } = setup();
    recorder.event(machine, { type: 'Warning', reason: 'WaitingForBootstrapData', action: 'CreateVM', note: 'no bootstrap data yet' });
    await recorder.close();
    const [write] = api.writes();
    const event = write?.body as EventObj;
    expect(write?.path).to.equal('/apis/events.k8s.io/v1/namespaces/ns/events');
    expect(event.eventTime).to.equal('2030-01-01T00:00:00.000000Z');
    expect(event).to.deep.include({ reason: 'WaitingForBootstrapData', action: 'CreateVM', type: 'Warning', reportingController: 'kvcloud.io/test' });
    expect(event.regarding).to.include({ kind: 'Machine', name: 'm1', uid: 'u1' });
    expect(event.metadata.name).to.match(/^m1\.[0-9a-f]{16}$/);
  });

  it('folds repeats into one series update per flush interval instead of one write each', async () => {
    const { api, clock, recorder } = setup();
    for (let i = 0; i < 50; i++) {
      recorder.event(machine, { type: 'Warning', reason: 'Failing', action: 'Reconcile', note: 'same problem' });
      clock.advance(1000);
      await settle();
    }
    await recorder.close();
    const writes = api.writes();
    // One create, then one series patch per 30s flush: 50 occurrences over 50 seconds -> 1 + 2 writes.
    expect(writes.map((w) => w.method)).to.deep.equal(['POST', 'PATCH', 'PATCH']);
    const stored = api.peek('events.k8s.io/v1', 'Event', `ns/${(writes[0]?.body as EventObj).metadata.name}`) as unknown as EventObj;
    expect(stored.series?.count).to.equal(50);
    expect(stored.series?.lastObservedTime).to.equal('2030-01-01T00:00:49.000000Z');
  });

  it('flush waits for Event creations still in flight, so a caller can count writes after it', async () => {
    const { api } = setup();
    // A slow apiserver: every request answers 20 ms later, long after flush() would otherwise have returned.
    const slow = { host: api.host, request: <T>(req: Parameters<FakeApiServer['request']>[0]) => new Promise((resolve) => setTimeout(resolve, 20)).then(() => api.request<T>(req)), stream: api.stream.bind(api), close: () => undefined };
    const client = new Client({ transport: slow, mapper: new RestMapper(api), fieldManager: 'test' });
    const recorder = new EventRecorder({ client, reportingController: 'kvcloud.io/test', reportingInstance: 'test-host' });
    recorder.event(machine, { type: 'Normal', reason: 'Created', action: 'Create', note: 'a' });
    await recorder.flush();
    expect(api.writes().map((w) => w.method)).to.deep.equal(['POST']);
  });

  it('keeps different notes and different objects as separate Events', async () => {
    const { api, recorder } = setup();
    recorder.event(machine, { type: 'Normal', reason: 'Created', action: 'Create', note: 'a' });
    recorder.event(machine, { type: 'Normal', reason: 'Created', action: 'Create', note: 'b' });
    recorder.event({ ...machine, metadata: { ...machine.metadata, name: 'm2', uid: 'u2' } }, { type: 'Normal', reason: 'Created', action: 'Create', note: 'a' });
    await recorder.close();
    expect(api.writes().filter((w) => w.method === 'POST')).to.have.length(3);
  });

  it('starts a new Event when the same event recurs after the series window', async () => {
    const { api, clock, recorder } = setup();
    recorder.event(machine, { type: 'Normal', reason: 'Synced', action: 'Sync', note: 'x' });
    await settle();
    clock.advance(7 * 60_000);
    recorder.event(machine, { type: 'Normal', reason: 'Synced', action: 'Sync', note: 'x' });
    await recorder.close();
    expect(api.writes().map((w) => w.method)).to.deep.equal(['POST', 'POST']);
  });

  it('recreates a series whose Event expired before the next flush', async () => {
    const { api, clock, recorder } = setup();
    recorder.event(machine, { type: 'Normal', reason: 'Synced', action: 'Sync', note: 'x' });
    await settle();
    recorder.event(machine, { type: 'Normal', reason: 'Synced', action: 'Sync', note: 'x' });
    api.failNext((r) => r.method === 'PATCH', 404, 'NotFound');
    clock.advance(30_000);
    await recorder.close();
    const writes = api.writes();
    expect(writes.map((w) => w.method)).to.deep.equal(['POST', 'PATCH', 'POST']);
    expect((writes[2]?.body as EventObj).series?.count).to.equal(2);
  });
});
