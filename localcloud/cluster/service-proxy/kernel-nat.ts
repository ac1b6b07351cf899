// Kernel NAT for the Service addresses that must keep their clients' source address: NodePorts, load-balancer IPs
// and externalIPs under externalTrafficPolicy Local. A userspace forwarder opens its own connection to the
// endpoint, so the pod would see the proxy; iptables DNAT rules rewrite only the destination, as kube-proxy's do,
// and replies are translated back by the same conntrack entry. There is no SNAT except where a reply could not
// come back otherwise: a connection an endpoint makes to its own Service that lands on itself (kube-proxy's
// hairpin rule), and one whose source is the Service address itself. The second is ours: the load-balancer IPs
// are local addresses of the namespace that serves them, so a client there without an address of its own sends
// from the LB IP, which the VM behind it also holds (its kube-proxy serves the tenant's ingress IPs).
//
// Replies must pass the host that translated: clients routed through it are, and clients on the same bridge as
// the endpoint (a management pod and a VM on kvbr0, two pods on a VM's cbr0) are too through br_netfilter, whose
// net.bridge.bridge-nf-call-iptables is on in every new network namespace, as kube-proxy needs it on any bridge.
//
// Each proxy owns the nat-table chains named after its service device (several clusters may share one namespace):
//   KVC-<dev>-SERVICES     jumped to from PREROUTING and OUTPUT: one rule per translated address -> its F chain
//   KVC-<dev>-F<hash>      one per address: the mark for a source that is the address itself, then an endpoint
//                          chosen at random (sessionAffinity ClientIP first)
//   KVC-<dev>-E<hash>      one per address and endpoint: the hairpin mark, then DNAT
//   KVC-<dev>-POSTROUTING  jumped to from POSTROUTING: masquerades what was marked
// Every change rewrites them in one iptables-restore transaction, so no packet sees half a Service.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import type { Endpoint } from './endpoint-selection.js';

export interface NatFrontend {
  /** "namespace/name", written into the rule's comment. */
  service: string;
  protocol: 'TCP' | 'UDP';
  ip: string;
  port: number;
  /** At least one: an address without endpoints gets no rule, so the kernel refuses it as before. */
  endpoints: readonly Endpoint[];
  /** Set when spec.sessionAffinity is ClientIP. */
  affinityTimeoutMs?: number | undefined;
}

/** Runs iptables-save or iptables-restore with `input` on stdin and returns stdout; injectable for unit tests. */
export type IptablesRunner = (program: 'iptables-save' | 'iptables-restore', args: readonly string[], input?: string) => Promise<string>;

export const IPTABLES_MISSING =
  "iptables is not installed: the local cloud's service proxy programs kernel NAT with it, so that Services with " +
  'externalTrafficPolicy Local keep the client address. Install the iptables package (Debian/Ubuntu: ' +
  '`apt-get install -y iptables`)';

export const runIptables: IptablesRunner = (program, args, input) =>
  new Promise((resolve, reject) => {
    const child = execFile(program, [...args], { encoding: 'utf8' }, (err, stdout, stderr) => {
      if (!err) {
        resolve(stdout);
        return;
      }
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') reject(new Error(IPTABLES_MISSING, { cause: err }));
      else reject(new Error(`${program}: ${stderr.trim() || err.message}`, { cause: err }));
    });
    // iptables-save reads no input and may be gone before the pipe closes; its exit status tells what happened.
    child.stdin?.on('error', () => undefined);
    if (input === undefined) child.stdin?.end();
    else child.stdin?.end(input);
  });

// The mark bit kube-proxy uses for "masquerade this": the proxies of one namespace share its meaning.
const MASQUERADE_MARK = '0x4000/0x4000';
// iptables allows 28 characters for a chain name; the longest of ours adds 16 to the device name.
const MAX_DEVICE_LENGTH = 12;
/** Built-in chains and the chain of ours each one jumps to. */
type Jump = readonly ['PREROUTING' | 'OUTPUT' | 'POSTROUTING', string];

