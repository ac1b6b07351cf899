// Benchmark: what starting one of kvcloud's programs costs, compiled (how the local cloud runs them now, and how they
// ship) against the same program's TypeScript through tsx (how the local cloud ran them before), in one run. The local
// cloud starts one per VM (the guest), one per tenant node (kube-proxy) and one per operator, manager and CCM pod,
// hundreds in a `make test`. Each start runs the program up to its first line of argument parsing, given an
// unknown flag, so it measures loading the program's whole import graph, which is what differs. Prints the medians
// of wall time, CPU time (user + system, read from the child's /proc/<pid>/stat as it exits) and peak RSS, and the
// ratios compiled/tsx.
// Run: tsx bench/program-start.ts [starts=10]
import { spawn } from 'node:child_process';
import { compiledMain } from '../packaging/compiled-js.js';

const STARTS = Number(process.argv[2] ?? 10);
const PROGRAMS = ['simulators/guest/main.ts', 'localcloud/cluster/service-proxy/kube-proxy.ts', 'providers/controlplane/main.ts', 'ccm/main.ts'];
const tsx = import.meta.resolve('tsx');

interface Sample {
  wallMs: number;
  cpuMs: number;
  rssKiB: number;
}

/** Runs argv under /usr/bin/time, which reports the child's CPU and peak RSS once it has exited. */
function start(argv: string[]): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const t = performance.now();
    const child = spawn('/usr/bin/time', ['-f', '%U %S %M', ...argv, '--kvcloud-bench-unknown-flag'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', () => {
      const last = stderr.trim().split('\n').pop() ?? '';
      const [user, sys, rss] = last.split(' ').map(Number);
      if (user === undefined || sys === undefined || rss === undefined || [user, sys, rss].some(Number.isNaN)) {
        reject(new Error(`${argv.join(' ')}: no timing in its output: ${stderr.slice(-400)}`));
        return;
      }
      resolve({ wallMs: performance.now() - t, cpuMs: (user + sys) * 1000, rssKiB: rss });
    });
  });
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
};

console.log(`program start, median of ${String(STARTS)} (compiled vs tsx, alternating)`);
console.log('program'.padEnd(50), 'wall ms (ratio)'.padEnd(24), 'CPU ms (ratio)'.padEnd(24), 'RSS MiB (ratio)');
for (const program of PROGRAMS) {
  const compiled: Sample[] = [];
  const transpiled: Sample[] = [];
  // Alternate, so a slow moment of the machine falls on both alike.
  for (let i = 0; i < STARTS; i++) {
    compiled.push(await start([process.execPath, compiledMain(program)]));
    transpiled.push(await start([process.execPath, '--import', tsx, program]));
  }
  const row = (pick: (s: Sample) => number, scale = 1): string => {
    const a = median(compiled.map(pick)) / scale;
    const b = median(transpiled.map(pick)) / scale;
    return `${a.toFixed(0)} / ${b.toFixed(0)} (${(a / b).toFixed(2)})`.padEnd(24);
  };
  console.log(program.padEnd(50), row((s) => s.wallMs), row((s) => s.cpuMs), row((s) => s.rssKiB, 1024));
}
