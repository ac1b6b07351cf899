import { expect } from 'chai';
import { Client } from '../kube/client.js';
import { FakeApiServer } from '../testing/fake-apiserver.js';
import { RestMapper } from '../kube/rest-mapper.js';
import type { LineStream, RestRequest, Transport } from '../kube/rest-transport.js';
import { ToolkitMetrics } from '../observability/metrics.js';
import { LeaderElector, LEASE_TYPE, type Lease } from './leader-election.js';

// A connection a test can cut, standing in for a leader process that died or lost its network.
class CuttableTransport implements Transport {
  cut = false;
  constructor(private readonly inner: Transport) {}
  get host(): string {
    return this.inner.host;
  }
  request<T>(req: RestRequest): Promise<T> {
    return this.cut ? Promise.reject(new Error('connect ECONNREFUSED')) : this.inner.request<T>(req);
  }
  stream(req: RestRequest): Promise<LineStream> {
    return this.inner.stream(req);
  }
  close(): void {
    this.inner.close();
  }
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe('lib/controller/leader-election', function () {
  this.timeout(10_000);
  let api: FakeApiServer;
  let client: Client;
  const electors: LeaderElector[] = [];
  const timing = { leaseDurationMs: 1000, renewDeadlineMs: 600, retryPeriodMs: 100 };

  function elector(identity: string, metrics?: ToolkitMetrics, through: Client = client): LeaderElector {
    const e = new LeaderElector({ client: through, namespace: 'ns', name: 'lock', identity, ...timing, metrics });
    electors.push(e);
    return e;
  }

  function lease(): Lease | undefined {
    return api.peek(LEASE_TYPE.apiVersion, LEASE_TYPE.kind, 'ns/lock') as Lease | undefined;
  }

  beforeEach(() => {
    api = new FakeApiServer().serve({ ...LEASE_TYPE, resource: 'leases', namespaced: true });
    client = new Client({ transport: api, mapper: new RestMapper(api), fieldManager: 'test' });
  });
  afterEach(async () => {
    await Promise.all(electors.splice(0).map((e) => e.stop()));
  });

  it('creates the Lease and leads when nobody holds it, with MicroTime timestamps', async () => {
    const metrics = new ToolkitMetrics({ defaultMetrics: false });
    const a = elector('a', metrics);
    let started = false;
    a.start({ onStartedLeading: () => (started = true), onLostLeadership: () => undefined });
    await until(() => started, 'a to lead');
    expect(lease()?.spec).to.include({ holderIdentity: 'a', leaseDurationSeconds: 1, leaseTransitions: 0 });
    expect(lease()?.spec?.renewTime).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(await metrics.counterValue('leader_election_master_status', { name: 'lock' })).to.equal(1);
  });

  it('keeps a standby waiting while the leader renews, then hands over only after the lease has expired', async () => {
    const link = new CuttableTransport(api);
    const a = elector('a', undefined, new Client({ transport: link, mapper: new RestMapper(link), fieldManager: 'test' }));
    const b = elector('b');
    a.start({ onStartedLeading: () => undefined, onLostLeadership: () => undefined });
    await until(() => a.isLeader(), 'a to lead');
    let bLedAt = 0;
    b.start({ onStartedLeading: () => (bLedAt = Date.now()), onLostLeadership: () => undefined });
    // Three lease durations of renewals by a: b must never take over.
    const watchUntil = Date.now() + 3 * timing.leaseDurationMs;
    while (Date.now() < watchUntil) {
      expect(b.isLeader()).to.be.false;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // a vanishes without releasing the Lease.
    link.cut = true;
    const cutAt = Date.now();
    await until(() => bLedAt > 0, 'b to take over', 5000);
    const handover = bLedAt - cutAt;
    expect(handover).to.be.at.least(timing.leaseDurationMs - timing.retryPeriodMs);
    expect(handover).to.be.at.most(timing.leaseDurationMs + 3 * timing.retryPeriodMs + 200);
    expect(lease()?.spec).to.include({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('releases the Lease on stop so the standby takes over without waiting for expiry', async () => {
    const a = elector('a');
    const b = elector('b');
    a.start({ onStartedLeading: () => undefined, onLostLeadership: () => undefined });
    await until(() => a.isLeader(), 'a to lead');
    b.start({ onStartedLeading: () => undefined, onLostLeadership: () => undefined });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const stoppedAt = Date.now();
    await a.stop();
    expect(lease()?.spec?.holderIdentity).to.equal(undefined);
    await until(() => b.isLeader(), 'b to lead');
    expect(Date.now() - stoppedAt).to.be.below(timing.leaseDurationMs);
  });

  it('gives up leadership when it cannot renew within the renew deadline', async () => {
    const a = elector('a');
    let lost = false;
    a.start({ onStartedLeading: () => undefined, onLostLeadership: () => (lost = true) });
    await until(() => a.isLeader(), 'a to lead');
    for (let i = 0; i < 100; i++) api.failNext((r) => r.path.includes('/leases/'), 500);
    await until(() => lost, 'a to lose leadership');
    expect(a.isLeader()).to.be.false;
  });

  it('rejects timings where the lease could expire before the leader notices it failed to renew', () => {
    expect(() => new LeaderElector({ client, namespace: 'ns', name: 'l', identity: 'x', leaseDurationMs: 5000, renewDeadlineMs: 5000 })).to.throw(
      /lease duration must exceed/,
    );
  });
});
