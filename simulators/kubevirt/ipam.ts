// A small IPv6 address pool for dual-stack VMIs: the pod network here is IPv4 only, so the second family of a
// VMI's interface comes from this pool. An address stays with its VMI (across migrations) until the VMI is gone,
// and a restarted simulator adopts what VMIs already report, so nothing is handed out twice.

import { cidrContains, cidrSize, formatIP, nthAddress, parseCIDR, parseIP, type CIDR } from '../../lib/net/ip.js';

export class Ipv6Pool {
  private readonly block: CIDR;
  private readonly size: bigint;
  private readonly byKey = new Map<string, bigint>();
  private readonly used = new Set<bigint>();
  private next = 1n;

  constructor(readonly cidr: string) {
    if (parseIP(cidr.split('/')[0] ?? '')?.family !== 6) throw new Error(`"${cidr}" is not an IPv6 address`);
    const block = parseCIDR(cidr);
    if (!block || block.prefix < 64 || block.prefix > 126) {
      throw new Error(`"${cidr}": want an IPv6 CIDR with a prefix between /64 and /126`);
    }
    this.block = block;
    this.size = cidrSize(block);
  }

  contains(ip: string): boolean {
    const address = parseIP(ip);
    return address !== undefined && cidrContains(this.block, address);
  }

  /** The address of `key` (a VMI UID), allocating one the first time. */
  addressFor(key: string): string {
    const known = this.byKey.get(key);
    if (known !== undefined) return formatIP(nthAddress(this.block, known));
    for (let tried = 0n; tried < this.size; tried++) {
      const offset = this.next;
      this.next = this.next + 1n >= this.size ? 1n : this.next + 1n;
      if (!this.used.has(offset)) {
        this.used.add(offset);
        this.byKey.set(key, offset);
        return formatIP(nthAddress(this.block, offset));
      }
    }
    throw new Error(`no free address left in ${this.cidr}`);
  }

  /** Records an address a VMI already reports (after a restart of the simulator). */
  adopt(key: string, ip: string): void {
    const address = parseIP(ip);
    if (this.byKey.has(key) || address === undefined || !cidrContains(this.block, address)) return;
    const offset = address.value - this.block.network;
    this.used.add(offset);
    this.byKey.set(key, offset);
  }

  release(key: string): void {
    const offset = this.byKey.get(key);
    if (offset === undefined) return;
    this.byKey.delete(key);
    this.used.delete(offset);
  }
}
