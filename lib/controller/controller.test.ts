import { expect } from 'chai';
import { Client } from '../kube/client.js';
import { FakeApiServer } from '../testing/fake-apiserver.js';
import type { KubeObject } from '../kube/object.js';
import { RestMapper } from '../kube/rest-mapper.js';
import { createLogger } from '../observability/logger.js';
import { ToolkitMetrics } from '../observability/metrics.js';
import { ControllerBuilder } from './builder.js';
import { markTrue, type Condition } from './conditions.js';
import type { Controller } from './controller.js';
import { EventRecorder } from './event-recorder.js';
import { FakeListWatcher } from '../testing/fake-list-watcher.js';
import { InformerCache } from './informer-cache.js';
import { generationChanged } from './predicates.js';
import { ItemExponentialRateLimiter } from './rate-limiter.js';
import { TerminalError, type ReconcileContext, type Reconciler, type Result } from './reconciler.js';

interface Widget extends KubeObject {
  spec?: { size?: number };
  status?: { observedSize?: number; conditions?: Condition[] };
}

const WIDGET = { apiVersion: 'toolkit.kvcloud.test/v1', kind: 'Widget' };
const PART = { apiVersion: 'v1', kind: 'ConfigMap' };

async function until(cond: () => boolean, what: string, ms = 3000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}

class Env {
  readonly api = new FakeApiServer()
    .serve({ ...WIDGET, resource: 'widgets', namespaced: true, statusSubresource: true })
    .serve({ ...PART, resource: 'configmaps', namespaced: true });
  readonly watchers = new Map<string, FakeListWatcher<KubeObject>>();
  readonly metrics = new ToolkitMetrics({ defaultMetrics: false });
  readonly cache: InformerCache;
  readonly client: Client;
  private controller: Controller<Widget> | undefined;

  constructor() {
    const mapper = new RestMapper(this.api);
    this.cache = new InformerCache({
      transport: this.api,
      mapper,
      listWatcherFactory: (type) => Promise.resolve(this.watcher(type.kind)),
    });
    this.client = new Client({ transport: this.api, mapper, fieldManager: 'test', cache: this.cache });
    // Every write the fake apiserver accepts reaches the informer, as a watch event would.
    this.api.afterWrite = (obj) => {
      this.watcher(obj.kind ?? '').observe(obj);
    };
  }

  watcher(kind: string): FakeListWatcher<KubeObject> {
    let w = this.watchers.get(kind);
    if (!w) this.watchers.set(kind, (w = new FakeListWatcher<KubeObject>()));
    return w;
  }

  seed<T extends KubeObject>(obj: T): T {
    const stored = this.api.seed(obj);
    this.watcher(obj.kind ?? '').observe(stored, 'ADDED');
    return stored;
  }

  builder(): ControllerBuilder<Widget> {
    const recorder = new EventRecorder({ client: this.client, reportingController: 'kvcloud.io/test', reportingInstance: 'test' });
    return new ControllerBuilder<Widget>(
      { cache: this.cache, client: this.client, recorder, log: createLogger({ level: 'silent' }), metrics: this.metrics },
      'widgets',
    );
  }

  async run(controller: Controller<Widget>): Promise<void> {
    this.controller = controller;
    await controller.prepare();
    this.cache.start();
    await controller.start();
  }

  async stop(): Promise<void> {
    await this.controller?.stop();
    await this.cache.stop();
  }
}

function reconciler(fn: (w: Widget, ctx: ReconcileContext) => Promise<Result> | Result): Reconciler<Widget> {
  return { reconcile: async (w, ctx) => fn(w, ctx) };
}

const widget = (name: string, size = 1): Widget => ({ ...WIDGET, metadata: { namespace: 'ns', name }, spec: { size } });

