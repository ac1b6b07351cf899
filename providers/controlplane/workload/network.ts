// The tenant's address plan with Kamaji's defaults: Service and Pod CIDRs (the plural fields win over the
// deprecated singular ones), the DNS Service IP (the tenth address of the first Service CIDR, as kubeadm picks
// it), the kubernetes Service IP (the first), and the apiserver port.
import { isIP } from 'node:net';

export const DEFAULT_SERVICE_CIDR = '10.96.0.0/16';
export const DEFAULT_POD_CIDR = '10.244.0.0/16';
export const DEFAULT_API_PORT = 6443;
export const DEFAULT_CLUSTER_DOMAIN = 'cluster.local';

export interface NetworkProfileView {
  address?: string;
  advertiseAddress?: string;
  port?: number;
  clusterDomain?: string;
  serviceCidr?: string;
  podCidr?: string;
  serviceCidrs?: string[];
  podCidrs?: string[];
  dnsServiceIPs?: string[];
}

// Kamaji's Go types turn an absent string into "", so an empty value means "use the default" too.
function orDefault(value: string | undefined, fallback: string): string {
  return value !== undefined && value !== '' ? value : fallback;
}

export function serviceCIDRs(np: NetworkProfileView | undefined): string[] {
  if (np?.serviceCidrs?.length) return np.serviceCidrs;
  return [orDefault(np?.serviceCidr, DEFAULT_SERVICE_CIDR)];
}

export function podCIDRs(np: NetworkProfileView | undefined): string[] {
  if (np?.podCidrs?.length) return np.podCidrs;
  return [orDefault(np?.podCidr, DEFAULT_POD_CIDR)];
}

export function apiServerPort(np: NetworkProfileView | undefined): number {
  return np?.port ?? DEFAULT_API_PORT;
}

export function clusterDomain(np: NetworkProfileView | undefined): string {
  return orDefault(np?.clusterDomain, DEFAULT_CLUSTER_DOMAIN);
}

/** The address `offset` places after the network address of `cidr` (IPv4 or IPv6). */
export function addressInCIDR(cidr: string, offset: number): string {
  const [base = '', bitsText = ''] = cidr.split('/');
  const family = isIP(base);
  if (family === 0 || bitsText === '') throw new Error(`"${cidr}" is not a CIDR`);
  if (family === 4) {
    const n = base.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
    const bits = Number(bitsText);
    const network = bits === 0 ? 0 : Math.floor(n / 2 ** (32 - bits)) * 2 ** (32 - bits);
    const v = network + offset;
    return [24, 16, 8, 0].map((s) => Math.floor(v / 2 ** s) % 256).join('.');
  }
  const value = ipv6ToBigInt(base);
  const bits = BigInt(bitsText);
  const hostBits = 128n - bits;
  const network = (value >> hostBits) << hostBits;
  return bigIntToIPv6(network + BigInt(offset));
}

function ipv6ToBigInt(addr: string): bigint {
  const [head = '', tail] = addr.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((acc, g) => (acc << 16n) + BigInt(parseInt(g || '0', 16)), 0n);
}

function bigIntToIPv6(v: bigint): string {
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((v >> BigInt(i * 16)) & 0xffffn).toString(16));
  // Compress the longest run of zero groups, as the canonical text form does.
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

export function dnsServiceIPs(np: NetworkProfileView | undefined): string[] {
  if (np?.dnsServiceIPs?.length) return np.dnsServiceIPs;
  return [addressInCIDR(serviceCIDRs(np)[0] ?? DEFAULT_SERVICE_CIDR, 10)];
}

export function kubernetesServiceIP(np: NetworkProfileView | undefined): string {
  return addressInCIDR(serviceCIDRs(np)[0] ?? DEFAULT_SERVICE_CIDR, 1);
}
