// The service proxy's data plane: for each Service, the forwarders on its addresses and the pickers choosing
// its endpoints, the kernel NAT rules of the addresses that must keep the client's source address
// (externalTrafficPolicy Local, see kernel-nat.ts), plus the service-device addresses all Services together need.
// Applying a Service adds addresses before serving them and stops serving before removing them; forwarders that
// stay only get new endpoints, so connections in flight never notice an update, and an address moving between a
// forwarder and the kernel is served by the new one before the old one goes. A retired TCP forwarder's address
// stays on the service device while its connections drain: conntrack keeps translating established flows after
// kube-proxy has dropped a Service's rules, whereas an address gone from the device makes the kernel drop the
// peers' packets, so their connections would hang unanswered (no FIN, no reset) until a health check gave up. The
// drain is bounded (DRAIN_LIMITS), so no connection holds an address for long.
import type { Logger } from 'pino';
import { EndpointPicker } from './endpoint-picker.js';
import type { Endpoint } from './endpoint-selection.js';
import { forwarderAddress, type DrainLimits, type Forwarder } from './forwarder.js';
import { keepsClientAddress, type Frontend, type PortFrontends } from './frontends.js';
import type { KernelNat, NatFrontend } from './kernel-nat.js';
import type { ProxyMetrics } from './proxy-metrics.js';
import type { ServiceDevice } from './service-device.js';
import { TcpForwarder } from './tcp-forwarder.js';
import { UdpForwarder } from './udp-forwarder.js';

export interface PortPlan extends PortFrontends {
  endpoints: Endpoint[];
  /** The proxy's own node's endpoints, for frontends marked local; undefined when every endpoint is local. */
  localEndpoints?: Endpoint[] | undefined;
}

interface ServiceState {
  pickers: Map<string, EndpointPicker>;
  /** Addresses its frontends need on the service device (NodePorts use node addresses, which are not ours). */
  deviceIPs: Set<string>;
}

interface OwnedForwarder {
  service: string;
  /** The address on the service device it listens on, if any (a NodePort's is the node's). */
  deviceIP: string | undefined;
  forwarder: Forwarder;
}

interface OwnedTranslation {
  service: string;
  frontend: NatFrontend;
}

/** What the data plane needs of kernel NAT; unit tests give an in-memory one. */
export type NatTable = Pick<KernelNat, 'sync' | 'close' | 'translated'>;

export interface DataplaneOptions {
  device: ServiceDevice;
  nat: NatTable;
  log: Logger;
  metrics?: ProxyMetrics | undefined;
  /** How long a retired forwarder's connections may drain; DRAIN_LIMITS unless a test needs it shorter. */
  drain?: DrainLimits;
}

/**
 * A retired forwarder resets a connection quiet for 5 s (its endpoint may have gone without a word: a pod whose
 * network namespace vanished sends no FIN) and whatever is left after 15 s, then its address goes: clients hear
 * of the end at once instead of hanging, and an address is free again well within what anyone waiting for it
 * allows (the e2e suites give an address 30 s to leave the device).
 */
export const DRAIN_LIMITS: DrainLimits = { idleMs: 5_000, maxMs: 15_000 };

const onServiceDevice = (f: Frontend): boolean => f.kind !== 'nodePort';

export class Dataplane {
  private readonly services = new Map<string, ServiceState>();
  private readonly forwarders = new Map<string, OwnedForwarder>();
  // The translations wanted; what the kernel holds is nat.translated(), which follows only after a sync returns.
  private readonly translations = new Map<string, OwnedTranslation>();
  // Retired forwarders whose connections are still draining, with the device address they keep; stop() cuts them.
  private readonly draining = new Map<Forwarder, string | undefined>();
  private stopped = false;

  constructor(private readonly opts: DataplaneOptions) {}

  /** Listening addresses ("TCP 10.96.0.10:80"), for tests and logs. */
  listening(): string[] {
    return [...this.forwarders.keys()].sort();
  }

  /** Addresses translated in the kernel ("TCP 10.255.255.1:80"), once their rules are written, for tests and logs. */
  translated(): string[] {
    return this.opts.nat.translated();
  }

