import { expect } from 'chai';
import { ToolkitMetrics } from '../observability/metrics.js';
import { FakeClock } from './clock.js';
import { ItemExponentialRateLimiter, MaxOfRateLimiter, TokenBucketRateLimiter } from './rate-limiter.js';
import { WorkQueue } from './workqueue.js';

// Resolves with the key if `get` answers before pending microtasks run out, otherwise 'pending'.
async function poll<K>(p: Promise<K | undefined>): Promise<K | undefined | 'pending'> {
  return Promise.race([p, new Promise<'pending'>((resolve) => setImmediate(() => { resolve('pending'); }))]);
}

describe('lib/controller/workqueue', () => {
  it('collapses repeated adds of a waiting key into one', async () => {
    const q = new WorkQueue<string>({ name: 't' });
    q.add('a');
    q.add('b');
    q.add('a');
    q.add('a');
    expect(q.len()).to.equal(2);
    expect(await q.get()).to.equal('a');
    expect(await q.get()).to.equal('b');
    expect(await poll(q.get())).to.equal('pending');
  });

  it('never hands a key to a second worker while the first still holds it, and re-queues it after done', async () => {
    const q = new WorkQueue<string>({ name: 't' });
    q.add('a');
    const first = await q.get();
    expect(first).to.equal('a');
    q.add('a'); // an event arrives while the reconcile runs
    expect(q.len()).to.equal(0);
    const second = q.get();
    expect(await poll(second)).to.equal('pending');
    q.done('a');
    expect(await second).to.equal('a');
    q.done('a');
    expect(q.len()).to.equal(0);
  });

  it('runs at most one worker per key even with many concurrent workers', async () => {
    const q = new WorkQueue<string>({ name: 't' });
    const running = new Set<string>();
    let overlaps = 0;
    let processed = 0;
    const worker = async (): Promise<void> => {
      for (;;) {
        const key = await q.get();
        if (key === undefined) return;
        if (running.has(key)) overlaps++;
        running.add(key);
        await new Promise((resolve) => setImmediate(resolve));
        if (processed < 200) q.add(key); // keep re-adding while running
        running.delete(key);
        processed++;
        q.done(key);
      }
    };
    for (const k of ['a', 'b', 'c']) q.add(k);
    const workers = Array.from({ length: 8 }, () => worker());
    while (processed < 200) await new Promise((resolve) => setImmediate(resolve));
    await q.shutdownWithDrain();
    await Promise.all(workers);
    expect(overlaps).to.equal(0);
  });

  it('delays addAfter keys until their time and keeps the earliest of two delays', () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ name: 't', clock });
    q.addAfter('a', 1000);
    q.addAfter('a', 300);
    q.addAfter('a', 5000);
    clock.advance(299);
    expect(q.len()).to.equal(0);
    clock.advance(1);
    expect(q.len()).to.equal(1);
    clock.advance(10_000);
    expect(q.len()).to.equal(1);
  });

  it('backs a failing key off exponentially from 5ms and forgets the history after success', () => {
    const limiter = new ItemExponentialRateLimiter<string>();
    const delays = Array.from({ length: 6 }, () => limiter.when('a'));
    expect(delays).to.deep.equal([5, 10, 20, 40, 80, 160]);
    expect(limiter.when('b')).to.equal(5); // per key
    expect(limiter.numRequeues('a')).to.equal(6);
    limiter.forget('a');
    expect(limiter.when('a')).to.equal(5);
  });

  it('caps the per-key backoff at 1000s (~16.7 minutes)', () => {
    const limiter = new ItemExponentialRateLimiter<string>();
    let last = 0;
    for (let i = 0; i < 100; i++) last = limiter.when('a');
    expect(last).to.equal(1_000_000);
  });

  it('rate-limits retries across all keys with a token bucket after the burst is spent', () => {
    const clock = new FakeClock();
    const bucket = new TokenBucketRateLimiter<string>(10, 100, clock);
    const delays = Array.from({ length: 103 }, (_, i) => bucket.when(`k${i}`));
    expect(delays.slice(0, 100).every((d) => d === 0)).to.be.true;
    expect(delays.slice(100)).to.deep.equal([100, 200, 300]);
    clock.advance(1000); // ten tokens refill, three of them were already reserved
    expect(bucket.when('x')).to.equal(0);
  });

  it('retries through addRateLimited with the larger of the per-key backoff and the bucket delay', () => {
    const clock = new FakeClock();
    const limiter = new MaxOfRateLimiter<string>(
      new ItemExponentialRateLimiter<string>(5, 1_000_000),
      new TokenBucketRateLimiter<string>(1, 1, clock),
    );
    const metrics = new ToolkitMetrics({ defaultMetrics: false });
    const q = new WorkQueue<string>({ name: 't', clock, rateLimiter: limiter, metrics });
    q.addRateLimited('a'); // backoff 5ms, bucket token available
    q.addRateLimited('b'); // backoff 5ms, bucket empty -> 1000ms
    clock.advance(5);
    expect(q.len()).to.equal(1);
    clock.advance(994);
    expect(q.len()).to.equal(1);
    clock.advance(1);
    expect(q.len()).to.equal(2);
    expect(q.numRequeues('a')).to.equal(1);
    q.forget('a');
    expect(q.numRequeues('a')).to.equal(0);
  });

  it('hands out queued keys after shutdown, ignores new adds and drops pending delays', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue<string>({ name: 't', clock });
    q.add('a');
    q.add('b');
    q.addAfter('later', 100);
    q.shutdown();
    q.add('c');
    clock.advance(1000);
    expect(await q.get()).to.equal('a');
    expect(await q.get()).to.equal('b');
    expect(await q.get()).to.equal(undefined);
    expect(clock.pendingTimers()).to.equal(0);
  });

  it('releases idle workers on shutdown', async () => {
    const q = new WorkQueue<string>({ name: 't' });
    const idle = q.get();
    q.shutdown();
    expect(await idle).to.equal(undefined);
  });

  it('resolves shutdownWithDrain only after in-flight and queued keys are done', async () => {
    const q = new WorkQueue<string>({ name: 't' });
    q.add('a');
    q.add('b');
    const inFlight = await q.get();
    let drained = false;
    const drain = q.shutdownWithDrain().then(() => {
      drained = true;
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained).to.be.false;
    q.done(String(inFlight));
    await new Promise((resolve) => setImmediate(resolve));
    expect(drained, 'b is still queued').to.be.false;
    const b = await q.get();
    q.done(String(b));
    await drain;
    expect(drained).to.be.true;
  });

  it('counts adds, retries and depth under controller-runtime metric names', async () => {
    const metrics = new ToolkitMetrics({ defaultMetrics: false });
    const q = new WorkQueue<string>({ name: 'widgets', metrics });
    q.add('a');
    q.add('a');
    q.add('b');
    q.addRateLimited('c');
    expect(await metrics.counterValue('workqueue_adds_total', { name: 'widgets' })).to.equal(2);
    expect(await metrics.counterValue('workqueue_retries_total', { name: 'widgets' })).to.equal(1);
    expect(await metrics.counterValue('workqueue_depth', { controller: 'widgets' })).to.equal(2);
    q.shutdown();
  });
});
