// Loaded into the benchmarked operator process (node --expose-gc --import): on the parent's "measure" message over
// the IPC channel it collects garbage and answers with the heap actually in use, so the bench compares live
// memory rather than whatever the collector happened to leave behind at a sampling instant.
interface Gc {
  gc?: () => void;
}

process.on('message', (msg) => {
  if (msg !== 'measure') return;
  const { gc } = globalThis as Gc;
  if (!gc) throw new Error('run the operator with --expose-gc');
  gc();
  gc(); // a second pass frees what the first one only finalized
  const m = process.memoryUsage();
  process.send?.({ heapUsed: m.heapUsed, external: m.external, rss: m.rss });
});
// The channel must not keep a finished process alive.
process.channel?.unref();
