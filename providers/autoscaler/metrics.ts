// The autoscaler provider's metrics: every RPC by method and status code, and every scale decision by node group,
// so a dashboard shows what cluster-autoscaler asked for and what was executed or refused.
import { Counter, Histogram, type Registry } from 'prom-client';

export type Decision = 'increase_size' | 'decrease_target_size' | 'delete_nodes';
export type DecisionResult = 'executed' | 'rejected' | 'failed' | 'unchanged';

export class AutoscalerMetrics {
  readonly requests: Counter<'method' | 'code'>;
  readonly requestSeconds: Histogram<'method'>;
  readonly decisions: Counter<'node_group' | 'decision' | 'result'>;
  readonly replicaChanges: Counter<'node_group' | 'direction'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.requests = new Counter({
      name: 'kvcloud_autoscaler_grpc_requests_total',
      help: 'externalgrpc requests served, by method and gRPC status code',
      labelNames: ['method', 'code'],
      registers,
    });
    this.requestSeconds = new Histogram({
      name: 'kvcloud_autoscaler_grpc_request_duration_seconds',
      help: 'Time to answer an externalgrpc request',
      labelNames: ['method'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.decisions = new Counter({
      name: 'kvcloud_autoscaler_scale_decisions_total',
      help: 'Scale requests from cluster-autoscaler, by node group, kind and outcome',
      labelNames: ['node_group', 'decision', 'result'],
      registers,
    });
    this.replicaChanges = new Counter({
      name: 'kvcloud_autoscaler_replica_changes_total',
      help: 'MachineDeployment replicas added or removed on behalf of cluster-autoscaler',
      labelNames: ['node_group', 'direction'],
      registers,
    });
  }
}
