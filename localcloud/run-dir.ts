// One temporary directory per test run holds every plane's files, so teardown can prove that nothing of the
// run is left: no file, and no process whose command line points into it.
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

let root: string | undefined;

export function runDir(): string {
  root ??= mkdtempSync(join(tmpdir(), `kvcloud-e2e-${process.pid}-`));
  return root;
}

/** Processes on this machine whose command line mentions `path`, as `pid: cmdline`. */
export function processesReferencing(path: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue; // exited while we looked
    }
    if (cmdline.includes(path)) found.push(`${entry}: ${cmdline.slice(0, 200)}`);
  }
  return found;
}
