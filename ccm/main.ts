// The KubeVirt cloud controller manager (image ghcr.io/kvcloud/ccm), a drop-in for kubevirt/cloud-provider-kubevirt:
// runs next to a tenant's control plane with the tenant's kubeconfig (--kubeconfig) and the infra cluster's from the
// cloud-config, serving the tenant's LoadBalancer Services from the infra cluster and managing its Nodes.
import { Manager } from '../lib/controller/manager.js';
import { parseCcmOptions } from './config/options.js';
import { setupControllers } from './setup.js';

let options;
try {
  options = parseCcmOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`ccm: ${(err as Error).message}\n`);
  process.exit(2);
}
const manager = await Manager.create({ component: 'ccm', flags: options.flags });
await setupControllers(manager, options);
await manager.runUntilSignal();
