// The autoscaler provider's server (image ghcr.io/kvcloud/autoscaler): the externalgrpc CloudProvider
// cluster-autoscaler dials with --cloud-provider=externalgrpc, over the MachineDeployments of the management cluster.
import { Manager } from '../../lib/controller/manager.js';
import { parseManagerFlags } from '../../lib/controller/manager-flags.js';
import { AUTOSCALER_OPTIONS, autoscalerConfig, setupAutoscaler } from './setup.js';

const { flags, values } = parseManagerFlags(process.argv.slice(2), AUTOSCALER_OPTIONS);
const manager = await Manager.create({ component: 'autoscaler', flags });
await setupAutoscaler(manager, autoscalerConfig(values));
await manager.runUntilSignal();
