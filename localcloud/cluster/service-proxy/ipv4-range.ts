// IPv4 addresses as numbers and CIDR ranges as the addresses they hand out: what the load-balancer pool
// allocates from and what tells our addresses from anyone else's.
import { formatIP, parseCIDR, parseIP } from '../../../lib/net/ip.js';

/** The address as an unsigned 32-bit number, or undefined when `text` is not a dotted-quad IPv4 address. */
export function parseIPv4(text: string): number | undefined {
  const address = parseIP(text);
  return address?.family === 4 ? Number(address.value) : undefined;
}

export function formatIPv4(value: number): string {
  return formatIP({ family: 4, value: BigInt(value) });
}

export class IPv4Range {
  private constructor(
    readonly cidr: string,
    private readonly network: number,
    private readonly prefix: number,
  ) {}

  static parse(cidr: string): IPv4Range {
    const block = parseCIDR(cidr);
    if (block?.family !== 4) throw new Error(`"${cidr}" is not an IPv4 CIDR such as 10.255.255.0/24`);
    return new IPv4Range(cidr, Number(block.network), block.prefix);
  }

  get size(): number {
    return 2 ** (32 - this.prefix);
  }

  contains(ip: string): boolean {
    const value = parseIPv4(ip);
    return value !== undefined && value >= this.network && value < this.network + this.size;
  }

  /**
   * The addresses a pool may hand out, lowest first. The network and broadcast addresses of ranges larger than
   * a /31 are left out: some clients and routers treat them specially, which is the bug MetalLB's avoidBuggyIPs
   * works around.
   */
  *hosts(): Generator<string> {
    const skipEnds = this.prefix < 31;
    const first = this.network + (skipEnds ? 1 : 0);
    const last = this.network + this.size - (skipEnds ? 2 : 1);
    for (let value = first; value <= last; value++) yield formatIPv4(value);
  }
}
