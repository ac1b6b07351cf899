// The Identity service both plugins serve: the driver name users' StorageClasses name (kubevirt/csi-driver's
// csi.kubevirt.io), which services this process runs, and a Probe that answers with what readiness says now.
import type { RpcTable } from './server.js';

export const DRIVER_NAME = 'csi.kubevirt.io';

export interface IdentityOptions {
  vendorVersion: string;
  /** Whether the plugin can serve requests now (the infra apiserver reachable, the node tools present). */
  ready: () => Promise<boolean>;
  /**
   * --topology: volumes are constrained to zones (VOLUME_ACCESSIBILITY_CONSTRAINTS). Only then: with it the
   * external-provisioner fails every WaitForFirstConsumer claim on a Node whose CSINode lists no topology key, which
   * a tenant without zone labels has, and upstream's driver does not advertise it, so PVs it made carry no affinity.
   */
  topology?: boolean;
}

export function identityService(opts: IdentityOptions): RpcTable {
  return {
    GetPluginInfo: () => Promise.resolve({ name: DRIVER_NAME, vendor_version: opts.vendorVersion }),
    GetPluginCapabilities: () =>
      Promise.resolve({
        // The plugin as a whole has a Controller service, also where this process (the node plugin in a VM)
        // does not run it: the CO reads this from either endpoint. Volumes grow while attached and mounted.
        capabilities: [
          { service: { type: 'CONTROLLER_SERVICE' } },
          ...(opts.topology ? [{ service: { type: 'VOLUME_ACCESSIBILITY_CONSTRAINTS' } }] : []),
          { volume_expansion: { type: 'ONLINE' } },
        ],
      }),
    Probe: async () => ({ ready: { value: await opts.ready() } }),
  };
}
