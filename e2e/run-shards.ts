// Runs the end-to-end suites as parallel shards, each a mocha process in its own private network namespace
// (localcloud/cluster/netns.ts), with its own log, and one merged result. Suite files are dealt to shards longest
// first by the durations in e2e/suite-timings.json (a run with --record writes the durations it measured there), so
// the shards end close together. Logs and timings go to out/e2e/<run>/.
//
//   tsx e2e/run-shards.ts [--shards N] [--record] <suite files or globs>...
import { spawn } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { glob } from 'node:fs/promises';
import { cpus } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { busyShare, failureHeadlines, mergeTimings, parseCpuTimes, planShards, summarize, type ShardResult } from './shards.js';
import { referenceWorkSeconds } from './machine-speed.js';

const REPO = fileURLToPath(new URL('../', import.meta.url));
// One folder per run, so two runs side by side (two developers' shells) never mix their logs.
const OUT = join(REPO, 'out', 'e2e', `${new Date().toISOString().replace(/[:.]/g, '-')}-${process.pid}`);
const KNOWN_TIMINGS = join(REPO, 'e2e', 'suite-timings.json');

function parseArgs(argv: string[]): { shards: number; record: boolean; patterns: string[] } {
  let shards = 1;
  let record = false;
  const patterns: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] ?? '';
    if (a === '--shards') shards = Number(argv[++i]);
    else if (a === '--record') record = true;
    else patterns.push(a);
  }
  if (!Number.isInteger(shards) || shards < 1) throw new Error(`--shards takes a positive integer, got ${String(shards)}`);
  if (patterns.length === 0) throw new Error('usage: run-shards.ts [--shards N] <suite files or globs>...');
  return { shards, record, patterns };
}

async function suiteFiles(patterns: string[]): Promise<string[]> {
  const files = new Set<string>();
  for (const p of patterns) for await (const f of glob(p, { cwd: REPO })) files.add(relative(REPO, join(REPO, f)));
  return [...files].sort();
}

function knownTimings(): Record<string, number> {
  return existsSync(KNOWN_TIMINGS) ? (JSON.parse(readFileSync(KNOWN_TIMINGS, 'utf8')) as Record<string, number>) : {};
}

/** `live`: also stream the shard's output as it comes (a single shard reads as a plain run). */
function runShard(index: number, files: string[], timings: string, live: boolean): Promise<ShardResult> {
  const log = join(OUT, `shard-${index}.log`);
  const out = createWriteStream(log);
  const output: Buffer[] = [];
  const child = spawn('tsx', ['localcloud/cluster/netns.ts', 'mocha', '--config', '.mocharc.e2e.json', ...files], {
    cwd: REPO,
    env: { ...process.env, KVCLOUD_E2E_TIMINGS: timings },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  child.stdout.on('data', (b: Buffer) => output.push(b));
  child.stderr.on('data', (b: Buffer) => output.push(b));
  if (live) {
    child.stdout.pipe(process.stdout, { end: false });
    child.stderr.pipe(process.stderr, { end: false });
  }
  return new Promise((resolve, reject) => {
    child.once('error', (err) => {
      reject(new Error(`shard ${index}: start tsx: ${err.message}`, { cause: err }));
    });
    child.once('close', (code, signal) => {
      out.end(() => {
        resolve({ index, files, log, exitCode: code ?? (signal ? 128 : 1), output: Buffer.concat(output).toString('utf8') });
      });
    });
  });
}

async function main(): Promise<number> {
  const { shards, record, patterns } = parseArgs(process.argv.slice(2));
  const files = await suiteFiles(patterns);
  if (files.length === 0) throw new Error(`no suite matches ${patterns.join(' ')}`);
  mkdirSync(OUT, { recursive: true });
  const timings = join(OUT, 'timings.jsonl');
  const plan = planShards(files, shards, knownTimings());
  const referenceBefore = referenceWorkSeconds();
  const cpuBefore = parseCpuTimes(readFileSync('/proc/stat', 'utf8'));
  const started = Date.now();
  plan.forEach((p, i) => {
    console.log(`e2e shard ${i}: ${p.files.length} suites, ~${p.estimatedSeconds}s expected, log ${relative(REPO, join(OUT, `shard-${i}.log`))}`);
  });
  // Each shard's own time as it ends, beside its estimate: how far apart the shards end is what balancing gains.
  const results = await Promise.all(
    plan.map(async (p, i) => {
      const result = await runShard(i, p.files, timings, plan.length === 1);
      console.log(`e2e shard ${i}: exit ${result.exitCode} after ${Math.round((Date.now() - started) / 1000)}s (~${p.estimatedSeconds}s expected)`);
      return result;
    }),
  );
  // Several shards: their own output, one after the other, so a failure reads as it would from a single run; the
  // failed ones last, next to the summary, since a CI page often shows only a log's tail.
  const failedLast = [...results].sort((a, b) => Number(a.exitCode !== 0) - Number(b.exitCode !== 0) || a.index - b.index);
  for (const r of plan.length === 1 ? [] : failedLast) {
    console.log(`\n===== e2e shard ${r.index} (${r.files.join(', ')}) exit ${r.exitCode} =====`);
    process.stdout.write(r.output);
  }
  const summary = summarize(results);
  const seconds = Math.round((Date.now() - started) / 1000);
  const busy = busyShare(cpuBefore, parseCpuTimes(readFileSync('/proc/stat', 'utf8')));
  const referenceAfter = referenceWorkSeconds();
  console.log(`\ne2e: ${results.length} shard(s) in ${seconds}s; timings in ${relative(REPO, timings)}`);
  // Whether one more shard has room on this machine: the busy share of every core over the shards' wall time.
  console.log(`e2e: CPU ${(busy * 100).toFixed(0)} % busy over the shards' ${seconds}s (${cpus().length} cores)`);
  console.log(`e2e: the machine's reference work (e2e/machine-speed.ts) took ${referenceBefore.toFixed(2)} s before the suites and ${referenceAfter.toFixed(2)} s after`);
  for (const line of summary.failures) console.log(`  failed: ${line}`);
  for (const r of results) for (const h of failureHeadlines(r.output)) console.log(`    shard ${r.index}: ${h}`);
  if (record && summary.ok) {
    const merged = mergeTimings(knownTimings(), existsSync(timings) ? readFileSync(timings, 'utf8') : '');
    writeFileSync(KNOWN_TIMINGS, `${JSON.stringify(merged, null, 2)}\n`);
    console.log(`e2e: suite durations recorded in ${relative(REPO, KNOWN_TIMINGS)}`);
  }
  console.log(`e2e: ${summary.passed} passed, ${summary.failed} failed`);
  return summary.ok ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (err: unknown) => {
    console.error(`run-shards: ${(err as Error).message}`);
    process.exitCode = 2;
  },
);