export class NatChains {
  readonly prefix: string;
  readonly services: string;
  readonly postrouting: string;
  readonly jumps: readonly Jump[];
  readonly comment: string;

  constructor(device: string) {
    if (device.length > MAX_DEVICE_LENGTH || !/^[A-Za-z0-9_.-]+$/.test(device)) {
      throw new Error(`kernel NAT: service device "${device}" cannot name iptables chains (at most ${MAX_DEVICE_LENGTH} characters of letters, digits, '_', '.', '-')`);
    }
    this.prefix = `KVC-${device}-`;
    this.services = `${this.prefix}SERVICES`;
    this.postrouting = `${this.prefix}POSTROUTING`;
    this.jumps = [
      ['PREROUTING', this.services],
      ['OUTPUT', this.services],
      ['POSTROUTING', this.postrouting],
    ];
    this.comment = `kvcloud service proxy ${device}`;
  }

  frontend(f: NatFrontend): string {
    return `${this.prefix}F${hash(`${f.protocol} ${f.ip}:${String(f.port)}`)}`;
  }

  endpoint(f: NatFrontend, e: Endpoint): string {
    return `${this.prefix}E${hash(`${f.protocol} ${f.ip}:${String(f.port)} ${e.ip}:${String(e.port)}`)}`;
  }

  jumpRule(verb: '-A' | '-I' | '-D', [builtin, target]: Jump): string {
    return `${verb} ${builtin} -m comment --comment "${this.comment}" -j ${target}`;
  }
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 10);
}

/** The chains of one sync and their rules, in a stable order; pure, so the rule shapes have table tests. */
export function natRules(chains: NatChains, frontends: readonly NatFrontend[]): { chains: string[]; rules: string[] } {
  const names: string[] = [];
  const rules: string[] = [];
  const ordered = [...frontends].sort((a, b) => addressOf(a).localeCompare(addressOf(b), 'en', { numeric: true }));
  for (const f of ordered) {
    const proto = f.protocol.toLowerCase();
    const fChain = chains.frontend(f);
    names.push(fChain);
    rules.push(`-A ${chains.services} -d ${f.ip}/32 -p ${proto} -m ${proto} --dport ${String(f.port)} -m comment --comment "${f.service}" -j ${fChain}`);
    const eChains = f.endpoints.map((e) => chains.endpoint(f, e));
    names.push(...eChains);
    rules.push(`-A ${fChain} -s ${f.ip}/32 -j MARK --set-xmark ${MASQUERADE_MARK}`);
    const seconds = f.affinityTimeoutMs === undefined ? undefined : Math.max(1, Math.round(f.affinityTimeoutMs / 1000));
    // A client seen within the affinity timeout goes back to its endpoint; the recent list is named after it.
    if (seconds !== undefined) for (const e of eChains) rules.push(`-A ${fChain} -m recent --name ${e} --rcheck --seconds ${String(seconds)} --reap -j ${e}`);
    // Endpoint i of n is taken with probability 1/(n-i) of what reaches it: uniform over all n.
    eChains.forEach((e, i) => {
      const left = eChains.length - i;
      rules.push(left > 1 ? `-A ${fChain} -m statistic --mode random --probability ${(1 / left).toFixed(10)} -j ${e}` : `-A ${fChain} -j ${e}`);
    });
    f.endpoints.forEach((e, i) => {
      const eChain = eChains[i] ?? '';
      const remember = seconds === undefined ? '' : ` -m recent --name ${eChain} --set`;
      rules.push(`-A ${eChain} -s ${e.ip}/32 -j MARK --set-xmark ${MASQUERADE_MARK}`);
      rules.push(`-A ${eChain} -p ${proto}${remember} -m ${proto} -j DNAT --to-destination ${e.ip}:${String(e.port)}`);
    });
  }
  return { chains: names, rules };
}

function addressOf(f: NatFrontend): string {
  return `${f.ip}:${String(f.port)}/${f.protocol}`;
}

