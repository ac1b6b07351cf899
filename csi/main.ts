// kvcloud's CSI driver (csi.kubevirt.io): the controller in the management cluster, the node plugin in each tenant
// VM, or both in one process, as kubevirt/csi-driver's binary is run.
import type { KubeConfig } from '@kubernetes/client-node';
import { Client } from '../lib/kube/client.js';
import { loadKubeConfig } from '../lib/kube/kubeconfig.js';
import { RestMapper } from '../lib/kube/rest-mapper.js';
import { RestTransport } from '../lib/kube/rest-transport.js';
import { parseBindAddress } from '../lib/observability/bind-address.js';
import { NODE_TYPE } from '../lib/apis/core.js';
import type { KubeObject } from '../lib/kube/object.js';
import { createLogger, isLogLevel, type Logger } from '../lib/observability/logger.js';
import { ToolkitMetrics } from '../lib/observability/metrics.js';
import { startProbeServer } from '../lib/observability/probe-server.js';
import { ControllerService } from './controller/controller.js';
import { parseStorageClassEnforcement } from './controller/storage-class-enforcement.js';
import { parseDriverFlags, type DriverFlags } from './flags.js';
import { SidecarCredentials } from './sidecar-credentials.js';
import { readTenantObjects } from './snapshot-crds.js';
import { TenantObjectsKeeper } from './tenant-objects-keeper.js';
import { DRIVER_NAME, identityService } from './identity.js';
import { systemDeviceFinder } from './node/device.js';
import { systemMounter } from './node/mounts.js';
import { NodeService } from './node/node.js';
import { awaitNodeIdentity, type NodeIdentity, type TenantNode } from './node/node-identity.js';
import { serveRegistration, pluginInfo } from './registration.js';
import { parseEndpoint, serveCsi } from './server.js';
import { loadCsiServices } from './spec.js';

const VENDOR_VERSION = process.env.KVCLOUD_VERSION ?? '0.1.0';

async function clientFor(kc: KubeConfig, metrics?: ToolkitMetrics): Promise<Client> {
  const transport = await RestTransport.fromKubeConfig(kc, { metrics });
  return new Client({ transport, mapper: new RestMapper(transport), fieldManager: 'kvcloud-csi' });
}

/**
 * The node ID and zone: with --node-name from the tenant Node (its providerID, cluster-namespace annotation and zone
 * label; --node-id still wins for the ID), else --node-id alone, without topology.
 */
async function resolveNodeIdentity(flags: DriverFlags, log: Logger): Promise<NodeIdentity> {
  const name = flags.nodeName;
  if (!name) return { nodeId: flags.nodeId ?? '', zone: undefined };
  const tenant = await clientFor(loadKubeConfig(flags.tenantKubeconfig));
  try {
    return await awaitNodeIdentity({ name, nodeId: flags.nodeId, log, getNode: () => tenant.get<TenantNode & KubeObject>(NODE_TYPE, { name }, { direct: true }) });
  } finally {
    tenant.transport.close();
  }
}

/** The CSI socket's path, which the kubelet is told at registration; a tcp endpoint cannot be registered. */
function csiSocketPath(endpoint: string): string {
  const target = parseEndpoint(endpoint);
  if (target.kind !== 'unix') throw new Error(`--registration-socket needs a unix --endpoint (the kubelet dials a socket), not ${endpoint}`);
  return target.path;
}

async function main(): Promise<void> {
  const flags = parseDriverFlags(process.argv.slice(2));
  const level = flags.logLevel ?? 'info';
  if (!isLogLevel(level)) throw new Error(`--log-level: "${level}" is no log level`);
  const log = createLogger({ level, component: 'csi-driver' });
  const services = loadCsiServices(flags.csiProto);
  const tenantObjects = await readTenantObjects(flags);
  // Every request to either cluster counted in rest_client_requests_total, so steady state can be shown to write nothing.
  const metrics = new ToolkitMetrics();
  // The tenant side: its objects kept applied, and the sidecars' own kubeconfig kept fresh.
  const tenantConfig = tenantObjects || flags.sidecarKubeconfigDir ? loadKubeConfig(flags.tenantKubeconfig) : undefined;
  const tenant = tenantConfig ? await clientFor(tenantConfig, metrics) : undefined;
  const keeper = tenant && tenantObjects ? new TenantObjectsKeeper({ tenant, objects: tenantObjects, log, metrics }) : undefined;
  const credentials = tenant && tenantConfig && flags.sidecarKubeconfigDir ? new SidecarCredentials({ tenant, tenantConfig, dir: flags.sidecarKubeconfigDir, serviceAccount: flags.sidecarServiceAccount, log }) : undefined;
  if (flags.setupOnly) {
    // An init container: the sidecars start after it, finding their RBAC applied and their kubeconfig written.
    await keeper?.start().firstPass;
    await keeper?.stop();
    await credentials?.start().firstRenewal;
    await credentials?.stop();
    log.info('tenant side set up');
    process.exit(0);
  }

  const controller = flags.runControllerService
    ? new ControllerService({
        infra: await clientFor(loadKubeConfig(flags.infraKubeconfig), metrics),
        infraNamespace: flags.infraNamespace ?? '',
        infraLabels: flags.infraLabels,
        clusterName: flags.clusterName,
        storageClassEnforcement: parseStorageClassEnforcement(process.env.INFRA_STORAGE_CLASS_ENFORCEMENT),
        topology: flags.topology,
        log,
      })
    : undefined;
  const node = flags.runNodeService ? new NodeService({ ...(await resolveNodeIdentity(flags, log)), devices: systemDeviceFinder(), mounter: systemMounter, log }) : undefined;
  // Neither service: a process that only keeps a sidecar's kubeconfig fresh (snapshot-controller's Pod) serves no CSI.
  const server = !controller && !node ? undefined : await serveCsi({
    endpoint: flags.endpoint,
    services,
    identity: identityService({
      vendorVersion: VENDOR_VERSION,
      topology: flags.topology,
      ready: async () => (controller ? await controller.ready() : true) && (node ? await node.ready() : true),
    }),
    controller: controller?.rpcs(),
    node: node?.rpcs(),
    log,
  });
  // Registered only once the CSI socket answers, so the kubelet's first NodeGetInfo finds it.
  const registration = flags.registrationSocket ? await serveRegistration({ socket: flags.registrationSocket, protoPath: flags.registrationProto, info: pluginInfo(DRIVER_NAME, flags.kubeletRegistrationPath ?? csiSocketPath(flags.endpoint)), log }) : undefined;
  const metricsAt = parseBindAddress(flags.metricsBindAddress);
  const probes = metricsAt ? await startProbeServer({ metrics: metricsAt, registry: metrics.registry, healthz: () => [], readyz: () => [] }) : undefined;
  if (probes) log.info({ metrics: probes.metricsUrl }, 'serving metrics');
  // In the background: the tenant's apiserver may still be coming up, and the sidecars need the socket meanwhile.
  keeper?.start();
  credentials?.start();
  const stop = () => {
    // In-flight RPCs (a publish waiting for its hot-plug) may finish; the CO retries whatever does not in time.
    setTimeout(() => process.exit(0), 5_000).unref();
    void Promise.all([keeper?.stop(), credentials?.stop(), probes?.close(), registration?.stop(), server?.stop()]).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((err: unknown) => {
  console.error(`csi-driver: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
