// The kubelet's plugin registration service, which the node plugin serves itself (node-driver-registrar's job for
// other drivers): on a socket in the kubelet's plugins_registry directory the kubelet asks GetInfo for the driver
// name and the CSI endpoint, registers the driver (CSINode, the node ID annotation), and says how that went with
// NotifyRegistrationStatus. The protocol is api.proto of k8s.io/kubelet's pluginregistration/v1, never retyped.
import { homedir } from 'node:os';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { Server, ServerCredentials, type ServiceDefinition, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import type { Logger } from '../lib/observability/logger.js';

/** The k8s.io/kubelet module version api.proto comes from (e2e/tools/versions.env KUBELET_REGISTRATION_API_VERSION). */
export const KUBELET_REGISTRATION_API_VERSION = 'v0.37.2';

/** The CSI versions the kubelet accepts from a plugin: only 1.x exists. */
export const SUPPORTED_CSI_VERSIONS = ['1.0.0'];

/** Where `make tools` leaves the registration api.proto (KVCLOUD_CACHE, else ~/.cache/kvcloud). */
export function defaultRegistrationProtoPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.KVCLOUD_CACHE ?? join(homedir(), '.cache', 'kvcloud'), 'bin', `csi-registration-${KUBELET_REGISTRATION_API_VERSION}`, 'api.proto');
}

/** pluginregistration.Registration from api.proto, its messages with their proto field names. */
export function loadRegistrationService(protoPath: string): ServiceDefinition {
  let definition;
  try {
    definition = loadSync(protoPath, { keepCase: true, defaults: true });
  } catch (err) {
    throw new Error(`load the kubelet plugin registration API from ${protoPath} (run \`make tools\`, or pass --registration-proto): ${(err as Error).message}`, { cause: err });
  }
  const service = definition['pluginregistration.Registration'];
  if (!service || !('GetInfo' in service)) throw new Error(`${protoPath}: no service pluginregistration.Registration`);
  return service;
}

export interface PluginInfo {
  type: string;
  name: string;
  endpoint: string;
  supported_versions: string[];
}

/** What GetInfo answers: a CSI plugin named `driverName` whose CSI socket the kubelet finds at `csiSocket`. */
export function pluginInfo(driverName: string, csiSocket: string): PluginInfo {
  return { type: 'CSIPlugin', name: driverName, endpoint: csiSocket, supported_versions: SUPPORTED_CSI_VERSIONS };
}

export interface RegistrationServer {
  /** Resolves with the kubelet's first verdict; a refusal carries its error. */
  readonly registered: Promise<{ plugin_registered: boolean; error: string }>;
  stop(): Promise<void>;
}

export async function serveRegistration(opts: { socket: string; protoPath: string; info: PluginInfo; log: Logger }): Promise<RegistrationServer> {
  const server = new Server();
  let settle: (s: { plugin_registered: boolean; error: string }) => void = () => undefined;
  const registered = new Promise<{ plugin_registered: boolean; error: string }>((resolve) => (settle = resolve));
  const impl: UntypedServiceImplementation = {
    GetInfo: (_call: unknown, callback: (err: null, res: PluginInfo) => void) => {
      callback(null, opts.info);
    },
    NotifyRegistrationStatus: (call: { request: { plugin_registered: boolean; error: string } }, callback: (err: null, res: object) => void) => {
      const verdict = call.request;
      if (verdict.plugin_registered) opts.log.info({ driver: opts.info.name }, 'kubelet registered the plugin');
      // The kubelet retries once the socket is re-made; a refusal is the operator's to read (a version or name clash).
      else opts.log.error({ driver: opts.info.name, error: verdict.error }, 'kubelet refused the plugin');
      settle(verdict);
      callback(null, {});
    },
  };
  server.addService(loadRegistrationService(opts.protoPath), impl);
  await rm(opts.socket, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix://${opts.socket}`, ServerCredentials.createInsecure(), (err) => {
      if (err) reject(new Error(`bind the registration socket ${opts.socket}: ${err.message}`, { cause: err }));
      else resolve();
    });
  });
  opts.log.info({ socket: opts.socket, endpoint: opts.info.endpoint }, 'serving kubelet plugin registration');
  return {
    registered,
    stop: () =>
      new Promise<void>((resolve) => {
        server.tryShutdown(() => {
          // The kubelet deregisters a driver whose registration socket is gone.
          void rm(opts.socket, { force: true }).then(() => {
            resolve();
          });
        });
      }),
  };
}
