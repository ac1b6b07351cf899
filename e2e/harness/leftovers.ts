// What a stopped local cloud must not leave behind, read from the kernel: the namespaces processes are in and the
// mount table. Suites take a baseline before they start something and compare after it has stopped.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** Every namespace some process on this machine is in (net, pid, mnt), as the kernel names them. */
export function namespaces(): Set<string> {
  const out = new Set<string>();
  for (const pid of readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    for (const kind of ['net', 'pid', 'mnt']) {
      try {
        out.add(readlinkSync(`/proc/${pid}/ns/${kind}`));
      } catch {
        // exited while we looked
      }
    }
  }
  return out;
}

/** This process's mount table, one line a mount. */
export const mounts = (): string[] => readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n');
