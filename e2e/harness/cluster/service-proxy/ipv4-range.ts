// IPv4 addresses as numbers and CIDR ranges as the addresses they hand out: what the load-balancer pool
// allocates from and what tells our addresses from anyone else's.

/** The address as an unsigned 32-bit number, or undefined when `text` is not a dotted-quad IPv4 address. */
export function parseIPv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIPv4(value: number): string {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

export class IPv4Range {
  private constructor(
    readonly cidr: string,
    private readonly network: number,
    private readonly prefix: number,
  ) {}

  static parse(cidr: string): IPv4Range {
    const [address = '', prefixText = ''] = cidr.split('/');
    const base = parseIPv4(address);
    const prefix = Number(prefixText);
    if (base === undefined || !/^\d{1,2}$/.test(prefixText) || prefix > 32) {
      throw new Error(`"${cidr}" is not an IPv4 CIDR such as 10.255.255.0/24`);
    }
    const size = 2 ** (32 - prefix);
    return new IPv4Range(cidr, base - (base % size), prefix);
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
