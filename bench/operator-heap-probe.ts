// Loaded into the benchmarked operator process (node --expose-gc --import): on the parent's "measure" message over
// the IPC channel it collects garbage and answers with the heap actually in use, so the bench compares live
// memory rather than whatever the collector happened to leave behind at a sampling instant. On
// { snapshot: path } it writes a heap snapshot there (bench/operator-heap-snapshot.ts reads it) and answers the same.
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

interface Gc {
  gc?: () => void;
}

process.on('message', (msg) => {
  const snapshot = typeof msg === 'object' && msg !== null && 'snapshot' in msg ? String(msg.snapshot) : undefined;
  if (msg !== 'measure' && snapshot === undefined) return;
  const { gc } = globalThis as Gc;
  if (!gc) throw new Error('run the operator with --expose-gc');
  gc();
  gc(); // a second pass frees what the first one only finalized
  if (snapshot !== undefined) writeHeapSnapshot(snapshot);
  const m = process.memoryUsage();
  const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, { used: s.space_used_size, committed: s.space_size }]));
  process.send?.({ heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, rss: m.rss, spaces });
});
// The channel must not keep a finished process alive.
process.channel?.unref();
