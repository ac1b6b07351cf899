// The Identity service both plugins serve: the driver name users' StorageClasses name (kubevirt/csi-driver's
// csi.kubevirt.io), which services this process runs, and a Probe that answers with what readiness says now.
import type { RpcTable } from './server.js';

export const DRIVER_NAME = 'csi.kubevirt.io';

export interface IdentityOptions {
  vendorVersion: string;
  /** Whether the plugin can serve requests now (the infra apiserver reachable, the node tools present). */
  ready: () => Promise<boolean>;
}

export function identityService(opts: IdentityOptions): RpcTable {
  return {
    GetPluginInfo: () => Promise.resolve({ name: DRIVER_NAME, vendor_version: opts.vendorVersion }),
    GetPluginCapabilities: () =>
      Promise.resolve({
        // The plugin as a whole has a Controller service, also where this process (the node plugin in a VM)
        // does not run it: the CO reads this from either endpoint. Volumes grow while attached and mounted.
        capabilities: [{ service: { type: 'CONTROLLER_SERVICE' } }, { volume_expansion: { type: 'ONLINE' } }],
      }),
    Probe: async () => ({ ready: { value: await opts.ready() } }),
  };
}
