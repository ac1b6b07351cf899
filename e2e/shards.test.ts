import { expect } from 'chai';
import { busyShare, failureHeadlines, mergeTimings, parseCpuTimes, planShards, summarize, type ShardResult } from './shards.js';

const result = (index: number, output: string, exitCode = 0): ShardResult => ({ index, files: [], log: `shard-${index}.log`, exitCode, output });

describe('e2e/shards', () => {
  it('deals the longest suites first to the least loaded shard, so shards end close together', () => {
    const plan = planShards(['a', 'b', 'c', 'd', 'e'], 2, { a: 600, b: 300, c: 290, d: 20, e: 10 });
    expect(plan).to.deep.equal([
      { files: ['a', 'e'], estimatedSeconds: 610 },
      { files: ['b', 'c', 'd'], estimatedSeconds: 610 },
    ]);
  });

  it('counts a suite never timed as two minutes and is deterministic', () => {
    const plan = planShards(['new', 'old'], 2, { old: 30 });
    expect(plan).to.deep.equal([
      { files: ['new'], estimatedSeconds: 120 },
      { files: ['old'], estimatedSeconds: 30 },
    ]);
    expect(planShards(['new', 'old'], 2, { old: 30 })).to.deep.equal(plan);
  });

  it('makes no empty shard when there are fewer files than shards', () => {
    expect(planShards(['a'], 3, {})).to.have.length(1);
  });

  it('adds up the shards and fails the run for a failing test', () => {
    const s = summarize([result(0, '  12 passing (3m)\n'), result(1, '  7 passing (2m)\n  1 failing\n', 1)]);
    expect(s).to.include({ passed: 19, failed: 1, pending: 0, ok: false });
    expect(s.failures).to.deep.equal(['shard 1: 1 failing (see shard-1.log)']);
  });

  it('fails the run for a shard that exited non-zero without a failing test (a hook or the teardown check)', () => {
    const s = summarize([result(0, '  3 passing (1m)\n', 1)]);
    expect(s).to.include({ passed: 3, failed: 1, ok: false });
  });

  it('does not count skipped tests as passing', () => {
    const s = summarize([result(0, '  3 passing (1m)\n  2 pending\n')]);
    expect(s).to.include({ passed: 3, pending: 2, ok: false });
  });

  it('passes when every shard passed', () => {
    expect(summarize([result(0, '  3 passing (1m)\n'), result(1, '  4 passing (1m)\n')])).to.include({ passed: 7, failed: 0, ok: true });
  });

  it('names each failing test with its error in one line, from mocha\'s coloured failing section', () => {
    const output = [
      '  \x1b[32m  ✔\x1b[0m creates it',
      '',
      '  214 passing (22m)',
      '  2 failing',
      '',
      '  1) cloud controller manager',
      '       serves a tenant Deployment behind a LoadBalancer Service:',
      '     Error: timed out after 120000 ms waiting for four echo pods Ready',
      '      at waitFor (localcloud/wait.ts:29:13)',
      '',
      '  2) "after all" hook: afterAll in "{root}":',
      '     \x1b[31mError: the test run left things behind:\x1b[0m',
      '  processes: none',
      '',
    ].join('\n');
    expect(failureHeadlines(output)).to.deep.equal([
      '1) cloud controller manager › serves a tenant Deployment behind a LoadBalancer Service: Error: timed out after 120000 ms waiting for four echo pods Ready',
      '2) "after all" hook: afterAll in "{root}": Error: the test run left things behind:',
    ]);
    expect(failureHeadlines('  3 passing (1m)\n')).to.deep.equal([]);
    expect(failureHeadlines(output, 20)[0]).to.have.length(20);
  });

  it('records a run\'s durations per file, summing its top-level suites, and keeps the ones it did not run', () => {
    const lines = ['{"file":"b.e2e.ts","seconds":30}', '{"file":"b.e2e.ts","seconds":12}', '{"file":"c.e2e.ts","seconds":5}', ''].join('\n');
    expect(mergeTimings({ 'a.e2e.ts': 100, 'b.e2e.ts': 1 }, lines)).to.deep.equal({ 'a.e2e.ts': 100, 'b.e2e.ts': 42, 'c.e2e.ts': 5 });
  });

  it("reads the machine's CPU time from /proc/stat, iowait as idle and guest time not twice", () => {
    const stat = 'cpu  100 5 50 800 20 3 2 0 40 0\ncpu0 50 2 25 400 10 1 1 0 20 0\nintr 1 2 3\n';
    expect(parseCpuTimes(stat)).to.deep.equal({ total: 980, idle: 820 });
    expect(() => parseCpuTimes('intr 1 2 3\n')).to.throw(/no aggregate cpu line/);
  });

  it('gives the busy share of the CPU between two readings', () => {
    expect(busyShare({ total: 1000, idle: 800 }, { total: 2000, idle: 1040 })).to.equal(0.76);
    expect(busyShare({ total: 1000, idle: 800 }, { total: 1000, idle: 800 }), 'no time passed').to.equal(0);
  });
});
