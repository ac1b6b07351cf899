// The KubeVirt cloud controller manager (image ghcr.io/kvcloud/ccm), a drop-in for kubevirt/cloud-provider-kubevirt:
// runs next to a tenant's control plane with the tenant's kubeconfig (--kubeconfig) and the infra cluster's from the
// cloud-config, serving the tenant's LoadBalancer Services from the infra cluster and managing its Nodes.
//
// Exit codes: 2 when the flags or the cloud-config cannot be used, 1 when start-up fails past them (an infra
// kubeconfig that cannot be loaded, no infra namespace); both before either cluster is contacted.
import type { Manager } from '../lib/controller/manager.js';
import { parseCcmOptions, type CcmOptions } from './config/options.js';

function fail(code: number, message: string): never {
  process.stderr.write(`ccm: ${message}\n`);
  process.exit(code);
}

let options: CcmOptions;
try {
  options = parseCcmOptions(process.argv.slice(2));
} catch (err) {
  fail(2, (err as Error).message);
}
// The controllers and their clients load only once the options are accepted: a mistake in them is reported in a
// tenth of the start-up time.
const [{ Manager: ManagerClass }, { setupControllers }] = await Promise.all([import('../lib/controller/manager.js'), import('./setup.js')]);
let manager: Manager;
try {
  manager = await ManagerClass.create({ component: 'ccm', flags: options.flags });
  await setupControllers(manager, options);
} catch (err) {
  fail(1, `start-up failed: ${(err as Error).message}`);
}
await manager.runUntilSignal();
