// The service proxy's own series, next to the controller-runtime ones its manager already exports: traffic
// through the data plane and the state it holds (listeners, NAT rules, device addresses, load-balancer IPs).
import { Counter, Gauge, type Registry } from 'prom-client';

export type ConnectionResult = 'forwarded' | 'no_endpoint' | 'upstream_failed';

// A proxy restarted in the same process registers into the same registry again: reuse the series it left.
function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Counter<L> {
  return (registry.getSingleMetric(name) as Counter<L> | undefined) ?? new Counter({ name, help, labelNames, registers: [registry] });
}

function gauge<L extends string>(registry: Registry, name: string, help: string, labelNames: L[]): Gauge<L> {
  return (registry.getSingleMetric(name) as Gauge<L> | undefined) ?? new Gauge({ name, help, labelNames, registers: [registry] });
}

export class ProxyMetrics {
  readonly connections: Counter<'protocol' | 'result'>;
  readonly activeConnections: Gauge<'protocol'>;
  readonly listeners: Gauge;
  readonly natAddresses: Gauge;
  readonly deviceAddresses: Gauge;
  readonly loadBalancerIPs: Gauge;

  constructor(registry: Registry) {
    this.connections = counter(
      registry,
      'kvcloud_service_proxy_connections_total',
      'Connections (TCP) and flows (UDP) accepted on a Service address, by what became of them',
      ['protocol', 'result'],
    );
    this.activeConnections = gauge(registry, 'kvcloud_service_proxy_active_connections', 'Connections and flows being forwarded now', ['protocol']);
    this.listeners = gauge(registry, 'kvcloud_service_proxy_listeners', 'Sockets listening on ClusterIP, NodePort and load-balancer addresses', []);
    this.natAddresses = gauge(registry, 'kvcloud_service_proxy_nat_addresses', 'Addresses translated by kernel NAT rules (externalTrafficPolicy Local)', []);
    this.deviceAddresses = gauge(registry, 'kvcloud_service_proxy_device_addresses', 'Addresses the proxy holds on the service device', []);
    this.loadBalancerIPs = gauge(registry, 'kvcloud_service_proxy_loadbalancer_ips_allocated', 'Load-balancer pool IPs assigned to Services', []);
  }
}
