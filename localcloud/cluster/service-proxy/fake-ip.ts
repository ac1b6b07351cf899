// An in-memory `ip` for unit tests of everything that manages service-device addresses: no root, no netns.
import type { IpRunner } from './service-device.js';

/** An `ip` that keeps one device's addresses in memory and records every call. */
export class FakeIp {
  readonly calls: string[] = [];
  readonly addresses = new Set<string>();
  constructor(
    readonly device: string,
    initial: string[] = [],
  ) {
    for (const a of initial) this.addresses.add(a);
  }

  readonly run: IpRunner = (args) => {
    this.calls.push(args.join(' '));
    const dev = args.at(-1) ?? '';
    if (dev !== this.device) return Promise.reject(ipFailure(`Device "${dev}" does not exist.`));
    if (args[0] === '-o') {
      // -o -4 addr show dev <name>: one line per address
      return Promise.resolve([...this.addresses].map((a) => `2: ${dev}    inet ${a} scope global ${dev}\\       valid_lft forever`).join('\n'));
    }
    const [, verb, cidr = ''] = args; // addr replace|del <cidr> dev <name>
    if (verb === 'replace') this.addresses.add(cidr);
    else if (!this.addresses.delete(cidr)) return Promise.reject(ipFailure('Error: ipv4: Address not found.'));
    return Promise.resolve('');
  };
}

/** What execFile rejects with when `ip` exits non-zero. */
export function ipFailure(stderr: string): Error {
  return Object.assign(new Error('Command failed: ip'), { stderr: `${stderr}\n` });
}
