// The same single-core work in every run, timed before and after the suites: on a shared machine the suites' own
// durations move with the machine's speed that day as much as with our changes, and this figure tells the two apart
// (when it is 1.5 times slower than usual, so is everything else). Hashing and JSON stand for the crypto and the
// object churn of a controller; it takes about a second.
import { createHash } from 'node:crypto';

const SAMPLE = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'reference', labels: { a: 'b', c: 'd' } }, data: { text: 'x'.repeat(256) } };

export function referenceWorkSeconds(): number {
  const started = performance.now();
  const block = Buffer.alloc(1 << 20, 7);
  const hash = createHash('sha256');
  for (let i = 0; i < 256; i++) hash.update(block);
  hash.digest();
  let names = 0;
  for (let i = 0; i < 100_000; i++) names += (JSON.parse(JSON.stringify(SAMPLE)) as typeof SAMPLE).metadata.name.length;
  if (names !== 900_000) throw new Error('reference work went wrong');
  return (performance.now() - started) / 1000;
}
