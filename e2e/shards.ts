// The pure parts of the shard runner (run-shards.ts): dealing suite files to shards, and reading each shard's
// mocha output into one result.

export interface ShardPlan {
  files: string[];
  estimatedSeconds: number;
}

export interface ShardResult {
  index: number;
  files: string[];
  log: string;
  exitCode: number;
  output: string;
}

/** A suite nobody has timed yet counts as this many seconds. */
const UNKNOWN_SECONDS = 120;

/**
 * Longest first, each file to the shard with the least expected time so far (ties to the lower index), so the
 * shards end close together; a shard never gets an empty plan while files remain. Deterministic for given inputs.
 */
export function planShards(files: string[], shards: number, seconds: Record<string, number>): ShardPlan[] {
  const plans: ShardPlan[] = Array.from({ length: Math.min(shards, files.length) }, () => ({ files: [], estimatedSeconds: 0 }));
  const cost = (f: string) => seconds[f] ?? UNKNOWN_SECONDS;
  const ordered = [...files].sort((a, b) => cost(b) - cost(a) || a.localeCompare(b));
  for (const f of ordered) {
    const target = plans.reduce((best, p) => (p.estimatedSeconds < best.estimatedSeconds ? p : best));
    target.files.push(f);
    target.estimatedSeconds += cost(f);
  }
  for (const p of plans) p.files.sort();
  return plans;
}

export interface Summary {
  passed: number;
  failed: number;
  pending: number;
  ok: boolean;
  failures: string[];
}

function count(output: string, word: string): number {
  // mocha's spec reporter closes with "  N passing (Xm)", "  N pending", "  N failing".
  const m = new RegExp(`^\\s*(\\d+) ${word}\\b`, 'm').exec(output);
  return m ? Number(m[1]) : 0;
}

/** One result for all shards: a shard that exited non-zero fails the run even when it printed no failing test. */
export function summarize(results: ShardResult[]): Summary {
  let passed = 0;
  let failed = 0;
  let pending = 0;
  const failures: string[] = [];
  for (const r of results) {
    const f = count(r.output, 'failing');
    passed += count(r.output, 'passing');
    pending += count(r.output, 'pending');
    failed += f;
    if (f > 0) failures.push(`shard ${r.index}: ${f} failing (see ${r.log})`);
    else if (r.exitCode !== 0) {
      failed += 1;
      failures.push(`shard ${r.index}: exited ${r.exitCode} without a failing test (a hook or the teardown check; see ${r.log})`);
    }
  }
  if (pending > 0) failures.push(`${pending} pending (skipped) tests: a skipped test is not a pass`);
  return { passed, failed, pending, ok: failed === 0 && pending === 0, failures };
}

// mocha's colours, so the failing section parses the same whether or not it wrote to a terminal.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

/**
 * One line per failure in a mocha run's "N failing" section: its number, its titles joined, and the first line of
 * its error. A run's summary ends with these, so the last lines of a long log already say what failed.
 */
export function failureHeadlines(output: string, maxLength = 400): string[] {
  const lines = output.replace(ANSI, '').split('\n');
  const start = lines.findIndex((l) => /^\s*\d+ failing\b/.test(l));
  if (start < 0) return [];
  const headlines: string[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    const first = /^\s+(\d+)\) (.*)$/.exec(lines[i] ?? '');
    if (!first) continue;
    // Titles run until the line ending in ':' (mocha's last title line); the error's first line follows it.
    const titles = [first[2] ?? ''];
    while (!(titles.at(-1) ?? '').endsWith(':') && i + 1 < lines.length && (lines[i + 1] ?? '').trim() !== '') {
      titles.push((lines[++i] ?? '').trim());
    }
    let message = '';
    while (i + 1 < lines.length && message === '') message = (lines[++i] ?? '').trim();
    const line = `${first[1] ?? ''}) ${titles.join(' › ').replace(/:$/, '')}: ${message}`;
    headlines.push(line.length > maxLength ? `${line.slice(0, maxLength - 1)}…` : line);
  }
  return headlines;
}

/** The known durations updated with a run's JSON lines ({ file, seconds } per top-level suite, summed per file). */
export function mergeTimings(known: Record<string, number>, jsonLines: string): Record<string, number> {
  const measured: Record<string, number> = {};
  for (const line of jsonLines.split('\n')) {
    if (line.trim() === '') continue;
    const { file, seconds } = JSON.parse(line) as { file: string; seconds: number };
    measured[file] = (measured[file] ?? 0) + seconds;
  }
  const merged = { ...known, ...measured };
  return Object.fromEntries(Object.keys(merged).sort().map((k) => [k, merged[k] ?? 0]));
}

/** The machine's CPU time so far, from the first line of /proc/stat: all of it, and the part spent idle. */
export interface CpuTimes {
  total: number;
  idle: number;
}

/** Parses /proc/stat's aggregate "cpu" line (user nice system idle iowait irq softirq steal ...); iowait counts as idle. */
export function parseCpuTimes(procStat: string): CpuTimes {
  const fields = /^cpu\s+([\d\s]+)$/m.exec(procStat)?.[1]?.trim().split(/\s+/).map(Number) ?? [];
  if (fields.length < 5) throw new Error(`no aggregate cpu line in /proc/stat: ${procStat.slice(0, 80)}`);
  // guest and guest_nice (fields 9 and 10) are already part of user and nice.
  const counted = fields.slice(0, 8);
  return { total: counted.reduce((a, b) => a + b, 0), idle: (fields[3] ?? 0) + (fields[4] ?? 0) };
}

/**
 * The busy share of the machine's CPU between two readings, 0 to 1. With the suites' wall time it says whether
 * another shard has room: a run whose CPU is far from busy is waiting, not computing.
 */
export function busyShare(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  return total > 0 ? (total - (after.idle - before.idle)) / total : 0;
}
