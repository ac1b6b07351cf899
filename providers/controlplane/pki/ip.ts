// The in-tenant `kubernetes` Service IP the apiserver certificate must carry as a SAN.
import { formatIP, parseCIDR } from '../../../lib/net/ip.js';

/** The first address after the network address of a CIDR: what kube-apiserver allocates to the `kubernetes` Service. */
export function firstAddress(cidr: string): string {
  const block = parseCIDR(cidr);
  if (!block) throw new Error(`not a CIDR: ${cidr}`);
  // Not range-checked like nthAddress (a /32 yields the next address): planning must not throw on an admitted CIDR.
  return formatIP({ family: block.family, value: block.network + 1n });
}
