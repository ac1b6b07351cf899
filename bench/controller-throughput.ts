// Benchmark: a no-op controller over 5,000 ConfigMaps on a real apiserver. Prints how fast events travel
// informer -> queue -> reconcile against a raw list/watch measured in the same run, and how much memory the
// cache costs against the raw JSON size of the objects. Run: tsx bench/controller-throughput.ts [objects]
import { rmSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Manager } from '../lib/controller/manager.js';
import { parseManagerFlags } from '../lib/controller/manager-flags.js';
import { Client } from '../lib/kube/client.js';
import type { KubeList, KubeObject } from '../lib/kube/object.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import { RestTransport } from '../lib/kube/rest-transport.js';
import { createLogger } from '../lib/observability/logger.js';
import { ToolkitMetrics } from '../lib/observability/metrics.js';
import { startPlane } from '../localcloud/plane.js';
import { runDir } from '../localcloud/run-dir.js';
import { waitFor } from '../localcloud/wait.js';

const OBJECTS = Number(process.argv[2] ?? 5000);
const NS = 'bench';
const CONFIG_MAP = { apiVersion: 'v1', kind: 'ConfigMap' };
const WRITERS = 32;

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function settledMemory(): { rss: number; heap: number } {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heap: m.heapUsed };
}

async function inParallel(count: number, work: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: WRITERS }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

const mb = (bytes: number): string => `${(bytes / 1_048_576).toFixed(1)} MB`;
const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en')}/s`;

const plane = await startPlane({ controllerManager: false });
try {
  const metrics = new ToolkitMetrics({ defaultMetrics: false });
  const transport = await RestTransport.fromKubeConfig(plane.kubeConfig, { metrics });
  const client = new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-bench' });
  await client.create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
  const payload = 'x'.repeat(600);
  const createdAt = performance.now();
  await inParallel(OBJECTS, (i) =>
    client.create({ ...CONFIG_MAP, metadata: { namespace: NS, name: `cm-${i}`, labels: { app: 'bench', shard: String(i % 10) } }, data: { payload } }),
  );
  console.log(`created ${OBJECTS} ConfigMaps in ${((performance.now() - createdAt) / 1000).toFixed(1)}s`);

  // The toolkit: informer -> queue -> no-op reconcile, timed from start to the last reconcile.
  const before = settledMemory();
  const { flags } = parseManagerFlags([`--namespace=${NS}`, '--metrics-bind-address=0', '--health-probe-bind-address=0']);
  const manager = await Manager.create({ component: 'bench', flags, kubeConfig: plane.kubeConfig, log: createLogger({ level: 'warn' }) });
  let reconciled = 0;
  const controller = manager
    .controller<KubeObject>('noop')
    .for(CONFIG_MAP)
    .complete({ reconcile: () => (reconciled++, Promise.resolve({})) });
  const syncStart = performance.now();
  await manager.start();
  await waitFor(() => (reconciled >= OBJECTS ? true : undefined), { timeoutMs: 300_000, intervalMs: 5, what: 'every object reconciled' });
  const syncMs = performance.now() - syncStart;
  const after = settledMemory();

  // Updates: every object patched once, while a raw watch counts the same events.
  const rawWatch = await transport.stream({
    method: 'GET',
    path: `/api/v1/namespaces/${NS}/configmaps`,
    query: { watch: 1, resourceVersion: (await transport.request<KubeList>({ method: 'GET', path: `/api/v1/namespaces/${NS}/configmaps`, query: { limit: 1 } })).metadata.resourceVersion },
  });
  let rawEvents = 0;
  let rawLastAt = 0;
  const rawDone = (async () => {
    for await (const line of rawWatch) {
      JSON.parse(line);
      rawLastAt = performance.now();
      if (++rawEvents >= OBJECTS) break;
    }
  })();
  const reconciledBeforeUpdates = reconciled;
  const updateStart = performance.now();
  await inParallel(OBJECTS, (i) => client.mergePatch(CONFIG_MAP, { namespace: NS, name: `cm-${i}` }, { data: { payload, round: '2' } }));
  const writesMs = performance.now() - updateStart;
  await rawDone;
  rawWatch.close();
  const informer = await manager.cache.informerFor<KubeObject & { data?: Record<string, string> }>(CONFIG_MAP);
  await waitFor(() => (informer.store.list().every((o) => o.data?.round === '2') && controller.queue.isIdle() ? true : undefined), {
    timeoutMs: 300_000,
    intervalMs: 5,
    what: 'every update reconciled',
  });
  const pipelineMs = performance.now() - updateStart;
  const updateReconciles = reconciled - reconciledBeforeUpdates;
  await manager.stop();

  // Baseline: the same objects as one paginated raw list, parsed and nothing else.
  let rawBytes = 0;
  let listed = 0;
  const listStart = performance.now();
  let continueToken: string | undefined;
  do {
    const page = await transport.request<KubeList>({ method: 'GET', path: `/api/v1/namespaces/${NS}/configmaps`, query: { limit: 500, continue: continueToken } });
    for (const item of page.items) rawBytes += Buffer.byteLength(JSON.stringify(item));
    listed += page.items.length;
    continueToken = page.metadata.continue;
  } while (continueToken);
  const listMs = performance.now() - listStart;
  transport.close();

  const rssGrowth = after.rss - before.rss;
  const heapGrowth = after.heap - before.heap;
  console.log(`\nobjects: ${listed}, raw JSON: ${mb(rawBytes)} (${Math.round(rawBytes / listed)} B/object)`);
  console.log(
    `initial sync: raw list+parse ${rate(listed, listMs)} | list+watch -> queue -> reconcile ${rate(OBJECTS, syncMs)} | ratio ${(listMs / syncMs).toFixed(2)}`,
  );
  console.log(
    `updates: writers ${rate(OBJECTS, writesMs)} | raw watch ${rate(rawEvents, rawLastAt - updateStart)} | watch -> queue -> reconcile ${rate(OBJECTS, pipelineMs)} (${updateReconciles} reconciles for ${OBJECTS} updates) | ratio ${((rawLastAt - updateStart) / pipelineMs).toFixed(2)}`,
  );
  console.log(`memory: RSS +${mb(rssGrowth)} = ${(rssGrowth / rawBytes).toFixed(2)}x raw JSON | heap +${mb(heapGrowth)} = ${(heapGrowth / rawBytes).toFixed(2)}x raw JSON`);
} finally {
  await plane.stop();
  rmSync(runDir(), { recursive: true, force: true });
}
