// The externalgrpc server cluster-autoscaler's externalgrpc cloud provider dials: the CloudProvider service of the
// pinned proto over mutual TLS (the client presents its certificate and checks ours against the host of its
// configured address), each RPC answered by the CloudProvider with a precise status code and counted in metrics.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import { ApiError } from '../../lib/kube/api-error.js';
import { RpcError, type CloudProvider, type GrpcNode } from './cloud-provider.js';
import { cloudProviderService } from './externalgrpc/protos.js';
import type { AutoscalerMetrics } from './metrics.js';
import type { AutoscalingOptions } from './node-group.js';

/** PEM files of the serving certificate and key and of the CA that signs cluster-autoscaler's client certificate. */
export interface ServerTLS {
  certFile: string;
  keyFile: string;
  clientCAFile: string;
  /** How often the files are read again; a change is served to the next connection. */
  refreshMs?: number;
}

/**
 * cert-manager renews the serving certificate (and the CA, if it rotates) by rewriting the mounted Secret's files, so
 * the files are read again every minute and a renewed certificate is served without a restart: one read once would
 * serve the old certificate until it expired.
 */
const TLS_REFRESH_MS = 60_000;

function tlsCredentials(tls: ServerTLS): grpc.ServerCredentials {
  const files = new grpc.experimental.FileWatcherCertificateProvider({
    certificateFile: tls.certFile,
    privateKeyFile: tls.keyFile,
    caCertificateFile: tls.clientCAFile,
    refreshIntervalMs: tls.refreshMs ?? TLS_REFRESH_MS,
  });
  return grpc.experimental.createCertificateProviderServerCredentials(files, files, true);
}

export interface ServerOptions {
  /** "host:port"; port 0 picks a free one. */
  address: string;
  /** Without it the server speaks plaintext, which cluster-autoscaler accepts only when its config names no cert. */
  tls: ServerTLS | undefined;
  provider: CloudProvider;
  metrics: AutoscalerMetrics;
  log: Logger;
}

export interface RunningServer {
  port: number;
  stop(): Promise<void>;
}

type Handler = (request: Record<string, unknown>) => Promise<object>;

const SHUTDOWN_GRACE_MS = 5000;

/** Maps what went wrong to the status code the caller can act on; apiserver trouble is retryable. */
export function statusOf(err: unknown): grpc.status {
  if (err instanceof RpcError) return err.code;
  if (err instanceof Error && err.cause instanceof ApiError) return statusOf(err.cause);
  if (err instanceof ApiError) {
    if (err.status === 409) return grpc.status.ABORTED;
    if (err.status === 404) return grpc.status.NOT_FOUND;
    if (err.status === 429 || err.status >= 500) return grpc.status.UNAVAILABLE;
  }
  return grpc.status.INTERNAL;
}

export function handlers(provider: CloudProvider): Record<string, Handler> {
  const id = (req: Record<string, unknown>): string => (typeof req.id === 'string' ? req.id : '');
  const delta = (req: Record<string, unknown>): number => (typeof req.delta === 'number' ? req.delta : 0);
  const unimplemented = (what: string) => () => Promise.reject(new RpcError(grpc.status.UNIMPLEMENTED, `${what}: kvcloud has no pricing model`));
  return {
    NodeGroups: async () => ({ nodeGroups: await provider.nodeGroups() }),
    NodeGroupForNode: async (req) => ({ nodeGroup: (await provider.nodeGroupForNode(req.node as GrpcNode | null)) ?? { id: '', minSize: 0, maxSize: 0, debug: '' } }),
    PricingNodePrice: unimplemented('PricingNodePrice'),
    PricingPodPrice: unimplemented('PricingPodPrice'),
    GPULabel: () => Promise.resolve({ label: provider.gpuLabel() }),
    GetAvailableGPUTypes: async () => ({ gpuTypes: Object.fromEntries((await provider.availableGpuTypes()).map((t) => [t, { type_url: '', value: Buffer.alloc(0) }])) }),
    Cleanup: () => Promise.resolve({}),
    Refresh: async () => {
      await provider.refresh();
      return {};
    },
    NodeGroupTargetSize: async (req) => ({ targetSize: await provider.targetSize(id(req)) }),
    NodeGroupIncreaseSize: async (req) => {
      await provider.increaseSize(id(req), delta(req));
      return {};
    },
    NodeGroupDeleteNodes: async (req) => {
      await provider.deleteNodes(id(req), req.nodes as GrpcNode[] | undefined);
      return {};
    },
    NodeGroupDecreaseTargetSize: async (req) => {
      await provider.decreaseTargetSize(id(req), delta(req));
      return {};
    },
    NodeGroupNodes: async (req) => ({ instances: await provider.nodes(id(req)) }),
    NodeGroupTemplateNodeInfo: async (req) => ({ nodeBytes: Buffer.from(await provider.templateNodeInfo(id(req))) }),
    NodeGroupGetOptions: async (req) => ({ nodeGroupAutoscalingOptions: await provider.options(id(req), req.defaults as AutoscalingOptions | null) }),
  };
}

export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const server = new grpc.Server();
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [method, handle] of Object.entries(handlers(opts.provider))) {
    implementation[method] = (call: grpc.ServerUnaryCall<Record<string, unknown>, object>, callback: grpc.sendUnaryData<object>) => {
      const end = opts.metrics.requestSeconds.startTimer({ method });
      handle(call.request).then(
        (response) => {
          end();
          opts.metrics.requests.inc({ method, code: grpc.status[grpc.status.OK] });
          callback(null, response);
        },
        (err: unknown) => {
          end();
          const code = statusOf(err);
          opts.metrics.requests.inc({ method, code: grpc.status[code] });
          const message = (err as Error).message;
          if (code === grpc.status.INTERNAL || code === grpc.status.UNAVAILABLE) opts.log.error({ method, err }, 'request failed');
          else opts.log.debug({ method, code: grpc.status[code], message }, 'request refused');
          callback({ code, details: message });
        },
      );
    };
  }
  server.addService(cloudProviderService(), implementation);
  const credentials = opts.tls ? tlsCredentials(opts.tls) : grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(opts.address, credentials, (err, bound) => {
      if (err) reject(new Error(`listen on ${opts.address}: ${err.message}`, { cause: err }));
      else resolve(bound);
    });
  });
  opts.log.info({ address: opts.address, port, tls: opts.tls !== undefined }, 'serving externalgrpc');
  return {
    port,
    // Calls in flight finish; a client that keeps its connection open past the grace period is cut off.
    stop: () =>
      new Promise<void>((resolve) => {
        const force = setTimeout(() => { server.forceShutdown(); }, SHUTDOWN_GRACE_MS);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