describe('lib/controller/controller', () => {
  let env: Env;
  beforeEach(() => {
    env = new Env();
  });
  afterEach(async () => {
    await env.stop();
  });

  it('reconciles every object, patches what the reconciler changed, and a second pass writes nothing', async () => {
    env.seed(widget('a', 1));
    env.seed(widget('b', 2));
    const seen: string[] = [];
    const controller = env.builder()
      .for(WIDGET)
      .complete(
        reconciler((w) => {
          seen.push(w.metadata.name ?? '');
          w.status = { ...w.status, observedSize: w.spec?.size ?? 0 };
          markTrue(w, 'Ready', 'Ready');
          return {};
        }),
      );
    await env.run(controller);
    await until(() => (env.api.peek(WIDGET.apiVersion, WIDGET.kind, 'ns/b') as Widget).status?.observedSize === 2, 'b patched');
    await until(() => controller.queue.len() === 0 && !controller.queue.isProcessing('ns/a') && !controller.queue.isProcessing('ns/b'), 'idle');
    const writesAfterConverging = env.api.writes().length;
    controller.queue.add('ns/a');
    controller.queue.add('ns/b');
    const before = seen.length;
    await until(() => seen.length >= before + 2 && controller.queue.len() === 0, 'second pass');
    await until(() => !controller.queue.isProcessing('ns/a') && !controller.queue.isProcessing('ns/b'), 'second pass done');
    expect(env.api.writes().length).to.equal(writesAfterConverging);
    expect(await env.metrics.counterValue('controller_runtime_reconcile_total', { controller: 'widgets', result: 'success' })).to.be.at.least(4);
  });

  it('retries a failing reconcile with backoff and counts the errors', async () => {
    env.seed(widget('a'));
    let attempts = 0;
    const controller = env.builder()
      .for(WIDGET)
      .withRateLimiter(new ItemExponentialRateLimiter<string>(1, 20))
      .complete(
        reconciler(() => {
          attempts++;
          if (attempts < 4) throw new Error('dependency not ready');
          return {};
        }),
      );
    await env.run(controller);
    await until(() => attempts === 4, 'fourth attempt');
    await until(() => controller.queue.numRequeues('ns/a') === 0, 'backoff forgotten after success');
    expect(await env.metrics.counterValue('controller_runtime_reconcile_errors_total', { controller: 'widgets' })).to.equal(3);
    expect(await env.metrics.counterValue('workqueue_retries_total', { name: 'widgets' })).to.equal(3);
  });

  it('takes a 404 on the patch after reconciling as the object being gone, not as a failure', async () => {
    env.seed(widget('a'));
    let attempts = 0;
    env.api.failNext((req) => req.method === 'PATCH', 404, 'NotFound');
    const controller = env.builder()
      .for(WIDGET)
      .withRateLimiter(new ItemExponentialRateLimiter<string>(1, 1))
      .complete(
        reconciler((w) => {
          attempts++;
          markTrue(w, 'Ready', 'Ready');
          return {};
        }),
      );
    await env.run(controller);
    await until(() => attempts === 1 && controller.queue.len() === 0 && !controller.queue.isProcessing('ns/a'), 'one reconcile');
    expect(await env.metrics.counterValue('controller_runtime_reconcile_errors_total', { controller: 'widgets' })).to.equal(0);
    expect(await env.metrics.counterValue('controller_runtime_reconcile_total', { controller: 'widgets', result: 'success' })).to.equal(1);
  });

  it('does not retry a TerminalError', async () => {
    env.seed(widget('a'));
    let attempts = 0;
    const controller = env.builder()
      .for(WIDGET)
      .withRateLimiter(new ItemExponentialRateLimiter<string>(1, 1))
      .complete(
        reconciler(() => {
          attempts++;
          throw new TerminalError('spec.size must be positive');
        }),
      );
    await env.run(controller);
    await until(() => attempts === 1, 'first attempt');
    await until(() => controller.queue.delayedLen() === 0 && controller.queue.len() === 0, 'nothing requeued');
    expect(await env.metrics.counterValue('controller_runtime_terminal_reconcile_errors_total', { controller: 'widgets' })).to.equal(1);
  });

  it('reconciles again after requeueAfter without any event', async () => {
    env.seed(widget('a'));
    let count = 0;
    const controller = env.builder()
      .for(WIDGET)
      .complete(reconciler(() => (++count < 3 ? { requeueAfter: 10 } : {})));
    await env.run(controller);
    await until(() => count === 3, 'three reconciles');
    expect(await env.metrics.counterValue('controller_runtime_reconcile_total', { result: 'requeue_after' })).to.equal(2);
  });

  it('never reconciles one key twice at once, however many events arrive meanwhile', async () => {
    env.seed(widget('a'));
    let running = 0;
    let overlap = false;
    let calls = 0;
    let release: (() => void) | undefined;
    const controller = env.builder()
      .for(WIDGET)
      .withConcurrency(4)
      .complete(
        reconciler(async () => {
          calls++;
          running++;
          if (running > 1) overlap = true;
          if (calls === 1) await new Promise<void>((resolve) => (release = resolve));
          running--;
          return {};
        }),
      );
    await env.run(controller);
    await until(() => release !== undefined, 'first reconcile to start');
    for (let i = 2; i < 20; i++) env.watcher('Widget').upsert(widget('a', i));
    const informer = await env.cache.informerFor<Widget>(WIDGET);
    await until(() => informer.store.get('ns/a')?.spec?.size === 19, 'every event to reach the informer');
    release?.();
    await until(() => calls >= 2 && running === 0 && controller.queue.len() === 0, 'the queued follow-up');
    expect(overlap).to.be.false;
    expect(calls).to.equal(2); // the 18 events during the first reconcile collapsed into one follow-up
  });

  it('filters events through predicates: a status-only update does not reconcile under generationChanged', async () => {
    env.seed(widget('a'));
    let count = 0;
    const controller = env.builder()
      .for(WIDGET, { predicates: [generationChanged()] })
      .complete(reconciler(() => (count++, {})));
    await env.run(controller);
    await until(() => count === 1, 'initial reconcile');
    await env.client.mergePatch(WIDGET, { namespace: 'ns', name: 'a' }, { status: { observedSize: 9 } }, { subresource: 'status' });
    await env.client.mergePatch(WIDGET, { namespace: 'ns', name: 'a' }, { spec: { size: 5 } });
    await until(() => count === 2, 'reconcile after the spec change');
    await until(() => controller.queue.len() === 0, 'idle');
    expect(count).to.equal(2);
  });

  it('maps an owned child event to its controlling owner', async () => {
    const owner = env.seed(widget('owner'));
    const reconciled: string[] = [];
    const controller = env.builder()
      .for(WIDGET)
      .owns(PART)
      .complete(reconciler((w) => (reconciled.push(w.metadata.name ?? ''), {})));
    await env.run(controller);
    await until(() => reconciled.length === 1, 'initial reconcile');
    await env.client.create({
      ...PART,
      metadata: {
        namespace: 'ns',
        name: 'child',
        ownerReferences: [{ apiVersion: 'toolkit.kvcloud.test/v1', kind: 'Widget', name: 'owner', uid: owner.metadata.uid ?? '', controller: true }],
      },
    });
    await until(() => reconciled.length === 2, 'reconcile triggered by the child');
    expect(reconciled).to.deep.equal(['owner', 'owner']);
  });

  it('finishes the in-flight reconcile before stop() returns', async () => {
    env.seed(widget('a'));
    let finished = false;
    let started = false;
    const controller = env.builder()
      .for(WIDGET)
      .complete(
        reconciler(async () => {
          started = true;
          await new Promise((resolve) => setTimeout(resolve, 50));
          finished = true;
          return {};
        }),
      );
    await env.run(controller);
    await until(() => started, 'reconcile to start');
    await controller.stop();
    expect(finished).to.be.true;
  });
});
