// The service proxy's data plane: for each Service, the forwarders on its addresses and the pickers choosing
// its endpoints, plus the service-device addresses all Services together need. Applying a Service adds
// addresses before listening on them and stops listening before removing them; forwarders that stay only get
// new endpoints, so connections in flight never notice an update.
import type { Logger } from 'pino';
import { EndpointPicker } from './endpoint-picker.js';
import type { Endpoint } from './endpoint-selection.js';
import { forwarderAddress, type Forwarder } from './forwarder.js';
import type { Frontend, PortFrontends } from './frontends.js';
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
  forwarder: Forwarder;
}

export interface DataplaneOptions {
  device: ServiceDevice;
  log: Logger;
  metrics?: ProxyMetrics | undefined;
}

const onServiceDevice = (f: Frontend): boolean => f.kind !== 'nodePort';

export class Dataplane {
  private readonly services = new Map<string, ServiceState>();
  private readonly forwarders = new Map<string, OwnedForwarder>();
  // Retired TCP forwarders whose connections are still draining; stop() cuts them.
  private readonly draining = new Set<Forwarder>();
  private stopped = false;

  constructor(private readonly opts: DataplaneOptions) {}

  /** Listening addresses ("TCP 10.96.0.10:80"), for tests and logs. */
  listening(): string[] {
    return [...this.forwarders.keys()].sort();
  }

  /** Makes `service` ("namespace/name") reachable exactly on `ports`; an empty list removes it. */
  async apply(service: string, ports: readonly PortPlan[]): Promise<void> {
    if (this.stopped) return;
    const previous = this.services.get(service);
    const pickers = new Map<string, EndpointPicker>();
    const wanted = new Map<string, { frontend: Frontend; protocol: PortPlan['protocol']; picker: EndpointPicker }>();
    const deviceIPs = new Set<string>();
    for (const port of ports) {
      // One picker per endpoint set: all endpoints, and the node's own for frontends under a policy Local.
      const pickerFor = (local: boolean): { picker: EndpointPicker; endpoints: Endpoint[] } => {
        const endpoints = local && port.localEndpoints ? port.localEndpoints : port.endpoints;
        const key = `${port.protocol}/${port.name}${local && port.localEndpoints ? '/local' : ''}`;
        let picker = pickers.get(key);
        if (!picker) {
          picker = previous?.pickers.get(key) ?? new EndpointPicker();
          picker.update(endpoints, port.affinityTimeoutMs);
          pickers.set(key, picker);
        }
        return { picker, endpoints };
      };
      pickerFor(false);
      for (const frontend of port.frontends) {
        if (onServiceDevice(frontend)) deviceIPs.add(frontend.ip);
        const { picker, endpoints } = pickerFor(frontend.local === true);
        // Without endpoints nobody listens: the address stays, so the kernel refuses the connection (TCP reset,
        // ICMP port unreachable for UDP), which is what kube-proxy's REJECT rule gives clients.
        if (endpoints.length > 0) wanted.set(forwarderAddress(port.protocol, frontend.ip, frontend.port), { frontend, protocol: port.protocol, picker });
      }
    }
    if (ports.length > 0) this.services.set(service, { pickers, deviceIPs });
    else this.services.delete(service);

    await this.opts.device.add(this.allDeviceIPs());
    for (const [address, want] of wanted) {
      const owned = this.forwarders.get(address);
      if (owned && owned.service !== service) {
        this.opts.log.warn({ service, address, owner: owned.service }, 'address already served by another service, skipped');
        continue;
      }
      if (owned) owned.forwarder.picker = want.picker;
      else await this.listen(service, address, want);
    }
    for (const [address, owned] of this.forwarders) {
      if (owned.service === service && !wanted.has(address)) this.retire(address, owned.forwarder);
    }
    await this.opts.device.keepOnly(this.allDeviceIPs());
    this.updateGauges();
  }

  /** Closes every listener, cuts every connection and removes every address; later applies do nothing. */
  async stop(): Promise<void> {
    this.stopped = true;
    const all = [...[...this.forwarders.values()].map((o) => o.forwarder), ...this.draining];
    this.forwarders.clear();
    this.draining.clear();
    this.services.clear();
    await Promise.all(all.map((f) => f.destroy()));
    await this.opts.device.clear();
    this.updateGauges();
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
    this.forwarders.set(address, { service, forwarder });
    this.opts.log.debug({ service, address }, 'listening');
  }

  private retire(address: string, forwarder: Forwarder): void {
    this.forwarders.delete(address);
    this.draining.add(forwarder);
    void forwarder.close().finally(() => this.draining.delete(forwarder));
    this.opts.log.debug({ address }, 'stopped listening');
  }

  private allDeviceIPs(): Set<string> {
    const all = new Set<string>();
    for (const state of this.services.values()) for (const ip of state.deviceIPs) all.add(ip);
    return all;
  }

  private updateGauges(): void {
    this.opts.metrics?.listeners.set(this.forwarders.size);
    this.opts.metrics?.deviceAddresses.set(this.opts.device.addresses().size);
  }
}
