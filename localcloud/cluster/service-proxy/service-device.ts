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
  // One change at a time, in call order, each working out what to do from what the device holds when its turn
  // comes. Overlapping changes corrupted the record: two removals of one address both ran `ip addr del`, an add
  // of the same address slipped in between, and the late 'Address not found' of the second removal then struck
  // the address from the record while the kernel held it, so it stayed on the device for good.
  private queue: Promise<unknown> = Promise.resolve();

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

  /** Adds each address not on the device yet, after the changes asked for before. */
  add(ips: Iterable<string>): Promise<void> {
    const wanted = [...ips];
    return this.serially(async () => {
      for (const address of wanted) {
        if (this.current.has(address)) continue;
        // `replace` succeeds when the address is already there, so a retry after a partial failure is harmless.
        await this.run(['addr', 'replace', `${address}/32`, 'dev', this.name], `add ${address}`);
        this.current.add(address);
      }
    });
  }

  /** Removes every address of ours that is not in `desired`, after the changes asked for before. */
  keepOnly(desired: ReadonlySet<string>): Promise<void> {
    const kept = new Set(desired);
    return this.serially(async () => {
      for (const address of diffAddresses(this.current, kept).remove) {
        try {
          await this.run(['addr', 'del', `${address}/32`, 'dev', this.name], `remove ${address}`);
        } catch (err) {
          // Someone else removed it; what we wanted holds.
          if (!ALREADY_REMOVED.some((text) => errorText(err).includes(text))) throw err;
        }
        this.current.delete(address);
      }
    });
  }

  async clear(): Promise<void> {
    await this.keepOnly(new Set());
  }

  /** Runs `change` once every change asked for before has finished, failed or not. */
  private serially(change: () => Promise<void>): Promise<void> {
    const run = this.queue.then(change);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async run(args: string[], what: string): Promise<void> {
    try {
      await this.ip(args);
    } catch (err) {
      throw new Error(`service device ${this.name}: ${what}: ${errorText(err)}`, { cause: err });
    }
  }
}
