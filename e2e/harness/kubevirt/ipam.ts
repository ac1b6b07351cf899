// A small IPv6 address pool for dual-stack VMIs: the pod network here is IPv4 only, so the second family of a
// VMI's interface comes from this pool. An address stays with its VMI (across migrations) until the VMI is gone,
// and a restarted simulator adopts what VMIs already report, so nothing is handed out twice.

function parseIPv6(ip: string): bigint {
  const [head = '', tail] = ip.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  const missing = 8 - left.length - right.length;
  if (missing < 0 || (tail === undefined && missing !== 0)) throw new Error(`"${ip}" is not an IPv6 address`);
  const all = [...left, ...Array<string>(missing).fill('0'), ...right];
  return all.reduce((n, g) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new Error(`"${ip}" is not an IPv6 address`);
    return (n << 16n) | BigInt(parseInt(g, 16));
  }, 0n);
}

function formatIPv6(n: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => ((n >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  // The longest run of zero groups becomes "::", as RFC 5952 writes addresses.
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i > 1) best = { start: i, len: j - i };
    i = j;
  }
  if (best.start < 0) return groups.join(':');
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.len).join(':')}`;
}

export class Ipv6Pool {
  private readonly base: bigint;
  private readonly size: bigint;
  private readonly byKey = new Map<string, bigint>();
  private readonly used = new Set<bigint>();
  private next = 1n;

  constructor(readonly cidr: string) {
    const [ip = '', bits = ''] = cidr.split('/');
    const prefix = Number(bits);
    if (!Number.isInteger(prefix) || prefix < 64 || prefix > 126) throw new Error(`"${cidr}": want an IPv6 CIDR with a prefix between /64 and /126`);
    this.size = 1n << BigInt(128 - prefix);
    this.base = parseIPv6(ip) & ~(this.size - 1n);
  }

  contains(ip: string): boolean {
    try {
      const n = parseIPv6(ip);
      return n >= this.base && n < this.base + this.size;
    } catch {
      return false;
    }
  }

  /** The address of `key` (a VMI UID), allocating one the first time. */
  addressFor(key: string): string {
    const known = this.byKey.get(key);
    if (known !== undefined) return formatIPv6(this.base + known);
    for (let tried = 0n; tried < this.size; tried++) {
      const offset = this.next;
      this.next = this.next + 1n >= this.size ? 1n : this.next + 1n;
      if (!this.used.has(offset)) {
        this.used.add(offset);
        this.byKey.set(key, offset);
        return formatIPv6(this.base + offset);
      }
    }
    throw new Error(`no free address left in ${this.cidr}`);
  }

  /** Records an address a VMI already reports (after a restart of the simulator). */
  adopt(key: string, ip: string): void {
    if (this.byKey.has(key) || !this.contains(ip)) return;
    const offset = parseIPv6(ip) - this.base;
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
