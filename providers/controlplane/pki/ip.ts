// IPv4/IPv6 address arithmetic the PKI needs: the first address of a Service CIDR (the in-tenant `kubernetes`
// Service IP) and a canonical form for comparing IP SANs however they were written.
import { isIP, isIPv4 } from 'node:net';

function toBigInt(ip: string): bigint {
  if (isIPv4(ip)) return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
  const [head = '', tail] = ip.split('::');
  const groups = (s: string) => (s === '' ? [] : s.split(':'));
  const left = groups(head);
  const right = tail === undefined ? [] : groups(tail);
  // An embedded IPv4 tail (::ffff:1.2.3.4) counts as two groups.
  const expand = (gs: string[]) =>
    gs.flatMap((g) => (isIPv4(g) ? [(toBigInt(g) >> 16n).toString(16), (toBigInt(g) & 0xffffn).toString(16)] : [g]));
  const l = expand(left);
  const r = expand(right);
  const all = tail === undefined ? l : [...l, ...Array<string>(8 - l.length - r.length).fill('0'), ...r];
  return all.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

function fromBigInt(value: bigint, v4: boolean): string {
  if (v4) return [24n, 16n, 8n, 0n].map((s) => String((value >> s) & 0xffn)).join('.');
  const groups = Array.from({ length: 8 }, (_, i) => ((value >> BigInt((7 - i) * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups, as RFC 5952 writes it.
  let best = { start: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (groups[i] !== '0') { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === '0') j++;
    if (j - i > best.len && j - i > 1) best = { start: i, len: j - i };
    i = j;
  }
  if (best.start < 0) return groups.join(':');
  return `${groups.slice(0, best.start).join(':')}::${groups.slice(best.start + best.len).join(':')}`;
}

/** The canonical text of an IP address (IPv6 compressed, lowercase), or undefined when `s` is no IP. */
export function canonicalIP(s: string): string | undefined {
  const family = isIP(s);
  if (family === 0) return undefined;
  return fromBigInt(toBigInt(s), family === 4);
}

/** The first usable address of a CIDR: what kube-apiserver allocates to the `kubernetes` Service. */
export function firstAddress(cidr: string): string {
  const [ip = '', bitsText] = cidr.split('/');
  const v4 = isIPv4(ip);
  if (isIP(ip) === 0 || bitsText === undefined) throw new Error(`not a CIDR: ${cidr}`);
  const width = v4 ? 32n : 128n;
  const hostBits = width - BigInt(Number(bitsText));
  const network = (toBigInt(ip) >> hostBits) << hostBits;
  return fromBigInt(network + 1n, v4);
}