/** The chains of ours and the jumps into them that an iptables-save of the nat table shows. */
export function ownedRules(chains: NatChains, saved: string): { chains: string[]; jumps: string[] } {
  const lines = saved.split('\n');
  const owned = lines.flatMap((l) => (l.startsWith(`:${chains.prefix}`) ? [l.slice(1).split(' ')[0] ?? ''] : []));
  const jumps = lines.filter((l) => /^-A (PREROUTING|OUTPUT|POSTROUTING) /.test(l) && owned.some((c) => l.endsWith(` -j ${c}`)));
  return { chains: owned, jumps };
}

const transaction = (lines: readonly string[]): string => ['*nat', ...lines, 'COMMIT', ''].join('\n');
const declare = (chain: string): string => `:${chain} - [0:0]`;

// iptables-nft commits a whole table at once; two proxies of one process (two clusters) take turns.
let turn: Promise<unknown> = Promise.resolve();
function inTurn<T>(work: () => Promise<T>): Promise<T> {
  const result = turn.then(work, work);
  turn = result.catch(() => undefined);
  return result;
}

export class KernelNat {
  private synced: { text: string; chains: string[] } = { text: '', chains: [] };
  private addresses: string[] = [];

  private constructor(
    private readonly chains: NatChains,
    private readonly run: IptablesRunner,
  ) {}

  /**
   * Takes over this device's chains: whatever a crashed proxy left is removed, the top chains are created empty
   * and the built-in chains jump to them. Fails naming the package when iptables is missing.
   */
  static async open(device: string, run: IptablesRunner = runIptables): Promise<KernelNat> {
    const nat = new KernelNat(new NatChains(device), run);
    await inTurn(async () => {
      const { chains } = nat;
      const found = ownedRules(chains, await run('iptables-save', ['-t', 'nat']));
      const stale = found.chains.filter((c) => c !== chains.services && c !== chains.postrouting);
      const missing = chains.jumps.filter((j) => !found.jumps.includes(chains.jumpRule('-A', j)));
      await run(
        'iptables-restore',
        ['--noflush'],
        transaction([
          ...[chains.services, chains.postrouting, ...stale].map(declare),
          ...stale.map((c) => `-X ${c}`),
          ...missing.map((j) => chains.jumpRule('-I', j)),
          `-A ${chains.postrouting} -m mark --mark ${MASQUERADE_MARK} -j MASQUERADE`,
        ]),
      );
    });
    return nat;
  }

  /** The translated addresses ("TCP 10.255.255.1:80"), for tests and status output. */
  translated(): string[] {
    return [...this.addresses];
  }

  /** Makes the rules exactly `frontends`; does nothing when they are what the last sync wrote. */
  async sync(frontends: readonly NatFrontend[]): Promise<void> {
    const { chains, rules } = natRules(this.chains, frontends);
    const text = [...chains, '|', ...rules].join('\n');
    if (text === this.synced.text) return;
    const wanted = new Set(chains);
    const stale = this.synced.chains.filter((c) => !wanted.has(c));
    await inTurn(() =>
      this.run(
        'iptables-restore',
        ['--noflush'],
        transaction([declare(this.chains.services), ...chains.map(declare), ...stale.map(declare), ...rules, ...stale.map((c) => `-X ${c}`)]),
      ),
    );
    this.synced = { text, chains };
    this.addresses = frontends.map((f) => `${f.protocol} ${f.ip}:${String(f.port)}`).sort();
  }

  /** Removes every rule and chain of this device's proxy, the jumps into them first. */
  async close(): Promise<void> {
    await inTurn(async () => {
      const found = ownedRules(this.chains, await this.run('iptables-save', ['-t', 'nat']));
      if (found.chains.length === 0) return;
      await this.run(
        'iptables-restore',
        ['--noflush'],
        transaction([...found.jumps.map((j) => `-D${j.slice(2)}`), ...found.chains.map(declare), ...found.chains.map((c) => `-X ${c}`)]),
      );
    });
    this.synced = { text: '', chains: [] };
    this.addresses = [];
  }
}
