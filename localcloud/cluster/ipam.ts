// Pod IP addresses from POD_CIDR. One allocator per process, because every cluster a test run starts shares
// the run's one bridge, so two clusters must never hand out the same address. Addresses are handed out
// round-robin, so a released address is reused as late as possible, as host-local IPAM does, and a client still
// talking to a deleted pod does not reach its successor.
import { cidrSize, formatIP, parseCIDR as parseIPCIDR, parseIP } from '../../lib/net/ip.js';
import { NODE_IP, POD_CIDR } from './topology.js';

function toNumber(ip: string): number {
  const address = parseIP(ip);
  if (address?.family !== 4) throw new Error(`"${ip}" is not an IPv4 address`);
  return Number(address.value);
}

const toAddress = (n: number): string => formatIP({ family: 4, value: BigInt(n) });

export function parseCIDR(cidr: string): { base: number; prefix: number; size: number } {
  const block = parseIPCIDR(cidr);
  if (block?.family !== 4) throw new Error(`"${cidr}" is not an IPv4 CIDR`);
  return { base: Number(block.network), prefix: block.prefix, size: Number(cidrSize(block)) };
}

export class Ipam {
  private readonly base: number;
  private readonly size: number;
  private readonly used = new Set<number>();
  private next = 1;

  constructor(cidr: string, reserved: string[] = []) {
    ({ base: this.base, size: this.size } = parseCIDR(cidr));
    for (const ip of reserved) this.used.add(toNumber(ip) - this.base);
  }

  /** A free address; the network and broadcast addresses are never handed out. */
  allocate(): string {
    for (let tried = 0; tried < this.size; tried++) {
      const offset = this.next;
      this.next = this.next + 1 >= this.size - 1 ? 1 : this.next + 1;
      if (!this.used.has(offset)) {
        this.used.add(offset);
        return toAddress(this.base + offset);
      }
    }
    throw new Error(`no free address left in ${toAddress(this.base)}/${32 - Math.log2(this.size)}`);
  }

  release(ip: string): void {
    this.used.delete(toNumber(ip) - this.base);
  }

  get allocated(): number {
    return this.used.size;
  }
}

export const podIpam = new Ipam(POD_CIDR, [NODE_IP]);
