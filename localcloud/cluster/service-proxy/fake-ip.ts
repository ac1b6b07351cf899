// An in-memory `ip` for unit tests of everything that manages service-device addresses: no root, no netns.
import type { IpRunner } from './service-device.js';

/**
 * An `ip` that keeps one device's addresses in memory and records every call. The change happens when `ip` is
 * called; `answerAfterMs` delays the answer, as a real `ip` on a busy machine exits some time after the kernel
 * has acted, so that answers of overlapping calls can arrive in another order than their changes happened.
 */
export class FakeIp {
  readonly calls: string[] = [];
  readonly addresses = new Set<string>();
  constructor(
    readonly device: string,
    initial: string[] = [],
    private readonly answerAfterMs: (args: readonly string[]) => number = () => 0,
  ) {
    for (const a of initial) this.addresses.add(a);
  }

  readonly run: IpRunner = async (args) => {
    let answer: () => string;
    try {
      const stdout = this.act(args);
      answer = () => stdout;
    } catch (err) {
      answer = () => {
        throw err;
      };
    }
    const ms = this.answerAfterMs(args);
    if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms));
    return answer();
  };

  /** Changes the addresses as `ip` would, returning its stdout or throwing its failure. */
  private act(args: readonly string[]): string {
    this.calls.push(args.join(' '));
    const dev = args.at(-1) ?? '';
    if (dev !== this.device) throw ipFailure(`Device "${dev}" does not exist.`);
    if (args[0] === '-o') {
      // -o -4 addr show dev <name>: one line per address
      return [...this.addresses].map((a) => `2: ${dev}    inet ${a} scope global ${dev}\\       valid_lft forever`).join('\n');
    }
    const [, verb, cidr = ''] = args; // addr replace|del <cidr> dev <name>
    if (verb === 'replace') this.addresses.add(cidr);
    else if (!this.addresses.delete(cidr)) throw ipFailure('Error: ipv4: Address not found.');
    return '';
  }
}

/** What execFile rejects with when `ip` exits non-zero. */
export function ipFailure(stderr: string): Error {
  return Object.assign(new Error('Command failed: ip'), { stderr: `${stderr}\n` });
}
