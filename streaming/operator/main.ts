// kvcloud's operator access to tenant VMs (image ghcr.io/kvcloud/streaming-operator): a CRI endpoint on a Unix
// socket in the management cluster where crictl lists the VMs of the namespaces served as pod sandboxes, attaches
// to their serial consoles, forwards their ports and runs commands in them over SSH, every session audited.
import { SECRET_TYPE, type Secret } from '../../lib/apis/core.js';
import { VIRTUAL_MACHINE_INSTANCE_TYPE, type VirtualMachineInstance } from '../../lib/apis/kubevirt.js';
import { Manager } from '../../lib/controller/manager.js';
import { RestTransport } from '../../lib/kube/rest-transport.js';
import { OperatorEndpoint } from './endpoint.js';
import { parseOperatorOptions } from './options.js';
import { sshLogins } from './ssh-login.js';
import { virtApi } from './virt-api.js';

let options;
try {
  options = parseOperatorOptions(process.argv.slice(2));
} catch (err) {
  process.stderr.write(`streaming-operator: ${(err as Error).message}\n`);
  process.exit(2);
}
const manager = await Manager.create({ component: 'streaming-operator', flags: options.flags });
const { transport } = manager;
if (!(transport instanceof RestTransport)) throw new Error('streaming-operator needs a REST connection to the apiserver for the VMI streams');
// The VMIs of the namespace served (--namespace; all without it), from an informer: listing is memory-only, and
// /readyz waits for its first list.
const vmis = await manager.cache.informerFor<VirtualMachineInstance>(VIRTUAL_MACHINE_INSTANCE_TYPE);
const endpoint = new OperatorEndpoint({
  socket: options.socket,
  socketMode: options.socketMode,
  streamAddress: options.streamAddress,
  vmis: () => vmis.store.list(),
  virt: virtApi((path, protocols) => transport.webSocket(path, protocols)),
  sshLogin: sshLogins((namespace, name) => manager.client.get<Secret>(SECRET_TYPE, { namespace, name }, { direct: true }), options.sshUser),
  recorder: manager.recorder,
  registry: manager.metrics.registry,
  log: manager.log,
});
manager.add({ name: 'operator-endpoint', needLeaderElection: false, start: () => endpoint.start(), stop: () => endpoint.stop() });
manager.addReadyCheck({ name: 'operator-socket', check: () => (endpoint.serving ? undefined : `not serving ${options.socket} yet`) });
await manager.runUntilSignal();
