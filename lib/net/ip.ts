// IP addresses and CIDR blocks of both families as numbers, for address plans, IP SANs and address pools.
// Parsing accepts what Node's net.isIP accepts (no leading zeros in IPv4 octets, IPv6 with "::" and an
// embedded IPv4 tail); formatting writes the canonical text: dotted quad, or lowercase IPv6 with the longest
// run of two or more zero groups compressed to "::" (RFC 5952).
import { isIP } from 'node:net';

export type IPFamily = 4 | 6;

export interface IPAddress {
  readonly family: IPFamily;
  readonly value: bigint;
}

/** A block of addresses; `network` has its host bits cleared. */
export interface CIDR {
  readonly family: IPFamily;
  readonly network: bigint;
  readonly prefix: number;
}

const WIDTH: Record<IPFamily, number> = { 4: 32, 6: 128 };

function ipv4Value(text: string): bigint {
  return text.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(Number(octet)), 0n);
}

function ipv6Value(text: string): bigint {
  const [head = '', tail] = text.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  // An embedded IPv4 tail (::ffff:1.2.3.4) stands for the last two groups.
  const expand = (gs: string[]) =>
    gs.flatMap((g) => {
      if (!g.includes('.')) return [g];
      const v4 = ipv4Value(g);
      return [(v4 >> 16n).toString(16), (v4 & 0xffffn).toString(16)];
    });
  const left = expand(groups(head));
  const right = tail === undefined ? [] : expand(groups(tail));
  const all = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** The address `text` holds, or undefined when it is none. A zone index (fe80::1%eth0) is not part of the number. */
export function parseIP(text: string): IPAddress | undefined {
  const family = isIP(text);
  if (family === 4) return { family, value: ipv4Value(text) };
  if (family === 6) return { family, value: ipv6Value(text.split('%')[0] ?? '') };
  return undefined;
}

/** The family of `text` as an address, or undefined when it is none. */
export function ipFamily(text: string): IPFamily | undefined {
  return parseIP(text)?.family;
}

export function formatIP(address: IPAddress): string {
  const { family, value } = address;
  if (family === 4) return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
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

/** The canonical text of an address, so that two spellings of one address compare equal; undefined for no address. */
export function canonicalIP(text: string): string | undefined {
  const address = parseIP(text);
  return address && formatIP(address);
}

/** The block `text` (address/prefix) names, host bits cleared; undefined when it is no CIDR. */
export function parseCIDR(text: string): CIDR | undefined {
  const [addressText = '', prefixText, ...rest] = text.split('/');
  const address = parseIP(addressText);
  if (!address || prefixText === undefined || rest.length > 0 || !/^\d{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (prefix > WIDTH[address.family]) return undefined;
  const hostBits = BigInt(WIDTH[address.family] - prefix);
  return { family: address.family, network: (address.value >> hostBits) << hostBits, prefix };
}

/** How many addresses the block holds, network and broadcast addresses included. */
export function cidrSize(cidr: CIDR): bigint {
  return 1n << BigInt(WIDTH[cidr.family] - cidr.prefix);
}

export function cidrContains(cidr: CIDR, address: IPAddress): boolean {
  return address.family === cidr.family && address.value >= cidr.network && address.value < cidr.network + cidrSize(cidr);
}

/** The address `n` places after the network address; throws when that lies outside the block. */
export function nthAddress(cidr: CIDR, n: bigint | number): IPAddress {
  const offset = BigInt(n);
  if (offset < 0n || offset >= cidrSize(cidr)) {
    throw new RangeError(`${formatCIDR(cidr)} has no address at offset ${offset.toString()}`);
  }
  return { family: cidr.family, value: cidr.network + offset };
}

export function formatCIDR(cidr: CIDR): string {
  return `${formatIP({ family: cidr.family, value: cidr.network })}/${String(cidr.prefix)}`;
}
