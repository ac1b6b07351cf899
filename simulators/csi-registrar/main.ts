// Stands in for registry.k8s.io/sig-storage/csi-node-driver-registrar in the local cloud, whose Go module the proxy
// does not serve, so a tenant's node DaemonSet runs here exactly as shipped (config/csi/tenant). It does the
// registrar's job with its flags: asks the CSI driver on --csi-address its name (GetPluginInfo), serves the kubelet's
// plugin registration API as <name>-reg.sock in --plugin-registration-path, answering GetInfo with
// --kubelet-registration-path as the driver's endpoint, and exits 1 when the kubelet refuses the plugin, so the
// container restarts and registers anew, as upstream's does. The registration service is the CSI driver's own
// (csi/registration.ts), the protocol api.proto of k8s.io/kubelet.
import { join } from 'node:path';
import { credentials, makeGenericClientConstructor, type Client as GrpcClient } from '@grpc/grpc-js';
import { defaultCsiProtoPath, loadCsiServices } from '../../csi/spec.js';
import { defaultRegistrationProtoPath, pluginInfo, serveRegistration } from '../../csi/registration.js';
import { createLogger, type Logger } from '../../lib/observability/logger.js';
import { unary } from '../guest/csi-plugins.js';
import { parseRegistrarFlags } from './flags.js';

/** The driver's name from its Identity service, asked again every second until the driver answers. */
async function driverName(identity: GrpcClient, timeoutMs: number, log: Logger): Promise<string> {
  for (;;) {
    try {
      const { name } = await unary<{ name?: string }>(identity, 'GetPluginInfo', {}, timeoutMs);
      if (!name) throw new Error('GetPluginInfo answered no name');
      return name;
    } catch (err) {
      log.info({ err: (err as Error).message }, 'waiting for the CSI driver to answer GetPluginInfo');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

async function main(): Promise<void> {
  const flags = parseRegistrarFlags(process.argv.slice(2));
  const log = createLogger({ level: flags.logLevel, component: 'csi-node-driver-registrar' });
  const Identity = makeGenericClientConstructor(loadCsiServices(defaultCsiProtoPath()).Identity, 'Identity');
  const identity = new Identity(`unix://${flags.csiAddress}`, credentials.createInsecure());
  const name = await driverName(identity, flags.timeoutMs, log);
  identity.close();
  const registration = await serveRegistration({
    socket: join(flags.pluginRegistrationPath, `${name}-reg.sock`),
    protoPath: defaultRegistrationProtoPath(),
    info: pluginInfo(name, flags.kubeletRegistrationPath),
    log,
  });
  void registration.registered.then(async (verdict) => {
    if (verdict.plugin_registered) return;
    log.error({ error: verdict.error }, 'the kubelet refused the plugin: exiting so the container restarts and registers anew');
    await registration.stop();
    process.exit(1);
  });
  const stop = () => {
    void registration.stop().then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(`csi-node-driver-registrar: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