  /** Makes `service` ("namespace/name") reachable exactly on `ports`; an empty list removes it. */
  async apply(service: string, ports: readonly PortPlan[]): Promise<void> {
    if (this.stopped) return;
    const previous = this.services.get(service);
    const pickers = new Map<string, EndpointPicker>();
    const wanted = new Map<string, { frontend: Frontend; protocol: PortPlan['protocol']; picker: EndpointPicker }>();
    const translate = new Map<string, NatFrontend>();
    const deviceIPs = new Set<string>();
    for (const port of ports) {
      // All endpoints, or the node's own for frontends under a policy Local.
      const endpointsFor = (local: boolean): Endpoint[] => (local && port.localEndpoints ? port.localEndpoints : port.endpoints);
      // One picker per endpoint set.
      const pickerFor = (local: boolean): EndpointPicker => {
        const key = `${port.protocol}/${port.name}${local && port.localEndpoints ? '/local' : ''}`;
        let picker = pickers.get(key);
        if (!picker) {
          picker = previous?.pickers.get(key) ?? new EndpointPicker();
          picker.update(endpointsFor(local), port.affinityTimeoutMs);
          pickers.set(key, picker);
        }
        return picker;
      };
      pickerFor(false);
      for (const frontend of port.frontends) {
        if (onServiceDevice(frontend)) deviceIPs.add(frontend.ip);
        const local = frontend.local === true;
        const endpoints = endpointsFor(local);
        // Without endpoints nobody listens and no rule translates: the address stays, so the kernel refuses the
        // connection (TCP reset, ICMP port unreachable for UDP), which is what kube-proxy's REJECT rule gives clients.
        if (endpoints.length === 0) continue;
        const address = forwarderAddress(port.protocol, frontend.ip, frontend.port);
        if (keepsClientAddress(frontend)) {
          const { ip, port: number } = frontend;
          translate.set(address, { service, protocol: port.protocol, ip, port: number, endpoints, affinityTimeoutMs: port.affinityTimeoutMs });
        } else {
          wanted.set(address, { frontend, protocol: port.protocol, picker: pickerFor(local) });
        }
      }
    }
    if (ports.length > 0) this.services.set(service, { pickers, deviceIPs });
    else this.services.delete(service);

    await this.opts.device.add(this.allDeviceIPs());
    for (const [address, want] of wanted) {
      if (this.takenByAnother(service, address)) continue;
      const owned = this.forwarders.get(address);
      if (owned) owned.forwarder.picker = want.picker;
      else await this.listen(service, address, want);
    }
    for (const [address, owned] of this.translations) {
      if (owned.service === service && !translate.has(address)) this.translations.delete(address);
    }
    for (const [address, frontend] of translate) {
      if (!this.takenByAnother(service, address)) this.translations.set(address, { service, frontend });
    }
    await this.opts.nat.sync([...this.translations.values()].map((t) => t.frontend));
    for (const [address, owned] of this.forwarders) {
      if (owned.service === service && !wanted.has(address)) this.retire(address, owned);
    }
    await this.opts.device.keepOnly(this.allDeviceIPs());
    this.updateGauges();
  }

  /** Closes every listener, cuts every connection, removes every NAT rule and address; later applies do nothing. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...[...this.forwarders.values()].map((o) => o.forwarder), ...this.draining.keys()];
    this.forwarders.clear();
    this.translations.clear();
    this.draining.clear();
    this.services.clear();
    await Promise.all(all.map((f) => f.destroy()));
    await this.opts.nat.close();
    await this.opts.device.clear();
    this.updateGauges();
  }

  /** Whether another Service serves `address` already, by a forwarder or in the kernel; the first one keeps it. */
  private takenByAnother(service: string, address: string): boolean {
    const owner = this.forwarders.get(address)?.service ?? this.translations.get(address)?.service;
    if (owner === undefined || owner === service) return false;
    this.opts.log.warn({ service, address, owner }, 'address already served by another service, skipped');
    return true;
  }

  private async listen(
    service: string,
    address: string,
    want: { frontend: Frontend; protocol: PortPlan['protocol']; picker: EndpointPicker },
  ): Promise<void> {
    const ctx = { log: this.opts.log, metrics: this.opts.metrics };
    const { ip, port } = want.frontend;
    const forwarder =
      want.protocol === 'TCP' ? await TcpForwarder.listen(ip, port, want.picker, ctx) : await UdpForwarder.listen(ip, port, want.picker, ctx);
    this.forwarders.set(address, { service, deviceIP: onServiceDevice(want.frontend) ? ip : undefined, forwarder });
    this.opts.log.debug({ service, address }, 'listening');
  }

  private retire(address: string, { forwarder, deviceIP }: OwnedForwarder): void {
    this.forwarders.delete(address);
    const drained = forwarder.drain(this.opts.drain ?? DRAIN_LIMITS);
    // Draining ends UDP flows at once; TCP connections go on, keeping the address, until they end or are reset.
    const kept = forwarder.inFlight() > 0 ? deviceIP : undefined;
    this.draining.set(forwarder, kept);
    void drained.finally(() => {
      this.drained(address, forwarder);
    });
    this.opts.log.debug({ address, draining: forwarder.inFlight() }, 'stopped listening');
  }

  /** A retired forwarder's last connection has ended: the address it kept leaves the device unless still wanted. */
  private drained(address: string, forwarder: Forwarder): void {
    const kept = this.draining.get(forwarder);
    if (!this.draining.delete(forwarder) || this.stopped || kept === undefined) return;
    // The device makes its changes one at a time in call order, so this one cannot undo an apply's under way.
    this.opts.device.keepOnly(this.allDeviceIPs()).then(
      () => {
        this.updateGauges();
      },
      (err: unknown) => {
        this.opts.log.error({ err, address }, 'could not remove a drained address from the service device');
      },
    );
  }

  /** The addresses the Services need, and those retired forwarders keep while their connections drain. */
  private allDeviceIPs(): Set<string> {
    const all = new Set<string>();
    for (const state of this.services.values()) for (const ip of state.deviceIPs) all.add(ip);
    for (const ip of this.draining.values()) if (ip !== undefined) all.add(ip);
    return all;
  }

  private updateGauges(): void {
    this.opts.metrics?.listeners.set(this.forwarders.size);
    this.opts.metrics?.natAddresses.set(this.translations.size);
    this.opts.metrics?.deviceAddresses.set(this.opts.device.addresses().size);
  }
}
