// The tenant pod network of one simulated VM, host-gw style: the VM's pods sit on a bridge inside the VM (the
// virt-launcher pod's network namespace) with addresses from the Node's spec.podCIDR, and the VM routes every other
// Node's podCIDR via that Node's address. The VMs are neighbours on the management pod bridge, so those routes need
// nothing from the management side. What does need it is traffic between tenant pods and management addresses
// (the reply from a management pod goes to the management node, which knows no tenant range): the management
// node sends the private ranges it does not own onto its bridge (localcloud/cluster/netns-init.sh) and each VM
// answers ARP for its own pod range there (proxy ARP), as a router on a shared LAN would.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { cidrContains, formatCIDR, formatIP, nthAddress, parseCIDR, parseIP } from '../../lib/net/ip.js';
import type { Node } from '../../localcloud/node-object.js';

const run = promisify(execFile);

/** The bridge the VM's pods join; kubenet's name for the same thing. */
export const POD_BRIDGE = 'cbr0';

export interface PodNetworkPlan {
  /** The Node's podCIDR, canonical. */
  cidr: string;
  /** The VM's address on the pod bridge (the range's first address): every pod's default route. */
  gateway: string;
  prefixLength: number;
}

export interface PodRoute {
  /** Another Node's podCIDR. */
  cidr: string;
  /** That Node's InternalIP. */
  via: string;
}

/** The bridge address and prefix for a Node's podCIDR; IPv4 only, as the management pod network is. */
export function podNetworkPlan(podCIDR: string): PodNetworkPlan {
  const block = parseCIDR(podCIDR);
  if (block?.family !== 4) throw new Error(`podCIDR "${podCIDR}" is not an IPv4 CIDR; the simulated VM's pod network is IPv4 only`);
  if (block.prefix > 30) throw new Error(`podCIDR "${podCIDR}" leaves no address for pods besides the bridge`);
  return { cidr: formatCIDR(block), gateway: formatIP(nthAddress(block, 1)), prefixLength: block.prefix };
}

/**
 * The routes a VM needs to every other Node's pods: one per Node that has a podCIDR and an InternalIP, except
 * itself and any range that holds the VM's own address (which would cut the VM off its own network).
 */
export function podRoutes(nodes: readonly Node[], self: string, ownAddress: string): PodRoute[] {
  const own = parseIP(ownAddress);
  const routes: PodRoute[] = [];
  for (const node of nodes) {
    if (node.metadata.name === self) continue;
    const cidr = node.spec?.podCIDR;
    const via = node.status?.addresses.find((a) => a.type === 'InternalIP')?.address;
    const block = cidr === undefined ? undefined : parseCIDR(cidr);
    if (!block || via === undefined || block.family !== 4) continue;
    if (own && cidrContains(block, own)) continue;
    routes.push({ cidr: formatCIDR(block), via });
  }
  return routes.sort((a, b) => (a.cidr < b.cidr ? -1 : a.cidr > b.cidr ? 1 : 0));
}

/** What to change to go from the routes installed to the routes wanted: replace changed ones, delete gone ones. */
export function routeChanges(installed: readonly PodRoute[], wanted: readonly PodRoute[]): { replace: PodRoute[]; remove: PodRoute[] } {
  const before = new Map(installed.map((r) => [r.cidr, r.via]));
  const after = new Set(wanted.map((r) => r.cidr));
  return {
    replace: wanted.filter((r) => before.get(r.cidr) !== r.via),
    remove: installed.filter((r) => !after.has(r.cidr)),
  };
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')}: ${stderr ?? (err as Error).message}`, { cause: err });
  }
}

async function sysctl(key: string, value: string): Promise<void> {
  try {
    await run('sysctl', ['-q', '-w', `${key}=${value}`]);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr?.trim();
    throw new Error(`sysctl ${key}=${value}: ${stderr ?? (err as Error).message}`, { cause: err });
  }
}

/** The VM's interface on the management network: the one its default route leaves by. */
async function uplink(): Promise<string> {
  const { stdout } = await run('ip', ['-o', 'route', 'show', 'default']);
  const dev = /\bdev (\S+)/.exec(stdout)?.[1];
  if (!dev) throw new Error('the VM has no default route: cannot tell its uplink for the pod network');
  return dev;
}

/**
 * Makes the pod bridge with the gateway address and turns the VM into its pods' router: forwarding on, and proxy
 * ARP (without delay) on the uplink so the management node can reach the pod range through this VM.
 */
export async function createPodBridge(plan: PodNetworkPlan): Promise<void> {
  await ip('link', 'add', POD_BRIDGE, 'type', 'bridge');
  await ip('addr', 'add', `${plan.gateway}/${plan.prefixLength}`, 'dev', POD_BRIDGE);
  await ip('link', 'set', POD_BRIDGE, 'up');
  const dev = await uplink();
  await sysctl('net.ipv4.ip_forward', '1');
  await sysctl(`net.ipv4.conf.${dev}.proxy_arp`, '1');
  await sysctl(`net.ipv4.neigh.${dev}.proxy_delay`, '0');
}

export async function deletePodBridge(): Promise<void> {
  await ip('link', 'del', POD_BRIDGE).catch((err: unknown) => {
    if (!(err as Error).message.includes('Cannot find device')) throw err;
  });
}

export async function replaceRoute(route: PodRoute): Promise<void> {
  await ip('route', 'replace', route.cidr, 'via', route.via);
}

export async function removeRoute(route: PodRoute): Promise<void> {
  await ip('route', 'del', route.cidr, 'via', route.via).catch((err: unknown) => {
    if (!/No such process|Cannot find/.test((err as Error).message)) throw err;
  });
}
