// The infrastructure provider's manager (image ghcr.io/kvcloud/infrastructure-manager): Cluster API's common
// manager flags, leader election, metrics and probes, and the KubevirtCluster, KubevirtMachine and
// KubevirtMachineTemplate controllers; SIGTERM drains in-flight reconciles, releases the Lease and exits.
import { Manager } from '../../lib/controller/manager.js';
import { parseManagerFlags } from '../../lib/controller/manager-flags.js';
import { setupControllers } from './controllers/setup.js';

const { flags } = parseManagerFlags(process.argv.slice(2));
const manager = await Manager.create({ component: 'infrastructure', flags });
const controllers = await setupControllers(manager);
// Registered last, so it stops first: remote informers close before the manager's own cache.
manager.add({ name: 'cluster-connections', needLeaderElection: false, start: () => undefined, stop: () => controllers.close() });
await manager.runUntilSignal();
