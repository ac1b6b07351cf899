// The addresses the service proxy listens on (ClusterIPs, load-balancer ingress IPs) as /32s on the cluster
// network namespace's service device, so the kernel accepts them as local and replies to connections on ports
// nobody serves with a reset, as kube-proxy's REJECT rules do. Only meaningful inside the cluster netns.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

/**
 * What `ip addr del` says of an address the device does not have: iproute2 6 with the kernel's extended ack (this
 * machine's) words it "Error: ipv4: Address not found.", older ones relay the errno.
 */
const ALREADY_REMOVED = ['Address not found', 'Cannot assign requested address'];

/** Runs `ip` with these arguments and returns its stdout; injectable so unit tests need no root. */
export type IpRunner = (args: readonly string[]) => Promise<string>;

const execFileAsync = promisify(execFile);

export const runIp: IpRunner = async (args) => (await execFileAsync('ip', [...args])).stdout;

export interface AddressDiff {
  add: string[];
  remove: string[];
}

export function diffAddresses(current: ReadonlySet<string>, desired: ReadonlySet<string>): AddressDiff {
  return {
    add: [...desired].filter((ip) => !current.has(ip)).sort(),
    remove: [...current].filter((ip) => !desired.has(ip)).sort(),
  };
}

function errorText(err: unknown): string {
  const stderr = (err as { stderr?: unknown }).stderr;
  if (typeof stderr === 'string' && stderr.trim() !== '') return stderr.trim();
  return err instanceof Error ? err.message : String(err);
}

export class ServiceDevice {
  private readonly current: Set<string>;

  private constructor(
    readonly name: string,
    private readonly ip: IpRunner,
    adopted: Iterable<string>,
  ) {
    this.current = new Set(adopted);
  }

  /**
   * Opens the device and adopts the /32s already on it: a proxy that crashed left them there, and the next one
   * owns them (keeps those still in use, removes the rest). Fails when the device does not exist, which means
   * the proxy is not running inside the cluster network namespace.
   */
  static async open(name: string, ip: IpRunner = runIp): Promise<ServiceDevice> {
    let listing: string;
    try {
      listing = await ip(['-o', '-4', 'addr', 'show', 'dev', name]);
    } catch (err) {
      throw new Error(
        `service device ${name}: ${errorText(err)} (the service proxy runs inside the cluster network namespace, ` +
          'which creates the device: see localcloud/cluster/topology.ts)',
        { cause: err },
      );
    }
    const adopted = [...listing.matchAll(/\binet (\d+\.\d+\.\d+\.\d+)\/32\b/g)].map((m) => m[1] ?? '');
    return new ServiceDevice(name, ip, adopted);
  }

  addresses(): ReadonlySet<string> {
    return this.current;
  }

  /** Adds each address not on the device yet. */
  async add(ips: Iterable<string>): Promise<void> {
    for (const address of ips) {
      if (this.current.has(address)) continue;
      // `replace` succeeds when the address is already there, so a retry after a partial failure is harmless.
      await this.run(['addr', 'replace', `${address}/32`, 'dev', this.name], `add ${address}`);
      this.current.add(address);
    }
  }

  /** Removes every address of ours that is not in `desired`. */
  async keepOnly(desired: ReadonlySet<string>): Promise<void> {
    for (const address of diffAddresses(this.current, desired).remove) {
      try {
        await this.run(['addr', 'del', `${address}/32`, 'dev', this.name], `remove ${address}`);
      } catch (err) {
        // Someone removed it already; what we wanted holds.
        if (!ALREADY_REMOVED.some((text) => errorText(err).includes(text))) throw err;
      }
      this.current.delete(address);
    }
  }

  async clear(): Promise<void> {
    await this.keepOnly(new Set());
  }

  private async run(args: string[], what: string): Promise<void> {
    try {
      await this.ip(args);
    } catch (err) {
      throw new Error(`service device ${this.name}: ${what}: ${errorText(err)}`, { cause: err });
    }
  }
}
